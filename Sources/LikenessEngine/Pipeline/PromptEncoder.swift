// Matches Training/likeness_train/models.py encode_prompts / slot_ids (docs/FORMAT.md, "The
// placeholder"): the prompt is split at the placeholder (a whole whitespace-separated word, at
// most once), each part is tokenized without special tokens, and K slots go between them:
//   BOS, ids(before), slot_1..slot_K, ids(after), EOS, pad...   (text encoder max length)
// input_embedding: the slots' input embeddings are the object tokens; hidden_state: the slots'
// inputs are slot_embedding and their output states are replaced by the object tokens.
// Without a placeholder this is exactly diffusers' prompt encoding
// (tokenizer(padding="max_length", truncation=True) → text_encoder(ids).last_hidden_state).
// Words are split on whitespace as Python's str.split() does, then re-joined with single spaces.

import Foundation

/// Problems with a prompt, each naming what to change.
public enum PromptError: Error, CustomStringConvertible, Equatable {
    case placeholderTwice(placeholder: String, count: Int)
    case placeholderWithoutObject(placeholder: String)
    case objectWithoutPlaceholder(placeholder: String)
    case tooLong(tokens: Int, limit: Int)
    case textBeforePlaceholderTooLong(tokens: Int, limit: Int)
    case unknownWords([String])

    public var description: String {
        switch self {
        case .placeholderTwice(let p, let n):
            return "the placeholder \(p) may appear once in a prompt, found \(n) times"
        case .placeholderWithoutObject(let p):
            return "the prompt uses \(p) but no object was given (pass a reference image, or remove \(p))"
        case .objectWithoutPlaceholder(let p):
            return "an object was given but the prompt has no \(p); write where the object goes, e.g. \"a \(p) on the beach\""
        case .tooLong(let n, let limit):
            return "the prompt is \(n) tokens long, the text encoder takes at most \(limit); shorten it or allow truncation (likeness generate --truncate)"
        case .textBeforePlaceholderTooLong(let n, let limit):
            return "the text before the placeholder is \(n) tokens long, at most \(limit) fit before the object tokens"
        case .unknownWords(let words):
            return "unknown word\(words.count == 1 ? "" : "s") for this model's vocabulary: \(words.map { "'\($0)'" }.joined(separator: ", ")); rephrase, or map them to the unknown token (likeness generate --allow-unknown-words)"
        }
    }
}

/// Where the object tokens go in an encoded prompt.
public struct PromptSlots: Equatable, Sendable {
    /// Ids of the whole row, with -1 at the slots.
    public var ids: [Int]
    /// Index of the first slot, or nil when the prompt has no placeholder.
    public var slotStart: Int?
    public var slotCount: Int
    /// Tokens cut from the end of the prompt (only when truncation is allowed).
    public var droppedTokens: Int
    public var unknownWords: [String]
}

public struct PromptEncoder {
    public let tokenizer: TextTokenizer
    public let textEncoder: CLIPTextModel
    public let placeholder: String
    public let injection: Injection
    /// [K, D] for hidden_state injection.
    public let slotEmbedding: Tensor?
    /// diffusers clip_skip (0: last layer).
    public var clipSkip: Int = 0

