// Prompt encoding with A1111 emphasis and 75-token chunks (GenerationRequest.emphasis), written
// from A1111's documented behaviour:
//  - the prompt is parsed into weighted pieces (PromptEmphasis); each piece is tokenized on its
//    own, without special tokens, giving (token, weight) pairs;
//  - the tokens are cut into chunks of C = max length - 2 (75 for CLIP); BREAK closes a chunk;
//    each chunk is BOS + tokens + EOS, padded with the pad id to the max length, weights 1 on
//    BOS, EOS and padding, and goes through the text encoder on its own;
//  - per chunk, z = states * weight (per token) and then z *= mean(states) / mean(z), so the
//    chunk's mean is the unweighted one; the chunks are concatenated along the sequence;
//  - the placeholder (docs/FORMAT.md) is found inside a piece and its K slots take that piece's
//    weight; the K slots never straddle two chunks (the chunk is closed early instead).
//  - a full chunk whose last comma is at most 20 tokens from its end is cut after that comma and
//    the tokens after it start the next chunk (A1111's default "comma padding backtrack", 20).
// A prompt without emphasis syntax that fits one chunk encodes exactly as `encode` does.

import Foundation

/// What a weighted encoding used: the chunks' ids (-1 at the slots) and weights.
public struct WeightedPromptInfo: Equatable, Sendable {
    public var chunks: [[Int]]
    public var weights: [[Float]]
    public var unknownWords: [String]
    public var warnings: [String]
    /// Content tokens (slots included) over all chunks.
    public var tokenCount: Int
}

extension PromptEncoder {
    /// Most chunks a prompt may take (A1111 sets no limit; this bounds the work per prompt).
    public static let maxChunks = 16
    /// A1111's default comma padding backtrack, in tokens.
    public static let commaBacktrack = 20

    /// Tokens and weights of `prompt` in chunks, with K slots at the placeholder.
    public func weightedChunks(for prompt: String, slotCount k: Int) throws -> WeightedPromptInfo {
        let (pieces, warnings) = PromptEmphasis.parse(prompt)
        let chunkSize = maxLength - 2
        guard k <= chunkSize else { throw PromptError.tooLong(tokens: k + 2, limit: maxLength) }
        var chunks: [[Int]] = [], weights: [[Float]] = []
        var ids: [Int] = [], ws: [Float] = []
        var unknown: [String] = []
        var placeholders = 0
        let comma = (try? tokenizer.tokenize(","))?.first
        var lastComma = -1
        func close() {
            chunks.append(ids); weights.append(ws)
            ids = []; ws = []
            lastComma = -1
        }
        func add(_ tokens: [Int], weight: Float, group: Bool) {
            if group, ids.count + tokens.count > chunkSize { close() }
            for t in tokens {
                if ids.count == chunkSize {
                    if lastComma >= 0, chunkSize - lastComma <= Self.commaBacktrack {
                        // Cut after the comma; the words after it start the next chunk.
                        let cut = lastComma + 1
                        let movedIDs = Array(ids[cut...]), movedWeights = Array(ws[cut...])
                        ids.removeSubrange(cut...); ws.removeSubrange(cut...)
                        close()
                        ids = movedIDs; ws = movedWeights
                    } else {
                        close()
                    }
                }
                if t == comma { lastComma = ids.count }
                ids.append(t); ws.append(weight)
            }
        }
        func tokenize(_ text: String, weight: Float) throws {
            guard !text.isEmpty else { return }
            let t = try tokenizer.tokenizeDetailed(text)
            unknown += t.unknownWords
            add(t.ids, weight: weight, group: false)
        }
        for piece in pieces {
            switch piece {
            case .chunkBreak:
                close()
            case let .text(text, weight):
                let hits = k > 0 ? Self.placeholderRanges(in: text, placeholder: placeholder) : []
                placeholders += hits.count
                guard placeholders <= 1 else { throw PromptError.placeholderTwice(placeholder: placeholder, count: placeholders) }
                if let r = hits.first {
                    func words(_ s: Substring) -> String { s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") }
                    try tokenize(words(text[..<r.lowerBound]), weight: weight)
                    add(Array(repeating: -1, count: k), weight: weight, group: true)
                    try tokenize(words(text[r.upperBound...]), weight: weight)
                } else {
                    try tokenize(text, weight: weight)
                }
            }
        }
        if !ids.isEmpty || chunks.isEmpty { close() }
        guard chunks.count <= Self.maxChunks else {
            throw PromptError.tooLong(tokens: chunks.reduce(0) { $0 + $1.count } + 2 * chunks.count, limit: Self.maxChunks * maxLength)
        }
        return WeightedPromptInfo(chunks: chunks, weights: weights, unknownWords: unknown, warnings: warnings,
                                  tokenCount: chunks.reduce(0) { $0 + $1.count })
    }

    /// Conditioning [1, L x chunks, D] for `prompt` with A1111 emphasis, `objectTokens` [1, K, D] at the placeholder.
    public func encodeWeighted(_ prompt: String, objectTokens: Tensor?) throws -> (states: Tensor, info: WeightedPromptInfo) {
        let k = objectTokens?.shape[1] ?? 0
        let info = try weightedChunks(for: prompt, slotCount: k)
        let n = maxLength, d = textEncoder.config.hidden_size
        let (bos, eos, pad) = (tokenizer.bosId, tokenizer.eosId, tokenizer.padId)
        var storage: [Float] = []
        storage.reserveCapacity(info.chunks.count * n * d)
        for (chunk, weights) in zip(info.chunks, info.weights) {
            let row = [bos] + chunk + [eos]
            let ids = row + Array(repeating: pad, count: n - row.count)
            let rowWeights: [Float] = [1] + weights + Array(repeating: 1, count: n - 1 - weights.count)
            var emb = try textEncoder.tokenEmbeddings(ids: [ids.map { max($0, 0) }]) // [1, L, D]
            let slotStart = chunk.firstIndex(of: -1).map { $0 + 1 }
            if let start = slotStart, let tokens = objectTokens {
                let fill = injection == .inputEmbedding ? tokens : (slotEmbedding ?? tokens)
                fill.withUnsafeBufferPointer { f in
                    emb.withUnsafeMutableBufferPointer { p in for i in 0..<(k * d) { p[start * d + i] = f[i] } }
                }
            }
            var states = try textEncoder(inputEmbeddings: emb, clipSkip: clipSkip) // [1, L, D]
            if injection == .hiddenState, let start = slotStart, let tokens = objectTokens {
                tokens.withUnsafeBufferPointer { f in
                    states.withUnsafeMutableBufferPointer { p in for i in 0..<(k * d) { p[start * d + i] = f[i] } }
                }
            }
            if rowWeights.contains(where: { $0 != 1 }) {
                states.withUnsafeMutableBufferPointer { p in
                    var before = 0.0
                    for v in p { before += Double(v) }
                    var after = 0.0
                    for t in 0..<n {
                        let w = rowWeights[t]
                        for j in 0..<d { p[t * d + j] *= w; after += Double(p[t * d + j]) }
                    }
                    // mean(z) / mean(z * w): the counts cancel.
                    let scale = Float(before / after)
                    if scale.isFinite { for i in 0..<p.count { p[i] *= scale } }
                }
            }
            storage += states.storage
        }
        return (Tensor(uncheckedShape: [1, info.chunks.count * n, d], storage: storage), info)
    }
}
