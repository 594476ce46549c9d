// Tokenizer behaviour beyond id parity: character classes against the tokenizers library's
// tables for every Unicode scalar, truncation reporting, unknown-word reporting, and clear load
// errors for missing or corrupt files (each naming the file).

import Foundation
import XCTest
@testable import LikenessEngine

final class TokenizerBehaviourTests: XCTestCase {
    // MARK: character classes

    private func rangeSet(_ table: [String: Any], _ key: String) throws -> Set<UInt32> {
        guard let ranges = table[key] as? [[Int]] else { throw LikenessFixtures.Malformed(description: "unicode.json lacks \(key)") }
        var set = Set<UInt32>()
        for r in ranges where r.count == 2 { for v in r[0]...r[1] { set.insert(UInt32(v)) } }
        return set
    }

    func testCharacterClassesMatchTokenizersForEveryScalar() throws {
        guard let table = try LikenessFixtures.json("tokenizers/unicode.json") as? [String: Any] else {
            return XCTFail("unicode.json is not an object")
        }
        let space = try rangeSet(table, "space"), letter = try rangeSet(table, "letter")
        let number = try rangeSet(table, "number"), word = try rangeSet(table, "word")
        let punctuation = try rangeSet(table, "punctuation")
        var lower: [UInt32: [UInt32]] = [:]
        for pair in (table["lowercase"] as? [[Any]]) ?? [] {
            if let k = pair.first as? Int, let v = pair.last as? [Int] { lower[UInt32(k)] = v.map(UInt32.init) }
        }
        XCTAssertGreaterThan(lower.count, 1000)
        var bad: [String: [String]] = [:]
        func note(_ what: String, _ v: UInt32) {
            if bad[what, default: []].count < 5 { bad[what, default: []].append(String(v, radix: 16)) } else { bad[what]?.append("") }
        }
        for v in UInt32(0)..<0x110000 {
            guard let s = Unicode.Scalar(v) else { continue }
            if UnicodeClasses.isWhitespace(s) != space.contains(v) { note("space", v) }
            if space.contains(v) { continue }  // the table classifies the rest only for non-space
            if UnicodeClasses.isLetter(s) != letter.contains(v) { note("letter", v) }
            if !UnicodeClasses.isLetter(s), UnicodeClasses.isNumber(s) != number.contains(v) { note("number", v) }
            if UnicodeClasses.isWordCharacter(s) != word.contains(v) { note("word", v) }
            if UnicodeClasses.isPunctuation(s) != punctuation.contains(v) { note("punctuation", v) }
            let expectedLower = lower[v] ?? [v]
            let gotLower = UnicodeClasses.lowercased(String(s)).unicodeScalars.map(\.value)
            if gotLower != expectedLower { note("lowercase", v) }
        }
        print("parity unicode classes: \(bad.isEmpty ? "all scalars agree" : "\(bad)")")
        XCTAssertTrue(bad.isEmpty, "character classes differ from tokenizers: \(bad.mapValues { $0.count })")
    }

    // MARK: behaviour

    private func fixtureTokenizer(_ folder: String) throws -> TextTokenizer {
        try loadTokenizer(folder: LikenessFixtures.url("tokenizers/\(folder)"))
    }

    func testTruncationIsReported() throws {
        let clip = try fixtureTokenizer("clip-sd15")
        let long = Array(repeating: "cat", count: 100).joined(separator: " ")
        let encoded = try clip.encode(long)
        XCTAssertTrue(encoded.wasTruncated)
        XCTAssertEqual(encoded.contentCount, 75)
        XCTAssertEqual(encoded.droppedCount, 25)
        XCTAssertEqual(encoded.ids.first, clip.bosId)
        XCTAssertEqual(encoded.ids.last, clip.eosId)
        let short = try clip.encode("a cat")
        XCTAssertFalse(short.wasTruncated)
        XCTAssertEqual(short.ids.count, 77)
        XCTAssertEqual(try clip.encode("a cat", maxLength: 5).ids, [49406, 320, 2368, 49407, 49407])
        XCTAssertThrowsError(try clip.encode("a", maxLength: 1))
    }

    func testEmptyFragmentHasNoIds() throws {
        let clip = try fixtureTokenizer("clip-sd15")
        XCTAssertEqual(try clip.tokenize(""), [])
        XCTAssertEqual(try clip.tokenize("   \n\t"), [])
        XCTAssertEqual(Array(try clip.encode("").ids.prefix(3)), [49406, 49407, 49407])
    }

