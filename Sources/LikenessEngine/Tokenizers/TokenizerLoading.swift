// Loads a `tokenizer/` folder the way transformers 5 `AutoTokenizer.from_pretrained` does for the
// cases Likeness supports, picking by the files present:
//  - tokenizer.json (BPE or WordLevel model) — preferred when present, as in transformers;
//  - vocab.json + merges.txt: CLIP BPE, assembled exactly as transformers' CLIPTokenizer builds
//    it (normalizer NFC → Replace(\s+, " ") → Lowercase; pre-tokenizer CLIP Split → ByteLevel;
//    BPE with end_of_word_suffix "</w>"), so it gives the ids of CLIPTokenizer/CLIPTokenizerFast.
// tokenizer_config.json and special_tokens_map.json supply bos/eos/pad/unk and model_max_length.
// Limits: when no file gives a usable model_max_length, 77 (CLIP's context length) is used.

import Foundation

/// Loads the tokenizer in `folder`, choosing the format by the files present.
public func loadTokenizer(folder: URL) throws -> TextTokenizer {
    try TokenizerLoader(folder: folder).load()
}

/// CLIP's context length, used when no file states a model_max_length.
public let defaultModelMaxLength = 77

struct TokenizerLoader {
    let folder: URL
    /// Used instead of tokenizer_config.json / special_tokens_map.json (the bundled CLIP tokenizer).
    var configOverride: TokenizerConfig? = nil
    /// Used instead of vocab.json (the bundled CLIP tokenizer derives it from merges.txt).
    var vocabularyOverride: [String: Int]? = nil