    public init(tokenizer: TextTokenizer, textEncoder: CLIPTextModel, placeholder: String = "<obj>",
                injection: Injection = .inputEmbedding, slotEmbedding: Tensor? = nil) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.placeholder = placeholder
        self.injection = injection
        self.slotEmbedding = slotEmbedding
    }

    public var maxLength: Int { min(tokenizer.modelMaxLength, textEncoder.config.max_position_embeddings) }

    /// Ranges of the placeholder where it stands as a word of its own: the characters around it
    /// are not letters, digits or "_" (`<obj>,` and `(<obj>)` match, `x<obj>` does not).
    /// Matches models.py placeholder_spans.
    public static func placeholderRanges(in prompt: String, placeholder: String) -> [Range<String.Index>] {
        guard !placeholder.isEmpty else { return [] }
        func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        var out: [Range<String.Index>] = []
        var from = prompt.startIndex
        while from < prompt.endIndex, let r = prompt.range(of: placeholder, range: from..<prompt.endIndex) {
            let okBefore = r.lowerBound == prompt.startIndex || !isWordChar(prompt[prompt.index(before: r.lowerBound)])
            let okAfter = r.upperBound == prompt.endIndex || !isWordChar(prompt[r.upperBound])
            if okBefore && okAfter {
                out.append(r)
                from = r.upperBound
            } else {
                from = prompt.index(after: r.lowerBound)
            }
        }
        return out
    }

    /// The text before and after the placeholder (whitespace runs made single spaces), or nil
    /// when the prompt has none.
    public func split(_ prompt: String) throws -> (before: String, after: String)? {
        let hits = Self.placeholderRanges(in: prompt, placeholder: placeholder)
        if hits.isEmpty { return nil }
        guard hits.count == 1, let r = hits.first else {
            throw PromptError.placeholderTwice(placeholder: placeholder, count: hits.count)
        }
        func words(_ s: Substring) -> String { s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") }
        return (words(prompt[..<r.lowerBound]), words(prompt[r.upperBound...]))
    }

    /// The prompt with each standalone placeholder replaced by `word` (identity guidance's
    /// e_text row). Matches models.py replace_placeholder.
    public func replacingPlaceholder(in prompt: String, with word: String) -> String {
        var out = prompt
        for r in Self.placeholderRanges(in: prompt, placeholder: placeholder).reversed() {
            out.replaceSubrange(r, with: word)
        }
        return out
    }

    /// Token ids with K slots at the placeholder (K = 0 or no placeholder: a plain prompt row).
    public func slots(for prompt: String, slotCount k: Int, allowTruncation: Bool) throws -> PromptSlots {
        let n = maxLength
        let (bos, eos, pad) = (tokenizer.bosId, tokenizer.eosId, tokenizer.padId)
        guard k > 0, let parts = try split(prompt) else {
            let t = try tokenizer.tokenizeDetailed(prompt)
            var content = t.ids
            let dropped = max(0, content.count - (n - 2))
            if dropped > 0 && !allowTruncation { throw PromptError.tooLong(tokens: content.count + 2, limit: n) }
            content = Array(content.prefix(n - 2))
            let row = [bos] + content + [eos]
            return PromptSlots(ids: row + Array(repeating: pad, count: n - row.count), slotStart: nil, slotCount: 0,
                               droppedTokens: dropped, unknownWords: t.unknownWords)
        }
        let before = parts.before.isEmpty ? TokenizedFragment(ids: []) : try tokenizer.tokenizeDetailed(parts.before)
        let after = parts.after.isEmpty ? TokenizedFragment(ids: []) : try tokenizer.tokenizeDetailed(parts.after)
        let room = n - 2 - k
        guard before.ids.count <= room else {
            throw PromptError.textBeforePlaceholderTooLong(tokens: before.ids.count, limit: max(0, room))
        }
        let dropped = max(0, before.ids.count + after.ids.count - room)
        if dropped > 0 && !allowTruncation {
            throw PromptError.tooLong(tokens: before.ids.count + after.ids.count + k + 2, limit: n)
        }
        let kept = Array(after.ids.prefix(room - before.ids.count))
        let row = [bos] + before.ids + Array(repeating: -1, count: k) + kept + [eos]
        return PromptSlots(ids: row + Array(repeating: pad, count: n - row.count), slotStart: 1 + before.ids.count,
                           slotCount: k, droppedTokens: dropped, unknownWords: before.unknownWords + after.unknownWords)
    }

    /// Conditioning [1, L, D] for `prompt`, with `objectTokens` [1, K, D] at the placeholder.
    public func encode(_ prompt: String, objectTokens: Tensor?, allowTruncation: Bool = false) throws -> (states: Tensor, slots: PromptSlots) {
        if let tokens = objectTokens {
            // [1, K, D]; with hidden_state injection K is slot_embedding's row count.
            let d = textEncoder.config.hidden_size
            let slotRows = injection == .hiddenState ? slotEmbedding?.shape.first : nil
            guard tokens.rank == 3, tokens.shape[0] == 1, tokens.shape[1] > 0, tokens.shape[2] == d,
                  slotRows == nil || tokens.shape[1] == slotRows else {
                throw ModelInputError.badShape(what: "object tokens", shape: tokens.shape,
                                               expected: "[1, \(slotRows.map(String.init) ?? "K"), \(d)]")
            }
        }
        let k = objectTokens?.shape[1] ?? 0
        if objectTokens == nil, try split(prompt) != nil {
            throw PromptError.placeholderWithoutObject(placeholder: placeholder)
        }
        let s = try slots(for: prompt, slotCount: k, allowTruncation: allowTruncation)
        var emb = try textEncoder.tokenEmbeddings(ids: [s.ids.map { max($0, 0) }]) // [1, L, D]
        if let start = s.slotStart, let tokens = objectTokens {
            let fill = injection == .inputEmbedding ? tokens : (slotEmbedding ?? tokens)
            put(fill, into: &emb, at: start, count: k)
        }
        var states = try textEncoder(inputEmbeddings: emb, clipSkip: clipSkip) // [1, L, D]
        if injection == .hiddenState, let start = s.slotStart, let tokens = objectTokens {
            put(tokens, into: &states, at: start, count: k)
        }
        return (states, s)
    }

    /// Copies rows of `fill` ([K, D] or [1, K, D]) into `x` [1, L, D] at positions start..<start+count.
    private func put(_ fill: Tensor, into x: inout Tensor, at start: Int, count: Int) {
        let d = x.shape[2]
        fill.withUnsafeBufferPointer { f in
            x.withUnsafeMutableBufferPointer { p in
                for i in 0..<(count * d) { p[start * d + i] = f[i] }
            }
        }
    }
}
