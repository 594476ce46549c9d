// The `parameters` text chunk in AUTOMATIC1111's format (docs/FORMAT.md, "PNG parameters"), text level only:
//
//   <prompt, may span lines>
//   Negative prompt: <negative, may span lines>      (left out when empty)
//   Steps: 25, Sampler: DDIM, CFG scale: 5, Seed: 7, Size: 64x64, Model: toybox, ...
//
// The last line is `Key: value` pairs joined by ", "; a value holding `,`, `:`, `"` or a newline
// is written as a JSON string. As A1111's parse_generation_parameters, the last line counts as
// parameters only when it holds at least three pairs (else it belongs to the prompt). Unlike
// A1111 the parser keeps lines as they are (no strip), so our own prompts round-trip exactly.
// Typed meaning of the pairs: GenerationSpec.swift.

import Foundation
import LikenessEngine

public struct ParameterPair: Equatable, Sendable, Codable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

public struct PNGParameters: Equatable, Sendable {
    /// The PNG text key that holds them.
    public static let chunkKey = "parameters"

    public var prompt: String
    public var negativePrompt: String
    /// The last line's pairs, in order.
    public var pairs: [ParameterPair]

    public init(prompt: String, negativePrompt: String = "", pairs: [ParameterPair] = []) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.pairs = pairs
    }

    /// The first value of `key`, or nil.
    public subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }

    // MARK: writing

    public var text: String {
        var lines = [prompt]
        if !negativePrompt.isEmpty { lines.append("Negative prompt: \(negativePrompt)") }
        if !pairs.isEmpty { lines.append(pairs.map { "\($0.key): \(Self.quoteIfNeeded($0.value))" }.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }

    static func quoteIfNeeded(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == ":" || $0 == "\"" || $0.isNewline }) else { return value }
        return SafeTensorsWriter.jsonString(value)
    }

    // MARK: parsing

    /// Parses a `parameters` chunk. Never throws: text without a parameters line is all prompt.
    public static func parse(_ text: String) -> PNGParameters {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        while lines.count > 1, lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        var pairs: [ParameterPair] = []
        if lines.count > 1 || (lines.first.map { parsePairs($0).count >= 3 } ?? false), let last = lines.last {
            let found = parsePairs(last)
            if found.count >= 3 {
                pairs = found
                lines.removeLast()
            }
        }
        var prompt: [String] = [], negative: [String] = []
        var inNegative = false
        for line in lines {
            if !inNegative, line.hasPrefix("Negative prompt:") {
                inNegative = true
                var rest = line.dropFirst("Negative prompt:".count)
                if rest.first == " " { rest = rest.dropFirst() }
                negative.append(String(rest))
            } else if inNegative {
                negative.append(line)
            } else {
                prompt.append(line)
            }
        }
        return PNGParameters(prompt: prompt.joined(separator: "\n"), negativePrompt: negative.joined(separator: "\n"), pairs: pairs)
    }

    /// A1111's re_param: `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`.
    private static let pairPattern: NSRegularExpression? =
        try? NSRegularExpression(pattern: #"\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)"#)

    static func parsePairs(_ line: String) -> [ParameterPair] {
        guard let regex = pairPattern else { return [] }
        let ns = line as NSString
        return regex.matches(in: line, range: NSRange(location: 0, length: ns.length)).compactMap { m in
            guard m.numberOfRanges == 3 else { return nil }
            let key = ns.substring(with: m.range(at: 1))
            var value = ns.substring(with: m.range(at: 2))
            if value.hasPrefix("\""), let data = value.data(using: .utf8),
               let s = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? String {
                value = s
            } else {
                value = value.trimmingCharacters(in: .whitespaces)
            }
            return ParameterPair(key, value)
        }
    }
}
