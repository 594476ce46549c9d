// The object gallery: one folder per saved object,
//   NAME/reference.png       the reference as given, re-encoded as PNG (absent for imported tokens)
//   NAME/thumbnail.png       a 64 px square (absent for imported tokens)
//   NAME/tokens.safetensors  object_tokens [1, K, D] F32 + the model fingerprint (ObjectTokens)
//   NAME/object.json         ObjectRecord
// Every mutation holds the writer lock (GalleryLock.swift); a new folder is built as `.tmp-*`,
// fsynced, and renamed into place last, so readers see each object complete or not at all.

import Foundation
import LikenessEngine
import LikenessImaging

public struct ObjectGallery: Sendable {
    public static let referenceFile = "reference.png"
    public static let thumbnailFile = "thumbnail.png"
    public static let tokensFile = "tokens.safetensors"
    public static let recordFile = "object.json"

    public let directory: URL

    public init(directory: URL) { self.directory = directory }
    /// The default gallery: $XDG_DATA_HOME/likeness/objects.
    public init(paths: LikenessPaths = LikenessPaths()) { directory = paths.objects }

    // MARK: reading (no lock)

    /// Every object folder, in `ObjectName.precedes` order (numbers by value); folders being written (`.tmp-*`) are skipped and
    /// incomplete ones are listed as damaged. A missing gallery folder is an empty gallery.
    public func list() throws -> [GalleryEntry] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) else { return [] }
        guard isDir.boolValue else { throw KitError("\(directory.path): the gallery path is a file, not a folder") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw KitError("\(directory.path): cannot list the gallery: \(Self.reason(error))")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted(by: ObjectName.precedes).compactMap { name in
            let url = directory.appendingPathComponent(name)
            var dir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &dir), dir.boolValue else { return nil }
            do { return .object(try readObject(name: name, folder: url)) } catch let e as GalleryError {
                if case let .damaged(_, reason) = e { return .damaged(name: name, reason: reason) }
                return .damaged(name: name, reason: e.description)
            } catch {
                return .damaged(name: name, reason: "\(error)")
            }
        }
    }

    /// The complete object `name`; throws `notFound` (listing what exists) or `damaged`.
    public func object(named name: String) throws -> SavedObject {
        try ObjectName.validate(name)
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            let available = ((try? list()) ?? []).map(\.name)
            throw GalleryError.notFound(name: name, gallery: directory.path, available: available)
        }
        return try readObject(name: name, folder: url)
    }

    /// The tokens of `name` for `model`: throws `stale` (with the command that re-creates them)
    /// when another model made them, never returning them.
    public func tokens(named name: String, for model: ModelIdentity) throws -> ObjectTokens {
        guard model.hasObjectEncoder else {
            throw KitError("\(model.folder.path) has no object_encoder/; it cannot use saved objects (prompts without <obj> only)")
        }
        let object = try self.object(named: name)
        let tokens: ObjectTokens
        do { tokens = try ObjectTokens(contentsOf: object.tokensURL) } catch {
            throw GalleryError.damaged(name: name, reason: "\(error)")
        }
        if object.isStale(for: model) {
            let madeBy = "\(object.record.model), fingerprint \(object.modelFingerprint.map { String($0.prefix(10)) } ?? "unknown")"
            let current = "\(model.name), fingerprint \(model.shortHash)"
            let command = object.record.origin == ObjectOrigin.textualInversion
                ? "likeness objects import --tokens TOKENS_FOR_\(model.name).safetensors --name \(Self.shellQuoted(name)) --model \(Self.shellQuoted(model.folder.path))"
                : "likeness encode --image \(Self.shellQuoted(object.referenceURL.path)) --name \(Self.shellQuoted(name)) --model \(Self.shellQuoted(model.folder.path))"
            throw GalleryError.stale(name: name, madeBy: madeBy, current: current, command: command)
        }
        return tokens
    }

    func readObject(name: String, folder: URL) throws -> SavedObject {
        let recordURL = folder.appendingPathComponent(Self.recordFile)
        guard let data = try? Data(contentsOf: recordURL) else {
            throw GalleryError.damaged(name: name, reason: "\(Self.recordFile) is missing or unreadable")
        }
        let record: ObjectRecord
        do { record = try JSONDecoder().decode(ObjectRecord.self, from: data) } catch {
            throw GalleryError.damaged(name: name, reason: "\(Self.recordFile) is not valid: \(error)")
        }
        var required = [Self.tokensFile]
        if record.origin == ObjectOrigin.encoder { required += [Self.referenceFile, Self.thumbnailFile] }
        for file in required where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) {
            throw GalleryError.damaged(name: name, reason: "\(file) is missing")
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url: folder.appendingPathComponent(Self.tokensFile)) } catch {
            throw GalleryError.damaged(name: name, reason: "\(error)")
        }
        guard let shape = file.entries[ObjectTokens.tensorName]?.shape, shape.count == 3 else {
            throw GalleryError.damaged(name: name, reason: "\(Self.tokensFile) holds no [1, K, D] tensor '\(ObjectTokens.tensorName)'")
        }
        return SavedObject(name: name, folder: folder, record: record, modelFingerprint: file.metadata["model_fingerprint"],
                           tokenCount: shape[1], hiddenSize: shape[2], injection: file.metadata["injection"])
    }

    static func shellQuoted(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./+=:,".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

public enum ObjectOrigin {
    public static let encoder = "encoder"
    public static let textualInversion = "textual-inversion"
}
