// A minimal JSON value used to validate untrusted input field by field (safetensors headers,
// other tools' image metadata), so that errors can name the offending field instead of failing
// wholesale.

import Foundation

/// Any JSON value; integers that fit Int64 or UInt64 are kept exact.
public enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    /// Integers above Int64.max (seeds up to 2^64 - 1).
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let u = try? c.decode(UInt64.self) { self = .uint(u); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "unrecognised JSON value")
    }

    /// The value as a non-negative Int, if it is an integer literal >= 0.
    public var nonNegativeInt: Int? {
        if case let .int(i) = self, i >= 0, i <= Int64(Int.max) { return Int(i) }
        return nil
    }
}
