// The CLIP tokenizer Likeness ships for single-file checkpoints, which carry none. Matches
// transformers' CLIPTokenizer as the SD 1.x (openai/clip-vit-large-patch14) and SD 2.x
// (stabilityai/stable-diffusion-2-1, pad token "!") tokenizer folders configure it.
// Resources/clip-bpe/merges.txt holds OpenAI CLIP's 48894 merges (MIT, see LICENSE there;
// written by scripts/clip_vocab.py). The vocabulary follows from them as OpenAI CLIP builds it:
// the 256 byte characters in bytes_to_unicode order, the same with "</w>", the concatenation of
// each merge in order, then <|startoftext|> and <|endoftext|> (49408 entries).

import Foundation

public enum BundledCLIPTokenizer {
    /// The pad token of the tokenizer folder a Stable Diffusion version ships with.
    public enum Padding: Sendable {
        /// SD 1.x: pad with <|endoftext|>.
        case endOfText
        /// SD 2.x: pad with "!" (id 0).
        case exclamationMark
    }

    /// The folder holding merges.txt and its licence.
    public static var resourceFolder: URL? {
        Bundle.module.url(forResource: "clip-bpe", withExtension: nil)
    }

    /// Loads the bundled tokenizer with `padding`, maximum length 77.
    public static func load(padding: Padding) throws -> TextTokenizer {
        guard let folder = resourceFolder,
              FileManager.default.fileExists(atPath: folder.appendingPathComponent("merges.txt").path) else {
            throw TokenizerError.missingFile(path: "clip-bpe/merges.txt",
                                             hint: "the CLIP vocabulary bundled with Likeness is missing from its resources; reinstall Likeness")
        }
        let pad: String
        switch padding {
        case .endOfText: pad = "\"<|endoftext|>\""
        case .exclamationMark: pad = "{\"content\": \"!\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false}"
        }
        let configJSON = """
        {"bos_token": {"content": "<|startoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
         "eos_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
         "unk_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
         "pad_token": \(pad), "model_max_length": 77, "do_lower_case": true}
        """
        let config = try JSONDecoder().decode(TokenizerConfig.self, from: Data(configJSON.utf8))
        var loader = TokenizerLoader(folder: folder)
        loader.configOverride = config
        loader.vocabularyOverride = try vocabulary(mergesAt: folder.appendingPathComponent("merges.txt"))
        return try loader.load()
    }

    /// The CLIP vocabulary implied by a merges file (see the header).
    static func vocabulary(mergesAt url: URL) throws -> [String: Int] {
        guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "cannot read UTF-8 text")
        }
        var order: [String] = []
        var direct: [Int] = Array(0x21...0x7e) + Array(0xa1...0xac) + Array(0xae...0xff)
        let directSet = Set(direct)
        direct += (0..<256).filter { !directSet.contains($0) }
        let bytes = direct.map { String(Character(ByteLevel.byteToScalar[$0])) }
        order += bytes
        order += bytes.map { $0 + "</w>" }
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if i == 0 && line.hasPrefix("#version") { continue }
            order.append(line.replacingOccurrences(of: " ", with: ""))
        }
        order += ["<|startoftext|>", "<|endoftext|>"]
        guard order.count == 49408 else {
            throw TokenizerError.invalidFile(path: url.path, reason: "gives \(order.count) vocabulary entries, expected 49408")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(order.count)
        for (i, token) in order.enumerated() where vocab[token] == nil { vocab[token] = i }
        return vocab
    }
}
