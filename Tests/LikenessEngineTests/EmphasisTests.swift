// A1111 prompt emphasis and 75-token chunks (PromptEmphasis, PromptEncoder+Emphasis): parser
// unit tests from the rules, and parity with the Python reference of the same rules in
// scripts/fixtures/single_file.py (tokens, weights and conditioning on the tiny SD1-like and
// SD2-like models, max-abs <= 1e-4 x max(1, |reference|); a whole 2-step generation with a
// 2-chunk prompt and a 1-chunk negative prompt against diffusers given those embeddings,
// PSNR >= 40 dB). Measured at the time of writing: conditionings <= 2.4e-6, image 125 dB.

import Foundation
import XCTest
@testable import LikenessEngine

final class EmphasisTests: XCTestCase {
    func pieces(_ prompt: String) -> [EmphasisPiece] { PromptEmphasis.parse(prompt).pieces }

    func assertPieces(_ prompt: String, _ expected: [(String?, Float)], file: StaticString = #filePath, line: UInt = #line) {
        let got = pieces(prompt)
        XCTAssertEqual(got.count, expected.count, "\(prompt): \(got)", file: file, line: line)
        for (g, e) in zip(got, expected) {
            switch g {
            case .chunkBreak: XCTAssertNil(e.0, "\(prompt): \(got)", file: file, line: line)
            case let .text(t, w):
                XCTAssertEqual(t, e.0, "\(prompt)", file: file, line: line)
                XCTAssertEqual(w, e.1, accuracy: 1e-6, "\(prompt): \(t)", file: file, line: line)
            }
        }
    }

    func testParserRules() {
        assertPieces("a cat", [("a cat", 1)])
        assertPieces("a (cat)", [("a ", 1), ("cat", 1.1)])
        assertPieces("a [cat]", [("a ", 1), ("cat", 1 / 1.1)])
        assertPieces("(cat:1.3)", [("cat", 1.3)])
        assertPieces("(cat: .5 )", [("cat", 0.5)])
        assertPieces("((cat))", [("cat", 1.21)])
        assertPieces("((cat:2))", [("cat", 2.2)])
        assertPieces("([cat])", [("cat", 1)])
        assertPieces("(a (b) c)", [("a ", 1.1), ("b", 1.21), (" c", 1.1)])
        assertPieces("\\(cat\\) \\[dog\\] a\\\\b", [("(cat) [dog] a\\b", 1)])
        assertPieces("x:1.2) y", [("x:1.2) y", 1)])
        // As in A1111, ":number)" inside round brackets is always a weight.
        assertPieces("(ratio 16:9) picture", [("ratio 16", 9), (" picture", 1)])
        assertPieces("(ratio 16:9x) picture", [("ratio 16:9x", 1.1), (" picture", 1)])
        assertPieces("one BREAK two", [("one", 1), (nil, 1), ("two", 1)])
        assertPieces("BREAKFAST break BREAK", [("BREAKFAST break", 1), (nil, 1)])
        assertPieces("", [("", 1)])
        assertPieces("()", [("", 1)])
        let (_, open) = PromptEmphasis.parse("(unclosed [also")
        XCTAssertEqual(open.count, 2, "\(open)")
        assertPieces("(unclosed", [("unclosed", 1.1)])
        let (stray, warnings) = PromptEmphasis.parse("stray ] here")
        XCTAssertEqual(stray, [.text("stray ] here", weight: 1)])
        XCTAssertTrue(warnings.first?.contains("closes no bracket") == true, "\(warnings)")
        XCTAssertFalse(PromptEmphasis.hasSyntax("a plain prompt, with commas"))
        XCTAssertTrue(PromptEmphasis.hasSyntax("a (plain) prompt"))
    }

