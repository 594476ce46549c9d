// Any JSON value, for decoding files written by older (or newer, or hand-edited) versions field
// by field without a hand-written list of the fields: `decode(_:from:defaults:)` starts from the
// defaults' own encoding and takes each key of the file whose value still decodes.

import Foundation

enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    /// Whole numbers keep every digit (seeds are UInt64).
    case unsigned(UInt64)
    case signed(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(UInt64.self) { self = .unsigned(n) }
        else if let n = try? c.decode(Int64.self) { self = .signed(n) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .unsigned(let n): try c.encode(n)
        case .signed(let n): try c.encode(n)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// `value` read as a T: keys missing from it, or holding a value T cannot take, keep the
    /// value they have in `defaults`; unknown keys are ignored.
    static func decode<T: Codable>(_ type: T.Type, from value: JSONValue, defaults: T) -> T {
        func roundTrip(_ v: JSONValue) -> T? {
            guard let data = try? JSONEncoder().encode(v) else { return nil }
            return try? JSONDecoder().decode(T.self, from: data)
        }
        guard case .object(let given) = value,
              let data = try? JSONEncoder().encode(defaults),
              case .object(var merged)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return defaults }
        for (key, v) in given.sorted(by: { $0.key < $1.key }) where merged[key] != nil {
            var trial = merged
            trial[key] = v
            if roundTrip(.object(trial)) != nil { merged = trial }
        }
        return roundTrip(.object(merged)) ?? defaults
    }
}
