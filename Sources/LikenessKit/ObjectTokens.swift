// tokens.safetensors of a saved object: tensor `object_tokens` [1, K, D] in F32 (the name
// Training/likeness_train/textual_inversion.py writes), and `__metadata__` recording which model
// made them, so tokens from another model are reported stale instead of being used.

import Foundation
import LikenessEngine

public struct ObjectTokens: Sendable {
    public static let tensorName = "object_tokens"

    /// [1, K, D].
    public var tensor: Tensor
    /// ModelIdentity.fingerprint of the model that made (or was given) the tokens; nil for a file
    /// without metadata (e.g. straight from textual inversion).
    public var modelFingerprint: String?
    public var modelName: String?
    public var injection: String?
    /// SHA-256 of the reference image file; nil for imported tokens.
    public var sourceSHA256: String?
    /// "encoder" or "textual-inversion".
    public var origin: String?

    public var tokenCount: Int { tensor.shape.count == 3 ? tensor.shape[1] : 0 }
    public var hiddenSize: Int { tensor.shape.count == 3 ? tensor.shape[2] : 0 }

    public init(tensor: Tensor, modelFingerprint: String?, modelName: String?, injection: String?,
                sourceSHA256: String?, origin: String?) {
        self.tensor = tensor
        self.modelFingerprint = modelFingerprint
        self.modelName = modelName
        self.injection = injection
        self.sourceSHA256 = sourceSHA256
        self.origin = origin
    }

    /// SHA-256 of the token values (little-endian F32), first 10 hex digits: `Object hash` in PNGs.
    public var shortHash: String {
        var h = SHA256()
        tensor.withUnsafeBufferPointer { p in h.update(UnsafeRawBufferPointer(p)) }
        return String(h.hexDigest().prefix(10))
    }

    /// Reads a tokens file; throws naming the file and what is wrong with it.
    public init(contentsOf url: URL) throws {
        let file = try SafeTensorsFile(url: url)
        guard let entry = file.entries[Self.tensorName] else {
            throw KitError("\(url.path): no tensor named '\(Self.tensorName)' (found: \(file.names.joined(separator: ", "))); object tokens are [1, K, D] under that name")
        }
        guard entry.shape.count == 3, entry.shape[0] == 1, entry.shape[1] > 0, entry.shape[2] > 0 else {
            throw KitError("\(url.path): '\(Self.tensorName)' has shape \(entry.shape), expected [1, K, D]")
        }
        let t = try file.tensor(entry)
        guard t.storage.allSatisfy({ $0.isFinite }) else {
            throw KitError("\(url.path): '\(Self.tensorName)' holds NaN or infinite values")
        }
        let m = file.metadata
        self.init(tensor: t, modelFingerprint: m["model_fingerprint"], modelName: m["model"], injection: m["injection"],
                  sourceSHA256: m["source_sha256"], origin: m["origin"])
    }

    /// Writes the file (F32, metadata as above). Not fsynced; the gallery syncs its folder.
    public func write(to url: URL) throws {
        var meta: [String: String] = [
            "format": "likeness-object-tokens",
            "num_tokens": "\(tokenCount)",
            "dim": "\(hiddenSize)",
        ]
        if let modelFingerprint { meta["model_fingerprint"] = modelFingerprint }
        if let modelName { meta["model"] = modelName }
        if let injection { meta["injection"] = injection }
        if let sourceSHA256 { meta["source_sha256"] = sourceSHA256 }
        if let origin { meta["origin"] = origin }
        try SafeTensorsWriter.write([Self.tensorName: tensor], to: url, dtype: .f32, metadata: meta)
    }
}
