// Matches the `tokenizers` BPE model (models/bpe/model.rs) as CLIP configures it: a word's
// characters become symbols (the last one with `end_of_word_suffix`, the others with
// `continuing_subword_prefix`), then the adjacent pair with the lowest merge rank (leftmost on
// ties) is merged until no ranked pair is left. Also `ignore_merges`, `unk_token` with
// `fuse_unk`, and `byte_fallback`. Results are cached per word. Same ids as the original CLIP
// tokenizer's bpe() for valid merge lists. Limits: dropout must be null.

import Foundation

/// Byte-pair-encoding model with a merge table.
public final class BPEModel: @unchecked Sendable {
    /// Vocabulary keyed by the token's UTF-8 bytes (exact scalars, no canonical equivalence).
    let vocab: [[UInt8]: Int]
    private let merges: [PairKey: (rank: Int, id: Int)]
    let unkId: Int?
    private let fuseUnk: Bool
    private let byteFallback: Bool
    private let ignoreMerges: Bool
    private let prefix: [Unicode.Scalar]
    private let suffix: [Unicode.Scalar]

    private let lock = NSLock()
    private var cache: [[Unicode.Scalar]: [Int]] = [:]
    private static let cacheCapacity = 10_000

    struct PairKey: Hashable {
        let left: Int
        let right: Int
    }

    /// - Parameters:
    ///   - vocab: token → id.
    ///   - merges: ranked pairs of token strings (rank = position).
    ///   - source: file name used in error messages.
    public init(vocab: [String: Int], merges: [(String, String)], unkToken: String?,
                continuingSubwordPrefix: String = "", endOfWordSuffix: String = "",
                fuseUnk: Bool = false, byteFallback: Bool = false, ignoreMerges: Bool = false,
                source: String) throws {
        var v: [[UInt8]: Int] = [:]
        v.reserveCapacity(vocab.count)
        for (token, id) in vocab { v[Array(token.utf8)] = id }
        self.vocab = v
        prefix = Array(continuingSubwordPrefix.unicodeScalars)
        suffix = Array(endOfWordSuffix.unicodeScalars)
        var m: [PairKey: (rank: Int, id: Int)] = [:]
        m.reserveCapacity(merges.count)
        let prefixLength = continuingSubwordPrefix.utf8.count
        for (rank, pair) in merges.enumerated() {
            guard let a = v[Array(pair.0.utf8)], let b = v[Array(pair.1.utf8)] else {
                throw TokenizerError.invalidFile(path: source, reason: "merge \(rank + 1) \"\(pair.0) \(pair.1)\" uses a token that is not in the vocabulary")
            }
            let rightBytes = Array(pair.1.utf8)
            let joined = Array(pair.0.utf8) + (rightBytes.starts(with: Array(continuingSubwordPrefix.utf8)) ? Array(rightBytes.dropFirst(prefixLength)) : rightBytes)
            guard let id = v[joined] else {
                throw TokenizerError.invalidFile(path: source, reason: "merge \(rank + 1) \"\(pair.0) \(pair.1)\" makes a token that is not in the vocabulary")
            }
            m[PairKey(left: a, right: b)] = (rank, id)  // a repeated merge keeps its last rank, as in tokenizers
        }
        self.merges = m
        if let unk = unkToken {
            guard let id = v[Array(unk.utf8)] else {
                throw TokenizerError.tokenNotInVocabulary(token: unk, path: source)
            }
            unkId = id
        } else {
            unkId = nil
        }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
    }

    /// Ids for one pre-tokenized word; `unknown` is set when a character had no entry.
    func tokenize(_ word: [Unicode.Scalar], unknown: inout Bool) throws -> [Int] {
        if word.isEmpty { return [] }
        lock.lock()
        let hit = cache[word]
        lock.unlock()
        if let hit {
            if let unkId, hit.contains(unkId) { unknown = true }
            return hit
        }
        if ignoreMerges, let id = vocab[Array(PreTokenizer.string(word).utf8)] {
            return [id]
        }
        var symbols: [Int] = []
        symbols.reserveCapacity(word.count)
        var lastWasUnk = false
        for (index, scalar) in word.enumerated() {
            var piece: [Unicode.Scalar] = []
            if index > 0 { piece += prefix }
            piece.append(scalar)
            if index == word.count - 1 { piece += suffix }
            let bytes = Array(PreTokenizer.string(piece).utf8)
            if let id = vocab[bytes] {
                symbols.append(id)
                lastWasUnk = false
                continue
            }
            if byteFallback {
                let byteIds = Array(String(scalar).utf8).compactMap { vocab[Array(String(format: "<0x%02X>", $0).utf8)] }
                if byteIds.count == String(scalar).utf8.count {
                    symbols += byteIds
                    lastWasUnk = false
                    continue
                }
            }
            guard let unkId else {
                throw TokenizerError.unknownSymbolWithoutUnk(symbol: String(scalar))
            }
            unknown = true
            if fuseUnk && lastWasUnk { continue }
            symbols.append(unkId)
            lastWasUnk = true
        }
        mergeAll(&symbols)
        lock.lock()
        if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
        cache[word] = symbols
        lock.unlock()
        return symbols
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties).
    private func mergeAll(_ symbols: inout [Int]) {
        while symbols.count > 1 {
            var bestRank = Int.max
            var bestIndex = -1
            var bestId = 0
            for i in 0..<(symbols.count - 1) {
                if let m = merges[PairKey(left: symbols[i], right: symbols[i + 1])], m.rank < bestRank {
                    bestRank = m.rank
                    bestIndex = i
                    bestId = m.id
                }
            }
            if bestIndex < 0 { return }
            symbols[bestIndex] = bestId
            symbols.remove(at: bestIndex + 1)
        }
    }
}
