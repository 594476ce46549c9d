import Foundation
import LikenessEngine
import LikenessImaging
import XCTest
@testable import LikenessKit

final class PNGParametersTests: XCTestCase {
    /// A request through the writer and the parser comes back the same (every field recorded).
    func testRoundTripGivesTheSameRequest() throws {
        let model = fakeModel()
        for (sampler, karras) in [(SamplerKind.ddim, false), (.euler, true), (.eulerAncestral, false), (.dpmpp2m, true), (.dpmpp2m, false)] {
            var r = GenerationRequest(prompt: "a <obj> on the beach,\nat the left: \"quoted\"")
            r.negativePrompt = "blurry, dark\nsecond line"
            r.seeds = [18_446_744_073_709_551_615]
            r.steps = 17
            r.textGuidance = 4.25
            r.identityGuidance = 0.1
            r.sampler = sampler
            r.karras = sampler.supportsKarrasSigmas ? karras : nil
            r.width = 96
            r.height = 64
            r.objectTokens = tokens()
            // A1111 parameters are read with A1111 emphasis, as the CLI and the studio make requests.
            r.emphasis = true
            let spec = GenerationSpec(request: r, seed: r.seed, width: 96, height: 64, karras: karras, model: model,
                                      object: "my mug", objectHash: "0123456789")
            let text = spec.parameters.text
            let (parsed, unsupported) = GenerationSpec.from(PNGParameters.parse(text))
            XCTAssertEqual(unsupported, [], text)
            XCTAssertEqual(parsed.object, "my mug")
            XCTAssertEqual(parsed.objectHash, "0123456789")
            XCTAssertEqual(parsed.model, "toy")
            XCTAssertEqual(parsed.modelHash, model.shortHash)
            XCTAssertEqual(parsed.mismatches(model: model), [])
            var back = GenerationRequest(prompt: "")
            parsed.apply(to: &back)
            back.objectTokens = r.objectTokens
            XCTAssertEqual(back, r, "round trip of\n\(text)")
        }
    }

    func testWrittenFormat() {
        var r = GenerationRequest(prompt: "a red star")
        r.seeds = [7]
        r.sampler = .dpmpp2m
        let text = GenerationSpec(request: r, seed: 7, width: 64, height: 64, karras: true, model: fakeModel("toybox")).parameters.text
        XCTAssertEqual(text, "a red star\nSteps: 25, Sampler: DPM++ 2M Karras, Karras: true, CFG scale: 5, Seed: 7, Size: 64x64, "
            + "Model hash: aaaaaaaaaa, Model: toybox")
        // Without an object no identity guidance or object keys; without a negative prompt no line.
        XCTAssertFalse(text.contains("Identity guidance"))
        XCTAssertFalse(text.contains("Negative prompt"))
    }

