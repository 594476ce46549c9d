// Token ids against transformers 5 CLIPTokenizer (= CLIPTokenizerFast) and tokenizers'
// WordLevel, on every DreamBench prompt (filled with several class words) and awkward strings:
// punctuation runs, apostrophes, numbers, emoji, accented / CJK / other scripts, tabs and
// newlines, leading/trailing spaces, special tokens in the text, a 200-word prompt, "".
// Fixtures: scripts/fixtures/tokenizers_sampling.py (tokenizers/cases.json).

import XCTest
@testable import LikenessEngine

final class TokenizerParityTests: XCTestCase {
    private struct Case {
        let text: String
        let ids: [Int]
        let encoded: [Int]
        let unknown: [String]?
    }

    private func cases(_ key: String) throws -> [Case] {
        guard let all = try LikenessFixtures.json("tokenizers/cases.json") as? [String: Any],
              let rows = all[key] as? [[String: Any]], !rows.isEmpty else {
            throw LikenessFixtures.Malformed(description: "tokenizers/cases.json has no \(key) cases")
        }
        return try rows.map { row in
            guard let text = row["text"] as? String, let ids = row["ids"] as? [Int], let encoded = row["encoded"] as? [Int] else {
                throw LikenessFixtures.Malformed(description: "bad case \(row)")
            }
            return Case(text: text, ids: ids, encoded: encoded, unknown: row["unknown"] as? [String])
        }
    }

    private func load(_ folder: String) throws -> TextTokenizer {
        try loadTokenizer(folder: LikenessFixtures.url("tokenizers/\(folder)"))
    }

    private func check(_ folder: String, _ key: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tokenizer = try load(folder)
        let rows = try cases(key)
        var mismatches = 0
        var truncated = 0
        for c in rows {
            let fragment = try tokenizer.tokenizeDetailed(c.text)
            let encoded = try tokenizer.encode(c.text)
            if fragment.ids != c.ids || encoded.ids != c.encoded {
                mismatches += 1
                if mismatches <= 5 {
                    XCTFail("\(folder): \(c.text.debugDescription)\n ids    \(fragment.ids)\n expect \(c.ids)\n enc    \(encoded.ids)\n expect \(c.encoded)",
                            file: file, line: line)
                }
            }
            if let unknown = c.unknown {
                XCTAssertEqual(fragment.unknownWords, unknown, "\(folder): unknown words of \(c.text.debugDescription)", file: file, line: line)
            }
            XCTAssertEqual(encoded.ids.count, tokenizer.modelMaxLength, file: file, line: line)
            XCTAssertEqual(encoded.droppedCount, max(0, c.ids.count - (tokenizer.modelMaxLength - 2)), file: file, line: line)
            if encoded.wasTruncated { truncated += 1 }
        }
        print("parity tokenizer \(folder): \(rows.count - mismatches)/\(rows.count) prompts id-exact (\(truncated) truncated)")
        XCTAssertEqual(mismatches, 0, "\(folder): \(mismatches) of \(rows.count) prompts differ", file: file, line: line)
    }

    func testCLIPVocabAndMergesSD15() throws {
        try check("clip-sd15", "clip_sd15")
    }

    func testCLIPVocabAndMergesSD2PadsWithExclamationMark() throws {
        try check("clip-sd2", "clip_sd2")
        let tokenizer = try load("clip-sd2")
        XCTAssertEqual(tokenizer.padId, 0)
        XCTAssertEqual(try tokenizer.encode("a dog").ids.suffix(3), [0, 0, 0])
    }

    func testCLIPTokenizerJSON() throws {
        try check("clip-json", "clip_json")
    }

    func testCLIPConfigWithAddedTokensDecoder() throws {
        try check("clip-decoder", "clip_decoder")
    }

    func testWordLevelToyboxStyle() throws {
        try check("wordlevel", "wordlevel")
    }

    func testWordLevelWithSequences() throws {
        try check("wordlevel-seq", "wordlevel_seq")
    }

    func testDreamBenchPromptsAreCovered() throws {
        guard let all = try LikenessFixtures.json("tokenizers/cases.json") as? [String: Any],
              let templates = all["templates"] as? Int else { return XCTFail("cases.json has no template count") }
        XCTAssertGreaterThanOrEqual(templates, 5)
        XCTAssertGreaterThanOrEqual(try cases("clip_sd15").count, templates * 8)
    }

    func testSpecialIdsAndLengths() throws {
        let clip = try load("clip-sd15")
        XCTAssertEqual(clip.bosId, 49406)
        XCTAssertEqual(clip.eosId, 49407)
        XCTAssertEqual(clip.padId, 49407)
        XCTAssertEqual(clip.modelMaxLength, 77)
        let wl = try load("wordlevel")
        XCTAssertEqual([wl.padId, wl.bosId, wl.eosId], [0, 2, 3], "Toybox order: <pad> <unk> <bos> <eos>")
        XCTAssertEqual([try load("wordlevel-seq").bosId, try load("wordlevel-seq").eosId], [1, 2])
        XCTAssertEqual(wl.modelMaxLength, 16)
    }
}
