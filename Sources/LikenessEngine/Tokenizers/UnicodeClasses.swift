// Matches the character classes of the Oniguruma regexes and Rust char predicates that the
// HuggingFace `tokenizers` library (0.23) uses: \s (White_Space), \p{L}, \p{N}, \w
// (Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control), the Punctuation
// pre-tokenizer's test (ASCII punctuation or general category P*), and per-character
// lower-casing (Rust char::to_lowercase, no final-sigma context).
// Each source has its own Unicode version, and this Swift toolchain may know a newer one:
// Oniguruma's tables are Unicode 16.0 (later scalars are treated as unassigned), the
// unicode_categories crate behind Punctuation is Unicode 8.0 (two scalars changed category since),
// and Rust's to_lowercase is at least as new as Swift's. Checked against tables dumped from
// `tokenizers` for every scalar (TokenizerBehaviourTests).

enum UnicodeClasses {
    /// The Unicode version of Oniguruma's tables.
    static let referenceVersion = (major: 16, minor: 0)
    /// The Unicode version of the unicode_categories crate (Punctuation pre-tokenizer).
    static let punctuationVersion = (major: 8, minor: 0)

    @inline(__always)
    static func isAssigned(_ s: Unicode.Scalar, by version: (major: Int, minor: Int)) -> Bool {
        guard let age = s.properties.age else { return false }
        if age.major != version.major { return age.major < version.major }
        return age.minor <= version.minor
    }

    @inline(__always)
    static func isAssignedInReference(_ s: Unicode.Scalar) -> Bool {
        isAssigned(s, by: referenceVersion)
    }

    /// Oniguruma `\s` and Rust `char::is_whitespace`: the White_Space property.
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace
    }

    /// `\p{L}`.
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7a }
        guard isAssignedInReference(s) else { return false }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`.
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s.value >= 0x30 && s.value <= 0x39 }
        guard isAssignedInReference(s) else { return false }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Oniguruma `\w` with Unicode semantics.
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (v >= 0x30 && v <= 0x39) || ((v | 0x20) >= 0x61 && (v | 0x20) <= 0x7a) || v == 0x5f
        }
        guard isAssignedInReference(s) else { return false }
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// The `Punctuation` pre-tokenizer's test: ASCII punctuation or any P* category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (v >= 0x21 && v <= 0x2f) || (v >= 0x3a && v <= 0x40) || (v >= 0x5b && v <= 0x60)
                || (v >= 0x7b && v <= 0x7e)
        }
        // CANADIAN SYLLABICS CHI SIGN and SHARADA SANDHI MARK were Po in Unicode 8.0.
        if s.value == 0x166d || s.value == 0x111c9 { return true }
        guard isAssigned(s, by: punctuationVersion) else { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Per-scalar full lower-case mapping (the `Lowercase` normalizer).
    static func lowercased(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.isASCII {
                let v = s.value
                out.append((v >= 0x41 && v <= 0x5a) ? Unicode.Scalar(UInt8(v + 0x20)) : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }
}