    private func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    private func exists(_ name: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url(name).path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    private func read(_ name: String) throws -> Data {
        do {
            return try Data(contentsOf: url(name))
        } catch {
            throw TokenizerError.unreadableFile(path: url(name).path, reason: error.localizedDescription)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
        let data = try read(name)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw TokenizerError.invalidFile(path: url(name).path, reason: Self.describe(error))
        } catch {
            throw TokenizerError.invalidFile(path: url(name).path, reason: "\(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "missing field \(path(ctx.codingPath + [key]))"
        case .typeMismatch(_, let ctx): return "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case .valueNotFound(_, let ctx): return "field \(path(ctx.codingPath)) is null"
        case .dataCorrupted(let ctx): return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    func load() throws -> PipelineTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TokenizerError.missingFile(path: folder.path, hint: "the tokenizer folder does not exist")
        }
        if let config = configOverride, vocabularyOverride != nil { return try loadCLIPVocab(config: config) }
        var config = exists("tokenizer_config.json") ? try decode(TokenizerConfig.self, from: "tokenizer_config.json") : TokenizerConfig()
        if exists("special_tokens_map.json") {
            config = config.overridden(by: try decode(TokenizerConfig.self, from: "special_tokens_map.json"))
        }
        if exists("tokenizer.json") { return try loadTokenizerJSON(config: config) }
        let hasVocab = exists("vocab.json"), hasMerges = exists("merges.txt")
        if hasVocab && hasMerges { return try loadCLIPVocab(config: config) }
        if hasVocab { throw TokenizerError.missingFile(path: url("merges.txt").path, hint: "vocab.json needs merges.txt beside it (CLIP BPE)") }
        if hasMerges { throw TokenizerError.missingFile(path: url("vocab.json").path, hint: "merges.txt needs vocab.json beside it (CLIP BPE)") }
        throw TokenizerError.noTokenizerFiles(folder: folder.path)
    }

    // MARK: tokenizer.json

    private func loadTokenizerJSON(config: TokenizerConfig) throws -> PipelineTokenizer {
        let file = url("tokenizer.json").path
        let json = try decode(TokenizerJSON.self, from: "tokenizer.json")
        var normalizer: TextNormalizer?
        switch json.normalizer {
        case .supported(let n): normalizer = n
        case .unsupported(let what): throw TokenizerError.unsupported(path: file, what: what)
        case nil: normalizer = nil
        }
        var preTokenizer: PreTokenizer?
        switch json.preTokenizer {
        case .supported(let p): preTokenizer = p
        case .unsupported(let what): throw TokenizerError.unsupported(path: file, what: what)
        case nil: preTokenizer = nil
        }
        let model: TokenModel
        let vocab: [String: Int]
        switch json.model {
        case let .bpe(v, merges, unk, prefix, suffix, fuseUnk, byteFallback, ignoreMerges):
            vocab = v
            model = .bpe(try BPEModel(vocab: v, merges: merges, unkToken: unk, continuingSubwordPrefix: prefix,
                                      endOfWordSuffix: suffix, fuseUnk: fuseUnk, byteFallback: byteFallback,
                                      ignoreMerges: ignoreMerges, source: file))
        case let .wordLevel(v, unk):
            vocab = v
            model = .wordLevel(try WordLevelModel(vocab: v, unkToken: unk, source: file))
        case .unsupported(let what):
            throw TokenizerError.unsupported(path: file, what: what)
        }
        var added = json.addedTokens.map(\.token)
        func idOf(_ content: String) -> Int? {
            added.first(where: { $0.content == content })?.id ?? vocab[content]
        }
        // transformers adds the configured special tokens that tokenizer.json does not list.
        for special in config.specialTokensInOrder where !added.contains(where: { $0.content == special.content }) {
            guard let id = vocab[special.content] else {
                throw TokenizerError.tokenNotInVocabulary(token: special.content, path: file)
            }
            added.append(AddedToken(id: id, content: special.content, special: true, lstrip: special.lstrip,
                                    rstrip: special.rstrip, singleWord: special.singleWord, normalized: special.normalized))
        }
        func resolve(_ name: String, _ value: String?) throws -> Int {
            guard let value else { throw TokenizerError.missingSpecialToken(name: name, path: url("tokenizer_config.json").path) }
            guard let id = idOf(value) else { throw TokenizerError.tokenNotInVocabulary(token: value, path: file) }
            return id
        }
        let bos = try resolve("bos_token", config.bosToken?.content ?? json.postProcessor?.bos)
        let eos = try resolve("eos_token", config.eosToken?.content ?? json.postProcessor?.eos)
        let pad = try resolve("pad_token", config.padToken?.content ?? json.padding?.padToken)
        let maxLength = config.usableModelMaxLength ?? json.truncation?.maxLength ?? defaultModelMaxLength
        return PipelineTokenizer(model: model, normalizer: normalizer, preTokenizer: preTokenizer, addedTokens: added,
                                 bosId: bos, eosId: eos, padId: pad, modelMaxLength: maxLength)
    }

    // MARK: vocab.json + merges.txt

    private func loadCLIPVocab(config: TokenizerConfig) throws -> PipelineTokenizer {
        let vocabFile = url("vocab.json").path
        let vocab = try vocabularyOverride ?? decode([String: Int].self, from: "vocab.json")
        let merges = try parseMerges()
        var resolved = config
        if resolved.bosToken == nil { resolved.bosToken = SpecialTokenValue(content: "<|startoftext|>") }
        if resolved.eosToken == nil { resolved.eosToken = SpecialTokenValue(content: "<|endoftext|>") }
        if resolved.unkToken == nil { resolved.unkToken = SpecialTokenValue(content: "<|endoftext|>") }
        if resolved.padToken == nil { resolved.padToken = SpecialTokenValue(content: "<|endoftext|>") }

        var added: [AddedToken] = []
        var fromDecoder = Set<String>()
        for (key, entry) in (resolved.addedTokensDecoder ?? [:]).sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
            guard let id = Int(key) else {
                throw TokenizerError.invalidFile(path: url("tokenizer_config.json").path, reason: "added_tokens_decoder key \"\(key)\" is not an id")
            }
            added.append(AddedToken(id: id, content: entry.content, special: entry.special ?? false, lstrip: entry.lstrip ?? false,
                                    rstrip: entry.rstrip ?? false, singleWord: entry.singleWord ?? false,
                                    normalized: entry.normalized ?? !(entry.special ?? false)))
            fromDecoder.insert(entry.content)
        }
        for special in resolved.specialTokensInOrder {
            if fromDecoder.contains(special.content) && !special.hasFlags { continue }
            guard let id = vocab[special.content] else {
                throw TokenizerError.tokenNotInVocabulary(token: special.content, path: vocabFile)
            }
            let token = AddedToken(id: id, content: special.content, special: true, lstrip: special.lstrip,
                                   rstrip: special.rstrip, singleWord: special.singleWord, normalized: special.normalized)
            if let i = added.firstIndex(where: { $0.content == special.content }) {
                added[i] = token
            } else {
                added.append(token)
            }
        }
        func id(_ value: SpecialTokenValue?) throws -> Int {
            let content = value?.content ?? ""
            guard let id = vocab[content] else { throw TokenizerError.tokenNotInVocabulary(token: content, path: vocabFile) }
            return id
        }
        let bpe = try BPEModel(vocab: vocab, merges: merges, unkToken: resolved.unkToken?.content,
                               endOfWordSuffix: "</w>", source: url("merges.txt").path)
        return PipelineTokenizer(
            model: .bpe(bpe),
            normalizer: .sequence([.nfc, .replaceWhitespaceRuns(with: " "), .lowercase]),
            preTokenizer: .sequence([.clipSplit, .byteLevel(addPrefixSpace: false, useRegex: true)]),
            addedTokens: added,
            bosId: try id(resolved.bosToken), eosId: try id(resolved.eosToken), padId: try id(resolved.padToken),
            modelMaxLength: resolved.usableModelMaxLength ?? defaultModelMaxLength)
    }

    private func parseMerges() throws -> [(String, String)] {
        let file = url("merges.txt").path
        guard let text = String(data: try read("merges.txt"), encoding: .utf8) else {
            throw TokenizerError.invalidFile(path: file, reason: "not UTF-8 text")
        }
        // Split by scalars: a Character-based split would glue "\r\n" or a space and a
        // following combining mark into one grapheme.
        var merges: [(String, String)] = []
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            var line = Array(rawLine)
            if line.last == "\r" { line.removeLast() }
            let lineText = PreTokenizer.string(line)
            if line.isEmpty || (index == 0 && lineText.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.invalidFile(path: file, reason: "line \(index + 1) is not two tokens separated by one space: \"\(lineText)\"")
            }
            merges.append((PreTokenizer.string(Array(parts[0])), PreTokenizer.string(Array(parts[1]))))
        }
        if merges.isEmpty { throw TokenizerError.invalidFile(path: file, reason: "no merges") }
        return merges
    }
}
