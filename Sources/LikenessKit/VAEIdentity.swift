// What a standalone VAE (--vae) is, for the PNG parameters as A1111 writes them: `VAE` is the
// file's name (with its extension) or the folder's name, `VAE hash` the first 10 hex digits of the
// SHA-256 of the weight file (the file itself, or a folder's diffusion_pytorch_model*.safetensors).

import Foundation

public struct VAEIdentity: Equatable, Sendable {
    public var name: String
    public var url: URL
    /// Hex SHA-256 of the weight file.
    public var fingerprint: String

    /// `VAE hash`: the fingerprint's first 10 hex digits.
    public var shortHash: String { String(fingerprint.prefix(10)) }

    public init(name: String, url: URL, fingerprint: String) {
        self.name = name
        self.url = url
        self.fingerprint = fingerprint
    }

    /// Hashes the VAE at `url` (file or folder), using `cache` for unchanged files.
    public init(url: URL, cache: FingerprintCache? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw KitError("\(url.path): no such VAE file or folder")
        }
        var weights = url
        if isDir.boolValue {
            let dirs = [url.appendingPathComponent("vae"), url]
            let names = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]
            guard let found = dirs.flatMap({ d in names.map { d.appendingPathComponent($0) } })
                .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                throw KitError("\(url.path): no diffusion_pytorch_model.safetensors in the VAE folder")
            }
            weights = found
        }
        let key = cache != nil ? FingerprintCache.key([weights]) : nil
        let fingerprint: String
        if let key, let cached = cache?.lookup(key) {
            fingerprint = cached
        } else {
            var hasher = SHA256()
            try hasher.update(fileAt: weights)
            fingerprint = hasher.hexDigest()
            if let key { cache?.store(key, fingerprint) }
        }
        self.init(name: url.standardizedFileURL.lastPathComponent, url: url, fingerprint: fingerprint)
    }
}
