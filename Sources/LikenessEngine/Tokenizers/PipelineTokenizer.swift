// Matches `tokenizers.Tokenizer.encode(text, add_special_tokens=False)` for the supported
// components: added-token split → normalizer → pre-tokenizer → model (BPE or WordLevel).
// This is also what transformers 5 `CLIPTokenizer` / `CLIPTokenizerFast` run, so the CLIP
// vocab.json + merges.txt loader builds this same pipeline (see TokenizerLoading.swift).
// Limits: see the component files; post-processors are not interpreted (encode() always
// writes BOS ... EOS).

/// The tokenizer model behind a pipeline.
public enum TokenModel: Sendable {
    case bpe(BPEModel)
    case wordLevel(WordLevelModel)
}

/// A tokenizer assembled from tokenizer.json (or CLIP's vocab.json + merges.txt).
public final class PipelineTokenizer: TextTokenizer, @unchecked Sendable {
    public let bosId: Int
    public let eosId: Int
    public let padId: Int
    public let modelMaxLength: Int
    public let normalizer: TextNormalizer?
    public let preTokenizer: PreTokenizer?
    public let model: TokenModel
    public let addedTokens: [AddedToken]

    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher

    public init(model: TokenModel, normalizer: TextNormalizer?, preTokenizer: PreTokenizer?,
                addedTokens: [AddedToken], bosId: Int, eosId: Int, padId: Int, modelMaxLength: Int) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.addedTokens = addedTokens
        self.bosId = bosId
        self.eosId = eosId
        self.padId = padId
        self.modelMaxLength = modelMaxLength
        rawMatcher = AddedTokenMatcher(tokens: addedTokens.filter { !$0.normalized }, normalize: nil)
        normalizedMatcher = AddedTokenMatcher(tokens: addedTokens.filter { $0.normalized },
                                              normalize: normalizer.map { n in { n.apply($0) } })
    }

    public func tokenizeDetailed(_ fragment: String) throws -> TokenizedFragment {
        var ids: [Int] = []
        var unknownWords: [String] = []
        for rawPiece in rawMatcher.split(Array(fragment.unicodeScalars)) {
            switch rawPiece {
            case .token(let id):
                ids.append(id)
            case .text(let text):
                let normalized = normalizer.map { Array($0.apply(PreTokenizer.string(text)).unicodeScalars) } ?? text
                for piece in normalizedMatcher.split(normalized) {
                    switch piece {
                    case .token(let id):
                        ids.append(id)
                    case .text(let rest):
                        let words = preTokenizer.map { $0.split([rest]) } ?? [rest]
                        for word in words where !word.isEmpty {
                            var unknown = false
                            switch model {
                            case .bpe(let bpe): ids += try bpe.tokenize(word, unknown: &unknown)
                            case .wordLevel(let wl): ids += try wl.tokenize(word, unknown: &unknown)
                            }
                            if unknown { unknownWords.append(PreTokenizer.string(word)) }
                        }
                    }
                }
            }
        }
        return TokenizedFragment(ids: ids, unknownWords: unknownWords)
    }
}
