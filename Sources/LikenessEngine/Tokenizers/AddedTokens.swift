// Matches the `tokenizers` AddedVocabulary split (added_vocabulary.rs): added tokens that are
// not `normalized` are found in the raw text first (leftmost, then longest), the text between
// them is normalized, then `normalized` added tokens are found in that normalized text; what
// is left goes to the pre-tokenizer and the model. Honours lstrip / rstrip (swallow adjacent
// whitespace) and single_word (only match between non-word characters).
// Limits: `single_word` treats letters, numbers and "_" as word characters.

/// One entry of tokenizer.json `added_tokens` (or a special token from tokenizer_config.json).
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    public var special: Bool
    public var lstrip: Bool
    public var rstrip: Bool
    public var singleWord: Bool
    public var normalized: Bool

    public init(id: Int, content: String, special: Bool = true, lstrip: Bool = false, rstrip: Bool = false,
                singleWord: Bool = false, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        self.normalized = normalized
    }
}

/// A piece of input: either an added token's id or text still to be tokenized.
enum AddedTokenPiece: Equatable {
    case token(Int)
    case text([Unicode.Scalar])
}

/// Finds added tokens in text.
struct AddedTokenMatcher: Sendable {
    private struct Pattern: Sendable {
        let scalars: [Unicode.Scalar]
        let token: AddedToken
    }

    private let patterns: [Pattern]

    init(tokens: [AddedToken], normalize: ((String) -> String)?) {
        patterns = tokens.compactMap { token in
            let text = normalize.map { $0(token.content) } ?? token.content
            let scalars = Array(text.unicodeScalars)
            return scalars.isEmpty ? nil : Pattern(scalars: scalars, token: token)
        }
    }

    var isEmpty: Bool { patterns.isEmpty }

    private static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        s == "_" || UnicodeClasses.isLetter(s) || UnicodeClasses.isNumber(s)
    }

    /// Splits `s` at added-token matches.
    func split(_ s: [Unicode.Scalar]) -> [AddedTokenPiece] {
        if patterns.isEmpty { return s.isEmpty ? [] : [.text(s)] }
        // Non-overlapping leftmost-longest matches over the original text.
        var matches: [(start: Int, end: Int, token: AddedToken)] = []
        var i = 0
        while i < s.count {
            var best: Pattern?
            for p in patterns where p.scalars.count > (best?.scalars.count ?? 0) {
                if i + p.scalars.count <= s.count, s[i..<(i + p.scalars.count)].elementsEqual(p.scalars) {
                    best = p
                }
            }
            if let best {
                matches.append((i, i + best.scalars.count, best.token))
                i += best.scalars.count
            } else {
                i += 1
            }
        }
        var pieces: [AddedTokenPiece] = []
        var offset = 0
        for m in matches {
            var start = m.start, stop = m.end
            if m.token.singleWord {
                let startOK = start == 0 || !Self.isWordScalar(s[start - 1])
                let stopOK = stop == s.count || !Self.isWordScalar(s[stop])
                if !startOK || !stopOK { continue }
            }
            if start < offset { continue }
            if m.token.lstrip {
                var k = start
                while k > offset, UnicodeClasses.isWhitespace(s[k - 1]) { k -= 1 }
                start = k
            }
            if m.token.rstrip {
                while stop < s.count, UnicodeClasses.isWhitespace(s[stop]) { stop += 1 }
            }
            if start > offset { pieces.append(.text(Array(s[offset..<start]))) }
            pieces.append(.token(m.token.id))
            offset = stop
        }
        if offset < s.count { pieces.append(.text(Array(s[offset...]))) }
        return pieces
    }
}
