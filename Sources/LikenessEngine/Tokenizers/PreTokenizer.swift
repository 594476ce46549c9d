// Matches the `tokenizers` pre-tokenizers that CLIP and the Toybox tokenizer use:
//  - Whitespace: the regex \w+|[^\w\s]+ (matches kept, whitespace dropped),
//  - WhitespaceSplit: split on White_Space,
//  - Punctuation (behavior "Isolated"): every punctuation character is its own piece,
//  - Split with CLIP's pattern
//    <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//    (behavior "Removed", invert true: the matches are the pieces),
//  - ByteLevel: GPT-2's regex split ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
//    \s+(?!\S)|\s+) when use_regex, then bytes mapped to printable characters,
//  - Sequence.
// The regexes are hand-written scanners with the same leftmost-first alternation semantics.
// Limits: other Split patterns/behaviors, Metaspace, Digits, BertPreTokenizer etc. are rejected
// when loading.

/// A pre-tokenizer from tokenizer.json.
public indirect enum PreTokenizer: Sendable, Equatable {
    case whitespace
    case whitespaceSplit
    case punctuationIsolated
    case clipSplit
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case sequence([PreTokenizer])

    /// The exact pattern string of CLIP's Split pre-tokenizer.
    public static let clipPattern =
        #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

    /// Splits normalized text into pieces (each piece is later fed to the model).
    public func split(_ text: String) -> [String] {
        split([Array(text.unicodeScalars)]).map(Self.string)
    }

    func split(_ pieces: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        switch self {
        case .sequence(let steps):
            return steps.reduce(pieces) { $1.split($0) }
        default:
            return pieces.flatMap { splitOne($0) }
        }
    }

    private func splitOne(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        switch self {
        case .whitespace: return Self.whitespaceSplitRegex(s)
        case .whitespaceSplit: return Self.splitOnWhitespace(s)
        case .punctuationIsolated: return Self.isolatePunctuation(s)
        case .clipSplit: return Self.clipSplit(s)
        case .byteLevel(let addPrefixSpace, let useRegex):
            var text = s
            if addPrefixSpace, let first = text.first, !UnicodeClasses.isWhitespace(first) {
                text.insert(" ", at: 0)
            }
            let parts = useRegex ? Self.gpt2Split(text) : [text]
            return parts.map(ByteLevel.encode)
        case .sequence:
            return split([s])
        }
    }

    static func string(_ scalars: [Unicode.Scalar]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    // MARK: scanners

    /// `\w+|[^\w\s]+`, matches kept.
    static func whitespaceSplitRegex(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        var i = 0
        while i < s.count {
            if UnicodeClasses.isWordCharacter(s[i]) {
                let start = i
                while i < s.count, UnicodeClasses.isWordCharacter(s[i]) { i += 1 }
                out.append(Array(s[start..<i]))
            } else if !UnicodeClasses.isWhitespace(s[i]) {
                let start = i
                while i < s.count, !UnicodeClasses.isWordCharacter(s[i]), !UnicodeClasses.isWhitespace(s[i]) { i += 1 }
                out.append(Array(s[start..<i]))
            } else {
                i += 1
            }
        }
        return out
    }

    static func splitOnWhitespace(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        s.split(whereSeparator: UnicodeClasses.isWhitespace).map(Array.init)
    }

    static func isolatePunctuation(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for c in s {
            if UnicodeClasses.isPunctuation(c) {
                if !current.isEmpty { out.append(current); current = [] }
                out.append([c])
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    private static let startOfText = Array("<|startoftext|>".unicodeScalars)
    private static let endOfText = Array("<|endoftext|>".unicodeScalars)

    @inline(__always)
    private static func hasPrefix(_ s: [Unicode.Scalar], at i: Int, _ p: [Unicode.Scalar]) -> Bool {
        guard i + p.count <= s.count else { return false }
        for k in 0..<p.count where s[i + k] != p[k] { return false }
        return true
    }

    /// Length of an English contraction ('s 't 're 've 'm 'll 'd) starting at i, or 0.
    @inline(__always)
    private static func contractionLength(_ s: [Unicode.Scalar], at i: Int) -> Int {
        guard s[i] == "'", i + 1 < s.count else { return 0 }
        switch s[i + 1] {
        case "s", "t", "m", "d": return 2
        case "r", "v":
            return i + 2 < s.count && s[i + 2] == "e" ? 3 : 0
        case "l":
            return i + 2 < s.count && s[i + 2] == "l" ? 3 : 0
        default: return 0
        }
    }

    @inline(__always)
    private static func isOther(_ c: Unicode.Scalar) -> Bool {
        !UnicodeClasses.isWhitespace(c) && !UnicodeClasses.isLetter(c) && !UnicodeClasses.isNumber(c)
    }

    /// CLIP's Split pattern; returns the matches.
    static func clipSplit(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        var i = 0
        while i < s.count {
            if hasPrefix(s, at: i, startOfText) {
                out.append(startOfText); i += startOfText.count; continue
            }
            if hasPrefix(s, at: i, endOfText) {
                out.append(endOfText); i += endOfText.count; continue
            }
            let c = contractionLength(s, at: i)
            if c > 0 {
                out.append(Array(s[i..<(i + c)])); i += c; continue
            }
            let ch = s[i]
            if UnicodeClasses.isLetter(ch) {
                let start = i
                while i < s.count, UnicodeClasses.isLetter(s[i]) { i += 1 }
                out.append(Array(s[start..<i]))
            } else if UnicodeClasses.isNumber(ch) {
                out.append([ch]); i += 1
            } else if !UnicodeClasses.isWhitespace(ch) {
                let start = i
                while i < s.count, isOther(s[i]) { i += 1 }
                out.append(Array(s[start..<i]))
            } else {
                i += 1
            }
        }
        return out
    }

    /// GPT-2's byte-level regex; every character ends up in exactly one piece.
    static func gpt2Split(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        var i = 0
        let n = s.count
        while i < n {
            let c = contractionLength(s, at: i)
            if c > 0 {
                out.append(Array(s[i..<(i + c)])); i += c; continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            var j = i
            if s[j] == " ", j + 1 < n, !UnicodeClasses.isWhitespace(s[j + 1]) { j += 1 }
            let ch = s[j]
            if UnicodeClasses.isLetter(ch) {
                var k = j
                while k < n, UnicodeClasses.isLetter(s[k]) { k += 1 }
                out.append(Array(s[i..<k])); i = k; continue
            }
            if UnicodeClasses.isNumber(ch) {
                var k = j
                while k < n, UnicodeClasses.isNumber(s[k]) { k += 1 }
                out.append(Array(s[i..<k])); i = k; continue
            }
            if isOther(ch) {
                var k = j
                while k < n, isOther(s[k]) { k += 1 }
                out.append(Array(s[i..<k])); i = k; continue
            }
            // whitespace run: `\s+(?!\S)` then `\s+`
            var k = i
            while k < n, UnicodeClasses.isWhitespace(s[k]) { k += 1 }
            if k < n && k - i >= 2 {
                k -= 1  // leave the last space to join the following word
            }
            out.append(Array(s[i..<k])); i = k
        }
        return out
    }
}

/// GPT-2's reversible byte-to-character map (`bytes_to_unicode`).
enum ByteLevel {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var direct = Set<Int>()
        for b in 0x21...0x7e { direct.insert(b) }
        for b in 0xa1...0xac { direct.insert(b) }
        for b in 0xae...0xff { direct.insert(b) }
        var next = 0
        for b in 0..<256 {
            if direct.contains(b) {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(UInt16(256 + next)) ?? " "
                next += 1
            }
        }
        return table
    }()

    static func encode(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for byte in PreTokenizer.string(s).utf8 { out.append(byteToScalar[Int(byte)]) }
        return out
    }
}