    func testUnknownWordsAreReported() throws {
        let wl = try fixtureTokenizer("wordlevel")
        let result = try wl.tokenizeDetailed("a Xyzzy dog on the PLUGH beach")
        XCTAssertEqual(result.unknownWords, ["xyzzy", "plugh"])
        XCTAssertEqual(result.ids.filter { $0 == 1 }.count, 2, "<unk> is id 1")
        XCTAssertEqual(try wl.tokenizeDetailed("a dog on the beach").unknownWords, [])
        let clip = try fixtureTokenizer("clip-sd15")
        XCTAssertEqual(try clip.tokenizeDetailed("xyzzy plugh 😀").unknownWords, [], "byte-level BPE has no unknowns")
    }

    func testLoadsMatchingCLIPFormatsIdentically() throws {
        let a = try fixtureTokenizer("clip-sd15"), b = try fixtureTokenizer("clip-json")
        for text in ["a photo of an astronaut riding a horse on mars", "it's 4:30pm, Ōsaka!"] {
            XCTAssertEqual(try a.tokenize(text), try b.tokenize(text))
        }
    }

    func testUnlimitedModelMaxLengthFallsBackToCLIPContext() throws {
        // transformers writes 1e30 for "no limit" (as CLIPTokenizer.save_pretrained does by default).
        let folder = try tempFolder()
        let source = try LikenessFixtures.url("tokenizers/clip-json")
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"), to: folder.appendingPathComponent("tokenizer.json"))
        try Data("""
        {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
         "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "CLIPTokenizer"}
        """.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try loadTokenizer(folder: folder)
        XCTAssertEqual(tokenizer.modelMaxLength, defaultModelMaxLength)
        XCTAssertEqual(try tokenizer.encode("a photo").ids.count, 77)
    }

    // MARK: errors

    private func tempFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func assertLoadError(_ folder: URL, mentions needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try loadTokenizer(folder: folder), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(needle), "error \"\(text)\" should mention \(needle)", file: file, line: line)
        }
    }

    func testMissingAndCorruptFilesGiveClearErrors() throws {
        let empty = try tempFolder()
        assertLoadError(empty, mentions: "tokenizer.json")
        assertLoadError(empty.appendingPathComponent("nope"), mentions: "does not exist")

        let source = try LikenessFixtures.url("tokenizers/clip-sd15")
        let onlyVocab = try tempFolder()
        try FileManager.default.copyItem(at: source.appendingPathComponent("vocab.json"), to: onlyVocab.appendingPathComponent("vocab.json"))
        assertLoadError(onlyVocab, mentions: "merges.txt")

        let corruptVocab = try tempFolder()
        try Data("{\"a\": 1,".utf8).write(to: corruptVocab.appendingPathComponent("vocab.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("merges.txt"), to: corruptVocab.appendingPathComponent("merges.txt"))
        assertLoadError(corruptVocab, mentions: "vocab.json")

        let badMerges = try tempFolder()
        try FileManager.default.copyItem(at: source.appendingPathComponent("vocab.json"), to: badMerges.appendingPathComponent("vocab.json"))
        try Data("#version: 0.2\ni n\nthis line has three\n".utf8).write(to: badMerges.appendingPathComponent("merges.txt"))
        assertLoadError(badMerges, mentions: "line 3")

        let corruptJSON = try tempFolder()
        try Data("{\"model\": {\"type\": \"WordLevel\"}}".utf8).write(to: corruptJSON.appendingPathComponent("tokenizer.json"))
        assertLoadError(corruptJSON, mentions: "tokenizer.json")

        let unsupported = try tempFolder()
        try Data("""
        {"added_tokens": [], "normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": null,
         "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}
        """.utf8).write(to: unsupported.appendingPathComponent("tokenizer.json"))
        assertLoadError(unsupported, mentions: "BertNormalizer")

        let noBos = try tempFolder()
        try Data("""
        {"added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
         "model": {"type": "WordLevel", "vocab": {"<unk>": 0, "a": 1}, "unk_token": "<unk>"}}
        """.utf8).write(to: noBos.appendingPathComponent("tokenizer.json"))
        assertLoadError(noBos, mentions: "bos_token")

        let badSpecial = try tempFolder()
        try FileManager.default.copyItem(at: source.appendingPathComponent("vocab.json"), to: badSpecial.appendingPathComponent("vocab.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("merges.txt"), to: badSpecial.appendingPathComponent("merges.txt"))
        try Data("{\"pad_token\": \"<notthere>\"}".utf8).write(to: badSpecial.appendingPathComponent("tokenizer_config.json"))
        assertLoadError(badSpecial, mentions: "<notthere>")
    }
}
