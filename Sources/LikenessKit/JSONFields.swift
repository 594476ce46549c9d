// Reading other tools' JSON metadata key by key: the keys a reader takes become A1111 pairs (the
// one form GenerationSpec.from reads); every key it leaves is reported, unless it is known to be
// informational or holds a value that changes nothing (null, false, empty). Nothing is dropped
// without a word.

import Foundation
import LikenessEngine

extension JSONValue {
    /// Parses `text` as JSON; nil when it is not JSON at all.
    static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Parses text that holds JSON when it starts (after blanks) with `{` or `[`; nil for other
    /// text and for such text that is not valid JSON (an A1111 prompt may start with `{`).
    static func parseIfJSON(_ text: String) -> JSONValue? {
        guard let first = text.first(where: { !$0.isWhitespace }), first == "{" || first == "[" else { return nil }
        return parse(text)
    }

    var object: [String: JSONValue]? { if case let .object(o) = self { return o }; return nil }
    var array: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    var string: String? { if case let .string(s) = self { return s }; return nil }

    /// What kind of value this is, for messages: "an array", "a string".
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .uint, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as an A1111 pair value: strings as they are, numbers in their shortest form,
    /// anything else as compact JSON; nil for null.
    var pairText: String? {
        switch self {
        case .null: return nil
        case .string(let s): return s
        default: return jsonText
        }
    }

    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        case .double(let d): return d
        case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// Compact JSON text.
    var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return "\(i)"
        case .uint(let u): return "\(u)"
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? "\(Int64(d))" : "\(d)"
        case .string(let s): return SafeTensorsWriter.jsonString(s)
        case .array(let a): return "[" + a.map(\.jsonText).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\(SafeTensorsWriter.jsonString($0)): \(o[$0]?.jsonText ?? "null")" }.joined(separator: ", ") + "}"
        }
    }

    /// Whether the value changes nothing: null, false, 0, "", "None", [], {}.
    var isBlank: Bool {
        switch self {
        case .null: return true
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .uint, .double: return number == 0
        case .string(let s): return s.isEmpty || s == "None" || s == "none"
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        }
    }
}

/// A JSON object read key by key into A1111 pairs plus the reports of what is left.
struct JSONFields {
    let object: [String: JSONValue]
    private(set) var taken: Set<String> = []
    var prompt = ""
    var negative = ""
    var pairs: [ParameterPair] = []
    var unsupported: [UnsupportedParameter] = []

    init(_ object: [String: JSONValue]) { self.object = object }

    /// The value of `key` (nil when absent or null), marking it read.
    mutating func take(_ key: String) -> JSONValue? {
        taken.insert(key)
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    /// Marks keys as read without using them (informational).
    mutating func skip(_ keys: String...) { taken.formUnion(keys) }

    /// Puts `key`'s value under the A1111 key `as`.
    mutating func pair(_ key: String, as a1111: String) {
        if let text = take(key)?.pairText { pairs.append(ParameterPair(a1111, text)) }
    }

    mutating func add(_ a1111: String, _ value: String?) {
        if let value { pairs.append(ParameterPair(a1111, value)) }
    }

    /// `Sampler` (A1111's name where Likeness has the sampler, else the tool's own) and `Schedule
    /// type` (Karras; the default spacing adds nothing; any other is passed on, and reported).
    mutating func sampler(_ name: String?, schedule: String?) {
        if let name { add("Sampler", SamplerNames.a1111Name(tool: name) ?? name) }
        guard let schedule else { return }
        switch schedule.lowercased() {
        case "karras": add("Schedule type", "Karras")
        case "normal", "native", "automatic", "default", "": break
        default: add("Schedule type", schedule)
        }
    }

    /// Reports `key` when its value is not blank (or not equal to `unless`).
    mutating func report(_ key: String, unless harmless: JSONValue? = nil, _ reason: String) {
        guard let v = take(key), !v.isBlank, v != harmless else { return }
        unsupported.append(UnsupportedParameter(key: key, value: v.pairText ?? "null", reason: reason))
    }

    /// Reports every key not read yet whose value is not blank.
    mutating func reportRest() {
        for key in object.keys.sorted() where !taken.contains(key) {
            report(key, "not understood by Likeness; ignored")
        }
    }
}
