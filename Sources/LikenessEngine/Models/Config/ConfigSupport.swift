// Decoding support for diffusers/transformers config.json files: reading with errors
// that name the file and field, int-or-list values (as diffusers accepts for e.g.
// attention_head_dim), and locating a model folder's weight file.

import Foundation

/// An `int` or a per-block list of ints, as diffusers configs allow (`attention_head_dim: 8` or `[5, 10, 20]`).
public enum IntOrList: Codable, Equatable {
    case int(Int)
    case list([Int])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else {
            self = .list(try c.decode([Int].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .int(i): try c.encode(i)
        case let .list(l): try c.encode(l)
        }
    }

    /// Expands to `count` per-block values; nil when a list has the wrong length.
    public func expanded(_ count: Int) -> [Int]? {
        switch self {
        case let .int(i): return Array(repeating: i, count: count)
        case let .list(l): return l.count == count ? l : nil
        }
    }
}

extension KeyedDecodingContainer {
    /// `decodeIfPresent(key) ?? fallback`: absent or null keys take the library default.
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

enum ConfigLoader {
    /// Decodes `T` from `url`, turning decoding failures into `ConfigError`s naming file and field.
    static func load<T: Decodable>(_ type: T.Type, from url: URL, displayName: String) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigError(file: displayName, reason: "cannot read config (\(error.localizedDescription))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw configError(error, file: displayName)
        } catch let error as ConfigError {
            throw ConfigError(file: displayName, field: error.field, reason: error.reason)
        }
    }

    static func configError(_ error: DecodingError, file: String) -> ConfigError {
        func path(_ codingPath: [CodingKey]) -> String? {
            let p = codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? nil : p
        }
        switch error {
        case let .typeMismatch(type, ctx):
            return ConfigError(file: file, field: path(ctx.codingPath), reason: "expected \(type) (\(ctx.debugDescription))")
        case let .valueNotFound(type, ctx):
            return ConfigError(file: file, field: path(ctx.codingPath), reason: "missing \(type) value")
        case let .keyNotFound(key, ctx):
            return ConfigError(file: file, field: path(ctx.codingPath + [key]), reason: "required key is missing")
        case let .dataCorrupted(ctx):
            return ConfigError(file: file, field: path(ctx.codingPath), reason: "not valid JSON (\(ctx.debugDescription))")
        @unknown default:
            return ConfigError(file: file, reason: "\(error)")
        }
    }
}

/// A diffusers/transformers component folder: `config.json` plus one safetensors file.
struct ComponentFolder {
    let folder: URL
    /// Folder name used in messages, e.g. "unet".
    let name: String

    init(_ folder: URL) {
        self.folder = folder
        name = folder.lastPathComponent
    }

    var configURL: URL { folder.appendingPathComponent("config.json") }
    var configDisplayName: String { "\(name)/config.json" }

    func config<T: Decodable>(_ type: T.Type) throws -> T {
        try ConfigLoader.load(type, from: configURL, displayName: configDisplayName)
    }

    /// The first existing weight file among `candidates` (e.g. "model.safetensors", "model.fp16.safetensors").
    func weights(_ candidates: [String]) throws -> WeightStore {
        let fm = FileManager.default
        for candidate in candidates {
            let url = folder.appendingPathComponent(candidate)
            if fm.fileExists(atPath: url.path) {
                return try WeightStore(url: url, displayName: "\(name)/\(candidate)")
            }
        }
        throw SafeTensorsError.cannotOpen(
            file: "\(name)/\(candidates.first ?? "")",
            reason: "no weight file found (looked for \(candidates.joined(separator: ", "))); sharded or .bin checkpoints must be converted to a single safetensors file")
    }
}
