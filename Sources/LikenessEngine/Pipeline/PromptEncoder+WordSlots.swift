// Word slots (docs/FORMAT.md, "Word slots"): matches Training/likeness_train/models.py
// word_slot_edits / apply_word_slots. An object encoder trained with its tokens aligned to the words
// of the reference's description records which token stands for which attribute; a property word in
// the run of words right before the placeholder ("a small red striped <obj>") sets its slot to that
// word's input embedding, scaled to the norm of the token it replaces, so the prompt's colour or
// pattern replaces the reference's instead of competing with it.

import Foundation

extension PromptEncoder {
    /// (slot, word) for each known property word in the run right before the placeholder, nearest
    /// the placeholder first; the run ends at the first other word, and a slot is set once.
    /// Words match case-insensitively. Empty without a placeholder or slots.
    public func wordSlotEdits(in prompt: String, slots: [WordSlot]) throws -> [(slot: Int, word: String)] {
        guard !slots.isEmpty, let parts = try split(prompt) else { return [] }
        var known: [String: (Int, String)] = [:]
        for entry in slots {
            for (w, tokenWord) in entry.words { known[w.lowercased()] = (entry.slot, tokenWord) }
        }
        var out: [(slot: Int, word: String)] = []
        var used = Set<Int>()
        for w in parts.before.split(separator: " ").reversed() {
            guard let (slot, word) = known[w.lowercased()] else { break }
            if used.insert(slot).inserted { out.append((slot, word)) }
        }
        return out
    }

    /// `tokens` [1, K, D] with each edited slot set to its word's input embedding at the norm of
    /// the token it replaces. Input-embedding injection only (the loader refuses other slots).
    public func applyingWordSlots(_ edits: [(slot: Int, word: String)], to tokens: Tensor) throws -> Tensor {
        guard !edits.isEmpty, injection == .inputEmbedding else { return tokens }
        let d = tokens.shape[2]
        var out = tokens
        for (slot, word) in edits {
            let ids = try tokenizer.tokenize(word)
            guard ids.count == 1, slot < tokens.shape[1] else {
                throw ModelInputError.badShape(what: "word slot \(slot) word '\(word)'", shape: [ids.count],
                                               expected: "one token of this tokenizer, slot < \(tokens.shape[1])")
            }
            let v = try textEncoder.tokenEmbeddings(ids: [ids]) // [1, 1, D]
            v.withUnsafeBufferPointer { e in
                out.withUnsafeMutableBufferPointer { p in
                    let base = slot * d
                    var tokenNorm: Float = 0, wordNorm: Float = 0
                    for i in 0..<d {
                        tokenNorm += p[base + i] * p[base + i]
                        wordNorm += e[i] * e[i]
                    }
                    let scale = wordNorm > 0 ? tokenNorm.squareRoot() / wordNorm.squareRoot() : 0
                    for i in 0..<d { p[base + i] = e[i] * scale }
                }
            }
        }
        return out
    }
}
