// object.json of a saved object, and what `likeness objects` lists.

import Foundation

public struct ObjectRecord: Codable, Equatable, Sendable {
    public var name: String
    /// The reference image path as given, or the tokens file for an import.
    public var source: String
    /// ISO 8601, UTC.
    public var created: String
    /// Name of the model folder that made the tokens.
    public var model: String
    /// "encoder" or "textual-inversion".
    public var origin: String

    public init(name: String, source: String, created: String, model: String, origin: String) {
        self.name = name
        self.source = source
        self.created = created
        self.model = model
        self.origin = origin
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}

/// One folder of the gallery as read back.
public enum GalleryEntry: Equatable, Sendable {
    case object(SavedObject)
    /// A folder that is not a complete object (a file missing or unreadable); never used,
    /// reported so the user can remove it.
    case damaged(name: String, reason: String)

    public var name: String {
        switch self {
        case .object(let o): return o.name
        case .damaged(let name, _): return name
        }
    }
}

/// A complete saved object (all files present and readable).
public struct SavedObject: Equatable, Sendable {
    /// The folder name (authoritative over record.name).
    public var name: String
    public var folder: URL
    public var record: ObjectRecord
    public var modelFingerprint: String?
    public var tokenCount: Int
    public var hiddenSize: Int
    public var injection: String?

    public var referenceURL: URL { folder.appendingPathComponent(ObjectGallery.referenceFile) }
    public var thumbnailURL: URL { folder.appendingPathComponent(ObjectGallery.thumbnailFile) }
    public var tokensURL: URL { folder.appendingPathComponent(ObjectGallery.tokensFile) }

    /// Whether tokens were made by another model than `model` (or their origin is unknown).
    public func isStale(for model: ModelIdentity) -> Bool {
        modelFingerprint != model.fingerprint || tokenCount != model.tokenCount || hiddenSize != model.hiddenSize
    }
}
