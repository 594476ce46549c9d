// Matches the `tokenizers` WordLevel model: each pre-tokenized word is looked up whole; a word
// that is not in the vocabulary becomes `unk_token` (and is reported to the caller).
// Limits: none beyond requiring unk_token to be in the vocabulary when one is named.

/// Whole-word vocabulary lookup.
public struct WordLevelModel: Sendable {
    /// Vocabulary keyed by the word's UTF-8 bytes (exact scalars, no canonical equivalence).
    let vocab: [[UInt8]: Int]
    let unkId: Int?

    public init(vocab: [String: Int], unkToken: String?, source: String) throws {
        var v: [[UInt8]: Int] = [:]
        v.reserveCapacity(vocab.count)
        for (word, id) in vocab { v[Array(word.utf8)] = id }
        self.vocab = v
        if let unk = unkToken {
            guard let id = v[Array(unk.utf8)] else {
                throw TokenizerError.tokenNotInVocabulary(token: unk, path: source)
            }
            unkId = id
        } else {
            unkId = nil
        }
    }

    func tokenize(_ word: [Unicode.Scalar], unknown: inout Bool) throws -> [Int] {
        let text = PreTokenizer.string(word)
        if let id = vocab[Array(text.utf8)] { return [id] }
        guard let unkId else { throw TokenizerError.unknownSymbolWithoutUnk(symbol: text) }
        unknown = true
        return [unkId]
    }
}
