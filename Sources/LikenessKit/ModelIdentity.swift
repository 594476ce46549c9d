// What a model folder is, as far as saved object tokens care: the fingerprint (SHA-256 over the
// object encoder's and the text encoder's weight files, in that order; a model without an object
// encoder hashes the text encoder alone), K, D and the injection mode. Read from the folder's
// configs and weight files without loading the model.

import Foundation
import LikenessEngine

public struct ModelIdentity: Equatable, Sendable {
    public var name: String
    public var folder: URL
    /// Hex SHA-256 over the object encoder and text encoder weight files.
    public var fingerprint: String
    /// K: object tokens per object (nil without an object encoder).
    public var tokenCount: Int?
    /// D: the text encoder's hidden size.
    public var hiddenSize: Int
    /// "input_embedding" or "hidden_state" (nil without an object encoder).
    public var injection: String?
    /// The standalone VAE used instead of the model's own (--vae), nil for the model's own.
    public var vae: VAEIdentity?

    /// The short hash written into PNGs (`Model hash`): the fingerprint's first 10 hex digits.
    public var shortHash: String { String(fingerprint.prefix(10)) }
    public var hasObjectEncoder: Bool { tokenCount != nil }

    public init(name: String, folder: URL, fingerprint: String, tokenCount: Int?, hiddenSize: Int, injection: String?) {
        self.name = name
        self.folder = folder
        self.fingerprint = fingerprint
        self.tokenCount = tokenCount
        self.hiddenSize = hiddenSize
        self.injection = injection
    }

    /// Reads `folder`; throws naming the missing or malformed file. With a `cache`, the
    /// fingerprint of unchanged weight files is taken from it instead of hashing them again.
    /// A single-file checkpoint's identity: the SHA-256 of the whole file (its first 10 hex digits
    /// are the `Model hash` A1111 writes for the same file), no object encoder.
    public init(folder: URL, cache: FingerprintCache? = nil) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir), !isDir.boolValue {
            let checkpoint = try SingleFileCheckpoint(url: folder)
            let key = cache != nil ? FingerprintCache.key([folder]) : nil
            let fingerprint: String
            if let key, let cached = cache?.lookup(key) {
                fingerprint = cached
            } else {
                var hasher = SHA256()
                try hasher.update(fileAt: folder)
                fingerprint = hasher.hexDigest()
                if let key { cache?.store(key, fingerprint) }
            }
            self.init(name: checkpoint.name, folder: folder, fingerprint: fingerprint, tokenCount: nil,
                      hiddenSize: checkpoint.textConfig.hidden_size, injection: nil)
            return
        }
        let layout = try ModelFolder(folder)
        let textDir = folder.appendingPathComponent("text_encoder")
        let textConfig = try Self.json(textDir.appendingPathComponent("config.json"))
        guard let d = (textConfig["hidden_size"] as? NSNumber)?.intValue else {
            throw KitError("\(textDir.path)/config.json: missing integer field hidden_size")
        }
        var files: [URL] = []
        var k: Int?, injection: String?
        if layout.hasObjectEncoder {
            let encDir = folder.appendingPathComponent("object_encoder")
            let config = try Self.json(encDir.appendingPathComponent("config.json"))
            guard let n = (config["num_tokens"] as? NSNumber)?.intValue else {
                throw KitError("\(encDir.path)/config.json: missing integer field num_tokens")
            }
            k = n
            injection = config["injection"] as? String ?? "input_embedding"
            files.append(try Self.weightFile(encDir, ["model.safetensors"]))
        }
        files.append(try Self.weightFile(textDir, ["model.safetensors", "model.fp16.safetensors"]))
        let key = cache != nil ? FingerprintCache.key(files) : nil
        let fingerprint: String
        if let key, let cached = cache?.lookup(key) {
            fingerprint = cached
        } else {
            var hasher = SHA256()
            for f in files { try hasher.update(fileAt: f) }
            fingerprint = hasher.hexDigest()
            if let key { cache?.store(key, fingerprint) }
        }
        self.init(name: layout.name, folder: folder, fingerprint: fingerprint, tokenCount: k, hiddenSize: d,
                  injection: injection)
    }

    private static func weightFile(_ dir: URL, _ candidates: [String]) throws -> URL {
        for c in candidates where FileManager.default.fileExists(atPath: dir.appendingPathComponent(c).path) {
            return dir.appendingPathComponent(c)
        }
        throw KitError("\(dir.path): missing \(candidates[0])")
    }

    private static func json(_ url: URL) throws -> [String: Any] {
        guard let data = try? Data(contentsOf: url) else { throw KitError("\(url.path): cannot read the file") }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw KitError("\(url.path): not a JSON object")
        }
        return obj
    }
}
