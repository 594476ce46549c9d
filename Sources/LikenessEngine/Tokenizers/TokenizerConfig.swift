// Decodes transformers' tokenizer_config.json and special_tokens_map.json (key names as
// transformers writes them) and resolves the special tokens the way transformers 5 does when it
// loads a folder: special_tokens_map.json overrides tokenizer_config.json; the special-token
// attributes are applied in the order bos, eos, unk, sep, pad, cls, mask, and a later one with
// the same text replaces an earlier one's flags (a plain string means special, not normalized);
// entries of `added_tokens_decoder` keep their flags against plain strings.
// Limits: additional_special_tokens are treated like the others; chat templates etc. ignored.

import Foundation

/// A special token as transformers stores it: a plain string or an AddedToken dictionary.
public struct SpecialTokenValue: Decodable, Sendable, Equatable {
    public var content: String
    public var lstrip: Bool
    public var rstrip: Bool
    public var singleWord: Bool
    public var normalized: Bool
    /// True when the file gave a dictionary (with explicit flags), false for a plain string.
    public var hasFlags: Bool

    enum CodingKeys: String, CodingKey {
        case content, lstrip, rstrip, normalized
        case singleWord = "single_word"
    }

    public init(content: String) {
        self.content = content
        lstrip = false
        rstrip = false
        singleWord = false
        normalized = false
        hasFlags = false
    }

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            self.init(content: text)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(content: try c.decode(String.self, forKey: .content))
        lstrip = try c.decodeIfPresent(Bool.self, forKey: .lstrip) ?? false
        rstrip = try c.decodeIfPresent(Bool.self, forKey: .rstrip) ?? false
        singleWord = try c.decodeIfPresent(Bool.self, forKey: .singleWord) ?? false
        normalized = try c.decodeIfPresent(Bool.self, forKey: .normalized) ?? false
        hasFlags = true
    }
}

/// An `added_tokens_decoder` entry of tokenizer_config.json.
public struct AddedTokenDecoderEntry: Decodable, Sendable {
    public var content: String
    public var lstrip: Bool?
    public var rstrip: Bool?
    public var singleWord: Bool?
    public var normalized: Bool?
    public var special: Bool?

    enum CodingKeys: String, CodingKey {
        case content, lstrip, rstrip, normalized, special
        case singleWord = "single_word"
    }
}

/// tokenizer_config.json (or special_tokens_map.json, which uses a subset of the keys).
public struct TokenizerConfig: Decodable, Sendable {
    public var bosToken: SpecialTokenValue?
    public var eosToken: SpecialTokenValue?
    public var unkToken: SpecialTokenValue?
    public var sepToken: SpecialTokenValue?
    public var padToken: SpecialTokenValue?
    public var clsToken: SpecialTokenValue?
    public var maskToken: SpecialTokenValue?
    public var additionalSpecialTokens: [SpecialTokenValue]?
    /// `model_max_length`; transformers writes 1e30 for "no limit", so it is read as a Double.
    public var modelMaxLength: Double?
    public var addedTokensDecoder: [String: AddedTokenDecoderEntry]?
    public var tokenizerClass: String?

    enum CodingKeys: String, CodingKey {
        case bosToken = "bos_token", eosToken = "eos_token", unkToken = "unk_token", sepToken = "sep_token"
        case padToken = "pad_token", clsToken = "cls_token", maskToken = "mask_token"
        case additionalSpecialTokens = "additional_special_tokens"
        case modelMaxLength = "model_max_length"
        case addedTokensDecoder = "added_tokens_decoder"
        case tokenizerClass = "tokenizer_class"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func token(_ key: CodingKeys) throws -> SpecialTokenValue? {
            if try c.decodeNil(forKey: key) { return nil }
            return try c.decodeIfPresent(SpecialTokenValue.self, forKey: key)
        }
        bosToken = c.contains(.bosToken) ? try token(.bosToken) : nil
        eosToken = c.contains(.eosToken) ? try token(.eosToken) : nil
        unkToken = c.contains(.unkToken) ? try token(.unkToken) : nil
        sepToken = c.contains(.sepToken) ? try token(.sepToken) : nil
        padToken = c.contains(.padToken) ? try token(.padToken) : nil
        clsToken = c.contains(.clsToken) ? try token(.clsToken) : nil
        maskToken = c.contains(.maskToken) ? try token(.maskToken) : nil
        additionalSpecialTokens = try c.decodeIfPresent([SpecialTokenValue].self, forKey: .additionalSpecialTokens)
        modelMaxLength = try c.decodeIfPresent(Double.self, forKey: .modelMaxLength)
        addedTokensDecoder = try c.decodeIfPresent([String: AddedTokenDecoderEntry].self, forKey: .addedTokensDecoder)
        tokenizerClass = try c.decodeIfPresent(String.self, forKey: .tokenizerClass)
    }

    /// Values of `other` (special_tokens_map.json) replace ours where present.
    func overridden(by other: TokenizerConfig) -> TokenizerConfig {
        var merged = self
        if let v = other.bosToken { merged.bosToken = v }
        if let v = other.eosToken { merged.eosToken = v }
        if let v = other.unkToken { merged.unkToken = v }
        if let v = other.sepToken { merged.sepToken = v }
        if let v = other.padToken { merged.padToken = v }
        if let v = other.clsToken { merged.clsToken = v }
        if let v = other.maskToken { merged.maskToken = v }
        if let v = other.additionalSpecialTokens { merged.additionalSpecialTokens = v }
        return merged
    }

    /// Special-token attributes in transformers' order.
    var specialTokensInOrder: [SpecialTokenValue] {
        [bosToken, eosToken, unkToken, sepToken, padToken, clsToken, maskToken].compactMap { $0 }
            + (additionalSpecialTokens ?? [])
    }

    /// `model_max_length` when it is a real limit (transformers uses ~1e30 for "none").
    var usableModelMaxLength: Int? {
        guard let v = modelMaxLength, v >= 2, v <= 1_000_000 else { return nil }
        return Int(v)
    }
}
