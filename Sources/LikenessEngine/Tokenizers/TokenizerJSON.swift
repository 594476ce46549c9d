// Decodes the parts of a HuggingFace `tokenizers` tokenizer.json that Likeness interprets:
// added_tokens, normalizer, pre_tokenizer, model (BPE or WordLevel), padding/truncation and the
// post-processor's BOS/EOS (fallback when tokenizer_config.json names none). Key names are the
// library's. Components outside the supported set decode as `.unsupported(type)` so the loader
// can name them in its error.

import Foundation

struct TokenizerJSON: Decodable {
    var addedTokens: [AddedTokenJSON]
    var normalizer: NormalizerJSON?
    var preTokenizer: PreTokenizerJSON?
    var postProcessor: PostProcessorJSON?
    var model: ModelJSON
    var padding: PaddingJSON?
    var truncation: TruncationJSON?

    enum CodingKeys: String, CodingKey {
        case addedTokens = "added_tokens", normalizer, preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor", model, padding, truncation
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        addedTokens = try c.decodeIfPresent([AddedTokenJSON].self, forKey: .addedTokens) ?? []
        normalizer = try c.decodeIfPresent(NormalizerJSON.self, forKey: .normalizer)
        preTokenizer = try c.decodeIfPresent(PreTokenizerJSON.self, forKey: .preTokenizer)
        postProcessor = try c.decodeIfPresent(PostProcessorJSON.self, forKey: .postProcessor)
        model = try c.decode(ModelJSON.self, forKey: .model)
        padding = try c.decodeIfPresent(PaddingJSON.self, forKey: .padding)
        truncation = try c.decodeIfPresent(TruncationJSON.self, forKey: .truncation)
    }
}

struct AddedTokenJSON: Decodable {
    var id: Int
    var content: String
    var singleWord: Bool?
    var lstrip: Bool?
    var rstrip: Bool?
    var normalized: Bool?
    var special: Bool?

    enum CodingKeys: String, CodingKey {
        case id, content, lstrip, rstrip, normalized, special
        case singleWord = "single_word"
    }

    var token: AddedToken {
        AddedToken(id: id, content: content, special: special ?? false, lstrip: lstrip ?? false,
                   rstrip: rstrip ?? false, singleWord: singleWord ?? false, normalized: normalized ?? false)
    }
}

/// `{"String": "..."}` or `{"Regex": "..."}`.
struct PatternJSON: Decodable {
    var string: String?
    var regex: String?

    enum CodingKeys: String, CodingKey {
        case string = "String", regex = "Regex"
    }
}

private struct TypeOnly: Decodable {
    var type: String
}

indirect enum NormalizerJSON: Decodable {
    case supported(TextNormalizer)
    case unsupported(String)

    private enum Keys: String, CodingKey {
        case type, normalizers, pattern, content
        case stripLeft = "strip_left", stripRight = "strip_right", left, right
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "NFC": self = .supported(.nfc)
        case "NFD": self = .supported(.nfd)
        case "NFKC": self = .supported(.nfkc)
        case "NFKD": self = .supported(.nfkd)
        case "Lowercase": self = .supported(.lowercase)
        case "Strip":
            let left = try c.decodeIfPresent(Bool.self, forKey: .stripLeft) ?? c.decodeIfPresent(Bool.self, forKey: .left) ?? true
            let right = try c.decodeIfPresent(Bool.self, forKey: .stripRight) ?? c.decodeIfPresent(Bool.self, forKey: .right) ?? true
            self = .supported(.strip(left: left, right: right))
        case "Replace":
            let pattern = try c.decode(PatternJSON.self, forKey: .pattern)
            let content = try c.decode(String.self, forKey: .content)
            if let literal = pattern.string {
                self = .supported(.replaceLiteral(pattern: literal, with: content))
            } else if pattern.regex == #"\s+"# {
                self = .supported(.replaceWhitespaceRuns(with: content))
            } else {
                self = .unsupported("Replace with regex \(pattern.regex ?? "?")")
            }
        case "Sequence":
            let parts = try c.decode([NormalizerJSON].self, forKey: .normalizers)
            var steps: [TextNormalizer] = []
            for part in parts {
                switch part {
                case .supported(let n): steps.append(n)
                case .unsupported(let what): self = .unsupported(what); return
                }
            }
            self = .supported(.sequence(steps))
        default:
            self = .unsupported("normalizer \(type)")
        }
    }
}

indirect enum PreTokenizerJSON: Decodable {
    case supported(PreTokenizer)
    case unsupported(String)

    private enum Keys: String, CodingKey {
        case type, pretokenizers, pattern, behavior, invert
        case addPrefixSpace = "add_prefix_space", useRegex = "use_regex"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "Whitespace": self = .supported(.whitespace)
        case "WhitespaceSplit": self = .supported(.whitespaceSplit)
        case "Punctuation":
            let behavior = try c.decodeIfPresent(String.self, forKey: .behavior) ?? "Isolated"
            self = behavior == "Isolated" ? .supported(.punctuationIsolated)
                : .unsupported("Punctuation with behavior \(behavior)")
        case "ByteLevel":
            let prefix = try c.decodeIfPresent(Bool.self, forKey: .addPrefixSpace) ?? true
            let regex = try c.decodeIfPresent(Bool.self, forKey: .useRegex) ?? true
            self = .supported(.byteLevel(addPrefixSpace: prefix, useRegex: regex))
        case "Split":
            let pattern = try c.decode(PatternJSON.self, forKey: .pattern)
            let behavior = try c.decodeIfPresent(String.self, forKey: .behavior) ?? ""
            let invert = try c.decodeIfPresent(Bool.self, forKey: .invert) ?? false
            if pattern.regex == PreTokenizer.clipPattern && behavior == "Removed" && invert {
                self = .supported(.clipSplit)
            } else {
                self = .unsupported("Split with pattern \(pattern.regex ?? pattern.string ?? "?"), behavior \(behavior), invert \(invert)")
            }
        case "Sequence":
            let parts = try c.decode([PreTokenizerJSON].self, forKey: .pretokenizers)
            var steps: [PreTokenizer] = []
            for part in parts {
                switch part {
                case .supported(let p): steps.append(p)
                case .unsupported(let what): self = .unsupported(what); return
                }
            }
            self = .supported(.sequence(steps))
        default:
            self = .unsupported("pre_tokenizer \(type)")
        }
    }
}

