// Mutations of the object gallery: save (new or replacing), rename, remove, import of
// textual-inversion tokens. Each holds the writer lock and is atomic (see ObjectGallery.swift).

import Foundation
import LikenessEngine
import LikenessImaging

extension ObjectGallery {
    /// Saves an object encoded from `reference` by `model`. Replaces an existing object of the
    /// same name only when `replace` is true. Returns the saved object and whether one was replaced.
    @discardableResult
    public func save(name: String, tokens: Tensor, reference: ReferenceImage, model: ModelIdentity,
                     replace: Bool = true) throws -> (object: SavedObject, replaced: Bool) {
        try ObjectName.validate(name)
        try checkShape(name: name, tokens: tokens, model: model)
        let tokenFile = ObjectTokens(tensor: tokens, modelFingerprint: model.fingerprint, modelName: model.name,
                                     injection: model.injection, sourceSHA256: reference.sha256, origin: ObjectOrigin.encoder)
        let record = ObjectRecord(name: name, source: reference.path, created: ObjectRecord.now(), model: model.name,
                                  origin: ObjectOrigin.encoder)
        // Encode the PNGs before taking the lock: the lock is held only for file operations.
        let referencePNG: Data, thumbnailPNG: Data
        do {
            referencePNG = try reference.image.pngData()
            thumbnailPNG = try reference.thumbnail().pngData()
        } catch {
            throw KitError("\(reference.path): cannot re-encode the reference as PNG: \(error)")
        }
        return try write(name: name, replace: replace) { tmp in
            try FileSync.writeNew(referencePNG, to: tmp.appendingPathComponent(Self.referenceFile))
            try FileSync.writeNew(thumbnailPNG, to: tmp.appendingPathComponent(Self.thumbnailFile))
            try writeTokensAndRecord(tokenFile, record, in: tmp)
        }
    }

    /// Imports textual-inversion tokens (a safetensors file with `object_tokens` [1, K, D], as
    /// Training/likeness_train/textual_inversion.py writes) as object `name`, recorded as made
    /// for `model` (TI learns tokens against one model; the shape is checked against it).
    @discardableResult
    public func importTokens(from url: URL, name: String, model: ModelIdentity,
                             replace: Bool = false) throws -> (object: SavedObject, replaced: Bool) {
        try ObjectName.validate(name)
        let source = try ObjectTokens(contentsOf: url)
        guard model.hasObjectEncoder else {
            throw KitError("\(model.folder.path) has no object_encoder/; it cannot use object tokens (prompts without <obj> only)")
        }
        try checkShape(name: name, tokens: source.tensor, model: model)
        let tokenFile = ObjectTokens(tensor: source.tensor, modelFingerprint: model.fingerprint, modelName: model.name,
                                     injection: "input_embedding", sourceSHA256: try SHA256.hash(fileAt: url),
                                     origin: ObjectOrigin.textualInversion)
        let record = ObjectRecord(name: name, source: url.path, created: ObjectRecord.now(), model: model.name,
                                  origin: ObjectOrigin.textualInversion)
        return try write(name: name, replace: replace) { tmp in try writeTokensAndRecord(tokenFile, record, in: tmp) }
    }

    /// Renames `old` to `new` (which must not exist).
    public func rename(_ old: String, to new: String) throws {
        try ObjectName.validate(old)
        try ObjectName.validate(new)
        try withWriteLock {
            let from = directory.appendingPathComponent(old), to = directory.appendingPathComponent(new)
            guard FileManager.default.fileExists(atPath: from.path) else {
                throw GalleryError.notFound(name: old, gallery: directory.path, available: ((try? list()) ?? []).map(\.name))
            }
            guard !FileManager.default.fileExists(atPath: to.path) else {
                throw GalleryError.alreadyExists(name: new, gallery: directory.path)
            }
            do { try FileSync.rename(from, to) } catch { throw GalleryError.writeFailed(directory: directory.path, reason: "\(error)") }
            try? FileSync.sync(directory)
            // The folder name is authoritative; keep object.json's copy in step when possible.
            let recordURL = to.appendingPathComponent(Self.recordFile)
            if let data = try? Data(contentsOf: recordURL), var record = try? JSONDecoder().decode(ObjectRecord.self, from: data) {
                record.name = new
                if let encoded = try? Self.encoder.encode(record) { try? AtomicFile.write(encoded, to: recordURL) }
            }
        }
    }

    /// Removes `name` (renamed out of sight first, so a crash never leaves half an object).
    public func remove(_ name: String) throws {
        try ObjectName.validate(name)
        try withWriteLock {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw GalleryError.notFound(name: name, gallery: directory.path, available: ((try? list()) ?? []).map(\.name))
            }
            let trash = directory.appendingPathComponent("\(Self.tempPrefix)rm-\(UInt32.random(in: 0...UInt32.max))")
            do { try FileSync.rename(url, trash) } catch { throw GalleryError.writeFailed(directory: directory.path, reason: "\(error)") }
            try? FileSync.sync(directory)
            try? FileManager.default.removeItem(at: trash)
        }
    }

    // MARK: internals

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    private func checkShape(name: String, tokens: Tensor, model: ModelIdentity) throws {
        guard let k = model.tokenCount else {
            throw KitError("\(model.folder.path) has no object_encoder/; it cannot use object tokens (prompts without <obj> only)")
        }
        let expected = [1, k, model.hiddenSize]
        guard tokens.shape == expected else {
            throw GalleryError.wrongShape(name: name, shape: tokens.shape, expected: expected, model: model.name)
        }
    }

    private func writeTokensAndRecord(_ tokens: ObjectTokens, _ record: ObjectRecord, in tmp: URL) throws {
        let tokensURL = tmp.appendingPathComponent(Self.tokensFile)
        try tokens.write(to: tokensURL)
        try FileSync.sync(tokensURL)
        try FileSync.writeNew(try Self.encoder.encode(record), to: tmp.appendingPathComponent(Self.recordFile))
    }

    /// Builds the object in a `.tmp-*` folder with `fill`, syncs it, and renames it to `name`
    /// (moving an existing object aside as `.replaced-NAME` first when `replace` is true).
    private func write(name: String, replace: Bool, fill: (URL) throws -> Void) throws -> (object: SavedObject, replaced: Bool) {
        try withWriteLock {
            let final = directory.appendingPathComponent(name)
            let exists = FileManager.default.fileExists(atPath: final.path)
            if exists && !replace { throw GalleryError.alreadyExists(name: name, gallery: directory.path) }
            let tmp: URL
            do { tmp = try FileSync.makeTempDirectory(in: directory, prefix: Self.tempPrefix) } catch {
                throw GalleryError.notWritable(directory: directory.path, reason: "\(error)")
            }
            do {
                try fill(tmp)
                try FileSync.sync(tmp)
                if exists {
                    let aside = directory.appendingPathComponent(Self.replacedPrefix + name)
                    try FileSync.rename(final, aside)
                    try FileSync.rename(tmp, final)
                    try FileSync.sync(directory)
                    try? FileManager.default.removeItem(at: aside)
                } else {
                    try FileSync.rename(tmp, final)
                    try FileSync.sync(directory)
                }
            } catch {
                try? FileManager.default.removeItem(at: tmp)
                // A failed replace puts the previous object back.
                recoverInterruptedWrites()
                throw GalleryError.writeFailed(directory: directory.path, reason: "\(error)")
            }
            return (try readObject(name: name, folder: final), exists)
        }
    }
}
