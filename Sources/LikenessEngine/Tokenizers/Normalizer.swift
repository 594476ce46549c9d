// Matches the `tokenizers` normalizers NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace (literal
// text, or the regex \s+ that CLIP uses) and Sequence. Unicode normal forms come from
// Foundation's ICU-backed mappings. Limits: other normalizers (BertNormalizer, StripAccents,
// Prepend, Precompiled, ...) and other Replace regexes are rejected when loading.

import Foundation

/// A text normalizer from tokenizer.json.
public indirect enum TextNormalizer: Sendable, Equatable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    /// Replace every maximal run of whitespace by `content` (`Replace` with regex `\s+`).
    case replaceWhitespaceRuns(with: String)
    /// Replace every occurrence of a literal string.
    case replaceLiteral(pattern: String, with: String)
    case sequence([TextNormalizer])

    public func apply(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return UnicodeClasses.lowercased(text)
        case .strip(let left, let right):
            var scalars = Array(text.unicodeScalars)
            if right { while let last = scalars.last, UnicodeClasses.isWhitespace(last) { scalars.removeLast() } }
            var start = 0
            if left { while start < scalars.count, UnicodeClasses.isWhitespace(scalars[start]) { start += 1 } }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[start...])
            return String(view)
        case .replaceWhitespaceRuns(let content):
            var out = String.UnicodeScalarView()
            var inRun = false
            for s in text.unicodeScalars {
                if UnicodeClasses.isWhitespace(s) {
                    if !inRun { out.append(contentsOf: content.unicodeScalars) }
                    inRun = true
                } else {
                    out.append(s)
                    inRun = false
                }
            }
            return String(out)
        case .replaceLiteral(let pattern, let content):
            guard !pattern.isEmpty else { return text }
            return Self.replaceScalars(in: text, pattern: Array(pattern.unicodeScalars),
                                       with: Array(content.unicodeScalars))
        case .sequence(let steps):
            return steps.reduce(text) { $1.apply($0) }
        }
    }

    /// Literal replacement by scalars (String.replacingOccurrences would compare canonically).
    private static func replaceScalars(in text: String, pattern: [Unicode.Scalar], with content: [Unicode.Scalar]) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if i + pattern.count <= scalars.count, Array(scalars[i..<(i + pattern.count)]) == pattern {
                out.append(contentsOf: content)
                i += pattern.count
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }
}
