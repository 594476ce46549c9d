// The tokenizer contract the prompt encoder uses. `encode` matches transformers
// `tokenizer(prompt, padding="max_length", max_length=N, truncation=True).input_ids` for a
// single prompt whose post-processor is "BOS $A EOS" (CLIP's RobertaProcessing, the Toybox
// TemplateProcessing): content ids are cut to N - 2 from the end, then BOS/EOS are added and
// the row is right-padded with the pad id. Limits: no pair sequences, no left padding.

/// Ids for one prompt fragment, plus the words that had no vocabulary entry (mapped to unk).
public struct TokenizedFragment: Equatable, Sendable {
    public var ids: [Int]
    /// Normalized words that were not in the vocabulary, in order of appearance (repeats kept).
    public var unknownWords: [String]

    public init(ids: [Int], unknownWords: [String] = []) {
        self.ids = ids
        self.unknownWords = unknownWords
    }
}

/// A prompt encoded to a fixed-length row: BOS, content ids, EOS, padding.
public struct EncodedPrompt: Equatable, Sendable {
    /// Exactly `maxLength` ids.
    public var ids: [Int]
    /// Content ids kept (without BOS/EOS/padding).
    public var contentCount: Int
    /// Content ids cut off because the prompt was longer than `maxLength - 2`.
    public var droppedCount: Int
    public var unknownWords: [String]

    public var wasTruncated: Bool { droppedCount > 0 }
}

/// Turns text into token ids for a CLIP-style text encoder.
public protocol TextTokenizer: Sendable {
    var bosId: Int { get }
    var eosId: Int { get }
    var padId: Int { get }
    /// Row length for `encode` (tokenizer_config.json `model_max_length`).
    var modelMaxLength: Int { get }
    /// Ids without special tokens for one fragment of a prompt, with the unknown words.
    func tokenizeDetailed(_ fragment: String) throws -> TokenizedFragment
}

extension TextTokenizer {
    /// Ids without special tokens for one fragment of a prompt.
    public func tokenize(_ fragment: String) throws -> [Int] {
        try tokenizeDetailed(fragment).ids
    }

    /// BOS + ids + EOS + padding up to `modelMaxLength`, truncating like transformers.
    public func encode(_ prompt: String) throws -> EncodedPrompt {
        try encode(prompt, maxLength: modelMaxLength)
    }

    /// BOS + ids + EOS + padding up to `maxLength`, truncating like transformers.
    public func encode(_ prompt: String, maxLength: Int) throws -> EncodedPrompt {
        guard maxLength >= 2 else {
            throw TokenizerError.invalidArgument("maxLength must be at least 2 (room for BOS and EOS), got \(maxLength)")
        }
        let fragment = try tokenizeDetailed(prompt)
        let room = maxLength - 2
        let kept = Array(fragment.ids.prefix(room))
        var ids = [bosId] + kept + [eosId]
        ids += [Int](repeating: padId, count: maxLength - ids.count)
        return EncodedPrompt(ids: ids, contentCount: kept.count, droppedCount: fragment.ids.count - kept.count,
                             unknownWords: fragment.unknownWords)
    }
}

/// Why a tokenizer could not be loaded or could not tokenize.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case noTokenizerFiles(folder: String)
    case missingFile(path: String, hint: String)
    case unreadableFile(path: String, reason: String)
    case invalidFile(path: String, reason: String)
    case unsupported(path: String, what: String)
    case missingSpecialToken(name: String, path: String)
    case tokenNotInVocabulary(token: String, path: String)
    case unknownSymbolWithoutUnk(symbol: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .noTokenizerFiles(let folder):
            return "no tokenizer in \(folder): expected tokenizer.json, or vocab.json + merges.txt"
        case .missingFile(let path, let hint):
            return "missing tokenizer file \(path): \(hint)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidFile(let path, let reason):
            return "corrupt tokenizer file \(path): \(reason)"
        case .unsupported(let path, let what):
            return "\(path): unsupported tokenizer feature: \(what)"
        case .missingSpecialToken(let name, let path):
            return "\(path): no \(name) is defined; add \"\(name)\" to tokenizer_config.json"
        case .tokenNotInVocabulary(let token, let path):
            return "\(path): special token \"\(token)\" is not in the vocabulary"
        case .unknownSymbolWithoutUnk(let symbol):
            return "\"\(symbol)\" is not in the vocabulary and the tokenizer has no unk_token"
        case .invalidArgument(let message):
            return message
        }
    }
}