    struct Case: Decodable {
        let model: String
        let index: Int
        let prompt: String
        let pieces: [[Piece]]
        let chunks: [[Int]]
        let weights: [[Float]]
        enum Piece: Decodable {
            case text(String?), weight(Float)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if c.decodeNil() { self = .text(nil) } else if let s = try? c.decode(String.self) { self = .text(s) } else { self = .weight(try c.decode(Float.self)) }
            }
        }
    }
    struct Generation: Decodable {
        let model: String, prompt: String, negative_prompt: String, sampler: String
        let steps: Int, guidance: Float, seed: UInt64, size: Int
    }
    struct Meta: Decodable {
        struct Emphasis: Decodable { let cases: [Case]; let generation: Generation }
        let emphasis: Emphasis
    }

    func testMatchesThePythonReference() throws {
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: SingleFileFixtures.url("expected.json")))
        let ref = try SafeTensorsFile(url: SingleFileFixtures.url("expected.safetensors"))
        XCTAssertGreaterThanOrEqual(meta.emphasis.cases.count, 16)
        var pipes: [String: LikenessPipeline] = [:]
        for c in meta.emphasis.cases {
            let label = "\(c.model) emphasis case \(c.index)"
            let pipe = try pipes[c.model] ?? LikenessPipeline(model: SingleFileFixtures.url(c.model))
            pipes[c.model] = pipe
            let expected: [(String?, Float)] = c.pieces.map { p in
                guard case let .text(t) = p[0], case let .weight(w) = p[1] else { return ("?", .nan) }
                return (t, w)
            }
            assertPieces(c.prompt, expected)
            let info = try pipe.promptEncoder.weightedChunks(for: c.prompt, slotCount: 0)
            XCTAssertEqual(info.chunks, c.chunks, label)
            XCTAssertEqual(info.weights.count, c.weights.count, label)
            for (a, b) in zip(info.weights, c.weights) {
                XCTAssertEqual(a.count, b.count, label)
                for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, label) }
            }
            let (states, _) = try pipe.promptEncoder.encodeWeighted(c.prompt, objectTokens: nil)
            assertClose(states, try ref.tensor(named: "emphasis.\(c.model).\(c.index)"), label)
        }
        // A plain prompt that fits one window encodes exactly as without emphasis.
        let pipe = try XCTUnwrap(pipes["sd1"])
        let plain = try pipe.promptEncoder.encode("a photo of a cat on the beach", objectTokens: nil).states
        XCTAssertEqual(try pipe.promptEncoder.encodeWeighted("a photo of a cat on the beach", objectTokens: nil).states.storage, plain.storage)

        let g = meta.emphasis.generation
        var request = GenerationRequest(prompt: g.prompt)
        request.negativePrompt = g.negative_prompt
        request.emphasis = true
        request.seeds = [g.seed]
        request.steps = g.steps
        request.textGuidance = g.guidance
        request.sampler = try SamplerKind(parsing: g.sampler)
        request.width = g.size
        request.height = g.size
        let result = try pipe.generate(request)
        XCTAssertEqual(result.warnings, [])
        assertPSNR(result.image, try ref.tensor(named: "emphasis.image"), "2-chunk weighted prompt vs diffusers with the same embeddings")
        // Without emphasis the same prompt is too long.
        request.emphasis = false
        XCTAssertThrowsError(try pipe.generate(request))
    }

    func testPlaceholderTakesItsPieceWeightAndStaysInOneChunk() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        let enc = pipe.promptEncoder
        let k = try XCTUnwrap(pipe.objectEncoder?.tokenCount)
        let tokens = Tensor(shape: [1, k, pipe.textEncoder.config.hidden_size]) { p in
            for i in 0..<p.count { p[i] = Float(i % 7) * 0.1 - 0.3 }
        }
        // No syntax, one window: exactly the plain encoding.
        let prompt = "a <obj> on the beach"
        let plain = try enc.encode(prompt, objectTokens: tokens).states
        XCTAssertEqual(try enc.encodeWeighted(prompt, objectTokens: tokens).states.storage, plain.storage)
        XCTAssertEqual(try enc.encodeWeighted("a (<obj>:1) on the beach", objectTokens: tokens).states.storage, plain.storage)
        // The slots take the weight of the piece holding the placeholder.
        let info = try enc.weightedChunks(for: "a (<obj>:1.25) on the beach", slotCount: k)
        let slots = info.chunks[0].indices.filter { info.chunks[0][$0] == -1 }
        XCTAssertEqual(slots.count, k)
        for i in slots { XCTAssertEqual(info.weights[0][i], 1.25) }
        XCTAssertNotEqual(try enc.encodeWeighted("a (<obj>:1.25) on the beach", objectTokens: tokens).states.storage, plain.storage)
        // Slots never straddle two chunks.
        let size = enc.maxLength - 2
        let filler = Array(repeating: "red", count: size - 1).joined(separator: " ")
        let long = try enc.weightedChunks(for: filler + " <obj> on the beach", slotCount: k)
        XCTAssertEqual(long.chunks.count, 2)
        XCTAssertEqual(long.chunks[0].filter { $0 == -1 }.count, 0)
        XCTAssertEqual(long.chunks[1].prefix(k), ArraySlice(Array(repeating: -1, count: k)))
        XCTAssertThrowsError(try enc.weightedChunks(for: "<obj> and (<obj>)", slotCount: k))
        // Through a generation: a 2-chunk object prompt against a 1-chunk null-word row.
        var request = GenerationRequest(prompt: filler + " <obj> on the beach")
        request.objectTokens = tokens
        request.emphasis = true
        request.steps = 2
        let result = try pipe.generate(request)
        XCTAssertEqual(result.image.shape[0], 1)
    }
}