/// `["<|startoftext|>", 49406]` in RobertaProcessing / BertProcessing.
private struct TokenAndId: Decodable {
    var token: String
    var id: Int

    init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        token = try c.decode(String.self)
        id = try c.decode(Int.self)
    }
}

/// Only what is needed to find BOS/EOS when tokenizer_config.json names none.
struct PostProcessorJSON: Decodable {
    var bos: String?
    var eos: String?

    private enum Keys: String, CodingKey {
        case type, cls, sep, single, processors
    }

    private struct TemplateItem: Decodable {
        struct Special: Decodable { var id: String }
        var specialToken: Special?
        var sequence: [String: String]?

        enum CodingKeys: String, CodingKey {
            case specialToken = "SpecialToken"
            case sequence = "Sequence"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            specialToken = try c.decodeIfPresent(Special.self, forKey: .specialToken)
            sequence = c.contains(.sequence) ? [:] : nil
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = (try? c.decode(String.self, forKey: .type)) ?? ""
        switch type {
        case "RobertaProcessing", "BertProcessing":
            bos = try? c.decode(TokenAndId.self, forKey: .cls).token
            eos = try? c.decode(TokenAndId.self, forKey: .sep).token
        case "TemplateProcessing":
            let items = (try? c.decode([TemplateItem].self, forKey: .single)) ?? []
            if let seq = items.firstIndex(where: { $0.sequence != nil }) {
                bos = items[..<seq].last?.specialToken?.id
                eos = items[(seq + 1)...].first?.specialToken?.id
            }
        case "Sequence":
            let parts = (try? c.decode([PostProcessorJSON].self, forKey: .processors)) ?? []
            bos = parts.compactMap(\.bos).first
            eos = parts.compactMap(\.eos).first
        default:
            bos = nil
            eos = nil
        }
    }
}

struct PaddingJSON: Decodable {
    var padToken: String?
    enum CodingKeys: String, CodingKey { case padToken = "pad_token" }
}

struct TruncationJSON: Decodable {
    var maxLength: Int?
    enum CodingKeys: String, CodingKey { case maxLength = "max_length" }
}

/// Merges are written either as "a b" strings or as ["a", "b"] pairs.
private struct MergeJSON: Decodable {
    var pair: (String, String)?

    init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            pair = parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            return
        }
        var c = try decoder.unkeyedContainer()
        let a = try c.decode(String.self)
        let b = try c.decode(String.self)
        pair = (a, b)
    }
}

enum ModelJSON: Decodable {
    case bpe(vocab: [String: Int], merges: [(String, String)], unkToken: String?, prefix: String, suffix: String,
             fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool)
    case wordLevel(vocab: [String: Int], unkToken: String?)
    case unsupported(String)

    private enum Keys: String, CodingKey {
        case type, vocab, merges, dropout
        case unkToken = "unk_token", prefix = "continuing_subword_prefix", suffix = "end_of_word_suffix"
        case fuseUnk = "fuse_unk", byteFallback = "byte_fallback", ignoreMerges = "ignore_merges"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .type) ?? (c.contains(.merges) ? "BPE" : "")
        switch type {
        case "BPE":
            if let dropout = try c.decodeIfPresent(Double.self, forKey: .dropout), dropout > 0 {
                self = .unsupported("BPE dropout \(dropout)")
                return
            }
            let raw = try c.decode([MergeJSON].self, forKey: .merges)
            var merges: [(String, String)] = []
            merges.reserveCapacity(raw.count)
            for (i, m) in raw.enumerated() {
                guard let pair = m.pair else {
                    throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath + [Keys.merges],
                                                            debugDescription: "merge \(i + 1) is not a pair of tokens"))
                }
                merges.append(pair)
            }
            self = .bpe(vocab: try c.decode([String: Int].self, forKey: .vocab), merges: merges,
                        unkToken: try c.decodeIfPresent(String.self, forKey: .unkToken),
                        prefix: try c.decodeIfPresent(String.self, forKey: .prefix) ?? "",
                        suffix: try c.decodeIfPresent(String.self, forKey: .suffix) ?? "",
                        fuseUnk: try c.decodeIfPresent(Bool.self, forKey: .fuseUnk) ?? false,
                        byteFallback: try c.decodeIfPresent(Bool.self, forKey: .byteFallback) ?? false,
                        ignoreMerges: try c.decodeIfPresent(Bool.self, forKey: .ignoreMerges) ?? false)
        case "WordLevel":
            self = .wordLevel(vocab: try c.decode([String: Int].self, forKey: .vocab),
                              unkToken: try c.decodeIfPresent(String.self, forKey: .unkToken))
        default:
            self = .unsupported("model \(type.isEmpty ? "(no type)" : type)")
        }
    }
}
