// Word slots (PromptEncoder+WordSlots.swift; models.py word_slot_edits): which prompt words set
// which object token, that generation uses them unless the request turns them off, and that a
// config with impossible slots is refused. The values against the reference pipeline are in
// PipelineParityTests (the toy-a edit case).

import Foundation
import XCTest
@testable import LikenessEngine

final class WordSlotTests: XCTestCase {
    let slots = [WordSlot(slot: 0, attribute: "color", words: ["red": "red", "blue": "blue"]),
                 WordSlot(slot: 2, attribute: "pattern", words: ["striped": "stripes", "dotted": "dots"])]

    func edits(_ prompt: String) throws -> [String] {
        let enc = try PipelineFixtures.pipeline("toy-a").promptEncoder
        return try enc.wordSlotEdits(in: prompt, slots: slots).map { "\($0.slot):\($0.word)" }
    }

    func testTheRunOfPropertyWordsBeforeThePlaceholder() throws {
        XCTAssertEqual(try edits("a red <obj>"), ["0:red"])
        XCTAssertEqual(try edits("a small red striped <obj> on the beach"), ["2:stripes", "0:red"])
        XCTAssertEqual(try edits("a RED <obj>"), ["0:red"])
        XCTAssertEqual(try edits("a blue red <obj>"), ["0:red"], "the word nearest the placeholder sets its slot")
        XCTAssertEqual(try edits("a red large <obj>"), [], "the run ends at a word no slot knows")
        XCTAssertEqual(try edits("a <obj> in the red city"), [])
        XCTAssertEqual(try edits("a red, <obj>"), [])
        XCTAssertEqual(try edits("a red car"), [])
        let enc = try PipelineFixtures.pipeline("toy-a").promptEncoder
        XCTAssertTrue(try enc.wordSlotEdits(in: "a red <obj>", slots: []).isEmpty)
    }

    func testAppliedSlotHasTheWordsDirectionAndTheTokensNorm() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        let enc = pipe.promptEncoder
        let ref = try PipelineFixtures.expected("toy-a")
        let tokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference"))
        let out = try enc.applyingWordSlots([(slot: 0, word: "red")], to: tokens)
        let d = tokens.shape[2]
        let word = try enc.textEncoder.tokenEmbeddings(ids: [try enc.tokenizer.tokenize("red")])
        func row(_ t: Tensor, _ k: Int) -> [Float] { Array(t.storage[(k * d)..<((k + 1) * d)]) }
        func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let a = row(out, 0), w = Array(word.storage.prefix(d))
        let cosine = zip(a, w).reduce(0) { $0 + $1.0 * $1.1 } / (norm(a) * norm(w))
        XCTAssertEqual(cosine, 1, accuracy: 1e-5)
        XCTAssertEqual(norm(a), norm(row(tokens, 0)), accuracy: 1e-4 * norm(a))
        for k in 1..<tokens.shape[1] { XCTAssertEqual(row(out, k), row(tokens, k), "slot \(k) untouched") }
    }

    func testGenerationUsesWordSlotsUnlessTurnedOff() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        XCTAssertFalse(pipe.objectEncoder?.config.word_slots.isEmpty ?? true, "toy-a's encoder records word slots")
        let ref = try PipelineFixtures.expected("toy-a")
        let tokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference"))
        func image(_ prompt: String, _ on: Bool) throws -> [Float] {
            var r = GenerationRequest(prompt: prompt)
            r.steps = 2
            r.previewEvery = 0
            r.objectTokens = tokens
            r.wordSlots = on
            return try pipe.generate(r).image.storage
        }
        XCTAssertNotEqual(try image("a red <obj>", true), try image("a red <obj>", false))
        XCTAssertEqual(try image("a large <obj>", true), try image("a large <obj>", false), "no property word: no change")
    }

    func testImpossibleWordSlotsAreRefused() throws {
        for (name, entry) in [("toy-a", #"{"slot": 7, "attribute": "color", "words": {"red": "red"}}"#),
                              ("toy-a", #"{"slot": 0, "attribute": "color", "words": {}}"#),
                              ("toy-b", #"{"slot": 0, "attribute": "color", "words": {"red": "red"}}"#)] {
            let folder = try PipelineFixtures.copy(name)
            defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
            let config = folder.appendingPathComponent("object_encoder/config.json")
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
            json["word_slots"] = [try JSONSerialization.jsonObject(with: Data(entry.utf8))]
            try JSONSerialization.data(withJSONObject: json).write(to: config)
            XCTAssertThrowsError(try LikenessPipeline(folder: folder), "\(name) \(entry)") { error in
                XCTAssertTrue("\(error)".contains("word_slots"), "\(error)")
            }
        }
    }
}