    /// A PNG as AUTOMATIC1111 writes it, made here from the format.
    func testHandWrittenA1111PNGParsesAndReportsUnsupported() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("a1111.png")
        let chunk = """
        masterpiece, a photo of a corgi, (sitting:1.2)
        on a sofa
        Negative prompt: lowres, bad anatomy
        Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: abc, Model: v1-5, \
        Hires upscale: 2, Lora hashes: "add_detail: 7c6f, other: 1f2e", Version: v1.6.0
        """
        try testImage(width: 8, height: 8).write(to: url, text: [("parameters", chunk)])
        let p = try PNGParameters.read(from: url)
        XCTAssertEqual(p.prompt, "masterpiece, a photo of a corgi, (sitting:1.2)\non a sofa")
        XCTAssertEqual(p.negativePrompt, "lowres, bad anatomy")
        XCTAssertEqual(p["Lora hashes"], "add_detail: 7c6f, other: 1f2e")
        let (spec, unsupported) = GenerationSpec.from(p)
        XCTAssertEqual(spec.steps, 20)
        XCTAssertEqual(spec.sampler, .dpmpp2m)
        XCTAssertEqual(spec.karras, true)
        XCTAssertEqual(spec.textGuidance, 7)
        XCTAssertEqual(spec.seed, 1234)
        XCTAssertEqual(spec.width, 512)
        XCTAssertEqual(spec.height, 512)
        XCTAssertEqual(spec.model, "v1-5")
        XCTAssertEqual(spec.modelHash, "abc")
        XCTAssertEqual(unsupported.map(\.key), ["Hires upscale", "Lora hashes"])
        XCTAssertTrue(unsupported[0].reason.contains("hires fix"), unsupported[0].reason)
        XCTAssertEqual(spec.mismatches(model: fakeModel("toybox")).map(\.key), ["Model"])
        var r = GenerationRequest(prompt: "")
        spec.apply(to: &r)
        XCTAssertEqual(r.seeds, [1234])
        XCTAssertEqual(r.karras, true)
    }

    func testUnknownSamplerAndScheduleAreReported() {
        let p = PNGParameters.parse("a cat\nSteps: 30, Sampler: DPM++ SDE, Schedule type: Exponential, CFG scale: 6, Seed: 5, Clip skip: 2, RNG: GPU")
        let (spec, unsupported) = GenerationSpec.from(p)
        XCTAssertNil(spec.sampler)
        XCTAssertEqual(unsupported.map(\.key), ["Sampler", "Schedule type", "Clip skip", "RNG"])
        XCTAssertTrue(unsupported[0].description.contains("DPM++ SDE"))
        // Defaults that change nothing are not reported.
        XCTAssertEqual(GenerationSpec.from(PNGParameters.parse("x\nSteps: 3, Seed: 1, Clip skip: 1, ENSD: 0, RNG: CPU")).unsupported, [])
        // Euler with an A1111 1.9+ schedule type.
        let euler = GenerationSpec.from(PNGParameters.parse("x\nSteps: 3, Sampler: Euler, Schedule type: Karras, Seed: 2")).spec
        XCTAssertEqual(euler.sampler, .euler)
        XCTAssertEqual(euler.karras, true)
    }

    func testPromptOnlyAndShortLastLines() {
        // A last line with fewer than three pairs is prompt text.
        let p = PNGParameters.parse("a photo\nstyle: oil, mood: calm")
        XCTAssertEqual(p.prompt, "a photo\nstyle: oil, mood: calm")
        XCTAssertEqual(p.pairs, [])
        // No negative prompt line; CRLF line ends.
        let q = PNGParameters.parse("a dog\r\nSteps: 2, Sampler: Euler a, Seed: 3\r\n")
        XCTAssertEqual(q.prompt, "a dog")
        XCTAssertEqual(q.negativePrompt, "")
        XCTAssertEqual(GenerationSpec.from(q).spec.sampler, .eulerAncestral)
        // A one-line chunk that is all parameters (empty prompt).
        XCTAssertEqual(PNGParameters.parse("Steps: 2, Sampler: DDIM, Seed: 3").pairs.count, 3)
        // Multi-line negative prompt.
        let n = PNGParameters.parse("p\nNegative prompt: one\ntwo\nSteps: 1, Seed: 1, CFG scale: 2")
        XCTAssertEqual(n.negativePrompt, "one\ntwo")
    }

    func testQuotedValuesRoundTrip() {
        let p = PNGParameters(prompt: "x", pairs: [.init("Object", "a, b: \"c\"\nd\\e"), .init("Steps", "1"), .init("Seed", "2")])
        XCTAssertTrue(p.text.contains(#"Object: "a, b: \"c\"\nd\\e""#), p.text)
        XCTAssertEqual(PNGParameters.parse(p.text), p)
    }

    /// A prompt outside Latin-1 goes into an iTXt chunk and reads back the same.
    func testUnicodePromptThroughAPNGFile() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("u.png")
        let p = PNGParameters(prompt: "一只猫 on the beach 🐈", negativePrompt: "ночь", pairs: [.init("Steps", "2"), .init("Seed", "1"), .init("Object", "マグ")])
        try testImage(width: 4, height: 4).write(to: url, parameters: p)
        XCTAssertEqual(try PNGParameters.read(from: url), p)
    }

    func testNotAPNGAndMissingChunk() throws {
        let dir = try temporaryDirectory(self)
        let plain = dir.appendingPathComponent("plain.png")
        try testImage(width: 4, height: 4).write(to: plain, text: [("Comment", "hi")])
        assertThrows(try PNGParameters.read(from: plain), contains: ["plain.png", "no 'parameters'", "Comment"])
        let text = dir.appendingPathComponent("text.png")
        try Data("hello".utf8).write(to: text)
        assertThrows(try PNGParameters.read(from: text), contains: ["text.png", "not a PNG"])
    }
}
