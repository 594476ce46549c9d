// Reading other tools' images (scripts/fixtures/metadata.py writes each from its documented
// layout): every fixture is read as its format, its values come out as written, and they agree
// with what sd-parsers (a third-party reader) reads from the same file, where it reads the format.

import Foundation
import LikenessEngine
import LikenessImaging
import XCTest
@testable import LikenessKit

final class ImageParametersTests: XCTestCase {
    struct Case {
        var file: String
        var format: String
        var written: [String: Any]
        var sdParsers: [String: Any]?
        var sdParsersCannot: String?
    }

    /// expected.json: one entry per fixture image.
    func cases() throws -> [Case] {
        let url = try metadataFixture("expected.json")
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String: Any]])
        return root.keys.sorted().compactMap { file in
            guard let c = root[file], let format = c["format"] as? String, let written = c["written"] as? [String: Any] else { return nil }
            return Case(file: file, format: format, written: written, sdParsers: c["sd_parsers"] as? [String: Any],
                        sdParsersCannot: c["sd_parsers_cannot"] as? String)
        }
    }

    func read(_ file: String) throws -> (ImageParameters, GenerationSpec, [UnsupportedParameter]) {
        let image = try ImageParameters.read(from: try metadataFixture(file))
        let (spec, unsupported) = GenerationSpec.from(image)
        return (image, spec, unsupported)
    }

    func testEveryFixtureReadsAsWritten() throws {
        let all = try cases()
        XCTAssertEqual(Set(all.map(\.format)), Set(ParameterFormat.allCases.map(\.rawValue)), "every format has a fixture")
        let images = try FileManager.default.contentsOfDirectory(atPath: metadataFixtures.path).filter { !$0.hasSuffix(".json") && $0 != "bad" }
        XCTAssertEqual(Set(images), Set(all.map(\.file)), "every fixture image has an entry in expected.json")
        for c in all {
            let (image, spec, _) = try read(c.file)
            let w = c.written
            XCTAssertEqual(image.format.rawValue, c.format, c.file)
            XCTAssertEqual(spec.prompt, w["prompt"] as? String, c.file)
            XCTAssertEqual(spec.negativePrompt, w["negative"] as? String, c.file)
            XCTAssertEqual(spec.seed, (w["seed"] as? NSNumber)?.uint64Value, c.file)
            XCTAssertEqual(spec.steps, w["steps"] as? Int, c.file)
            XCTAssertEqual(spec.textGuidance, (w["cfg"] as? NSNumber)?.floatValue, c.file)
            XCTAssertEqual(spec.width, w["width"] as? Int, c.file)
            XCTAssertEqual(spec.height, w["height"] as? Int, c.file)
            XCTAssertEqual(spec.model, w["model"] as? String, c.file)
            XCTAssertEqual(spec.strength, (w["strength"] as? NSNumber)?.floatValue, c.file)
            let sampler = try XCTUnwrap(SamplerNames.parse(try XCTUnwrap(w["sampler"] as? String)), c.file)
            XCTAssertEqual(spec.sampler, sampler.kind, c.file)
            XCTAssertEqual(spec.karras, (w["karras"] as? Bool) ?? sampler.karras, c.file)
            XCTAssertEqual(image.container, MetadataContainer(rawValue: c.file.hasSuffix(".png") ? "PNG" : c.file.hasSuffix(".jpg") ? "JPEG" : "WebP"))
            if let node = w["sampler_node"] as? String {
                XCTAssertTrue(image.location.contains("(node \(node))"), "\(c.file): \(image.location)")
            }
        }
    }

    /// sd-parsers, reading the same files, finds the same prompt, negative prompt, seed and steps.
    /// Where it cannot read a format the fixture says why, and the documented-layout check above stands alone.
    func testAgreesWithSDParsers() throws {
        var compared = 0
        for c in try cases() {
            let (_, spec, _) = try read(c.file)
            guard let sd = c.sdParsers else {
                XCTAssertFalse((c.sdParsersCannot ?? "").isEmpty, "\(c.file): no sd-parsers reading and no reason given")
                continue
            }
            compared += 1
            XCTAssertEqual(spec.prompt, sd["prompt"] as? String, c.file)
            XCTAssertEqual(spec.negativePrompt, sd["negative"] as? String, c.file)
            XCTAssertEqual(spec.seed, (sd["seed"] as? NSNumber)?.uint64Value, c.file)
            XCTAssertEqual(spec.steps, sd["steps"] as? Int, c.file)
        }
        XCTAssertGreaterThanOrEqual(compared, 10, "sd-parsers reads most fixtures")
    }

    func testComfyUITwoSamplersTakesTheFirstPassAndSaysSo() throws {
        let (image, spec, unsupported) = try read("comfyui-two-samplers.png")
        XCTAssertEqual(image.notes.count, 1)
        let note = try XCTUnwrap(image.notes.first)
        XCTAssertTrue(note.contains("2 samplers") && note.contains("read KSampler (node 3)") && note.contains("node 12"), note)
        XCTAssertEqual(unsupported.map(\.key), ["Sampler node 12"])
        XCTAssertTrue(unsupported[0].reason.contains("further pass"), unsupported[0].reason)
        // The positive prompt came through ConditioningSetTimestepRange (node 13).
        XCTAssertEqual(spec.prompt, "a purple heart in the city")
        XCTAssertEqual(spec.seed, UInt64.max)
        XCTAssertEqual(spec.model, "dreamshaper_8", "folders and extension dropped, as A1111 writes model names")
    }

    func testComfyUILoRAAndCustomSampler() throws {
        let (one, spec, unsupported) = try read("comfyui.png")
        XCTAssertEqual(spec.loras, [LoRAWeight(name: "add_detail", weight: 0.7)])
        XCTAssertEqual(unsupported.map(\.key), ["Lora weights"])
        XCTAssertEqual(one.notes, [])
        let (custom, c, u) = try read("comfyui-custom.png")
        XCTAssertTrue(custom.location.contains("SamplerCustomAdvanced (node 9)"), custom.location)
        XCTAssertEqual(c.sampler, .euler)
        XCTAssertEqual(u, [])
        let (webp, w, _) = try read("comfyui.webp")
        XCTAssertEqual(webp.location, "WebP EXIF Model (sampler KSampler (node 3))")
        XCTAssertEqual(w, spec)
    }

    func testFooocusIsReadAsJSONNotAsA1111Text() throws {
        for file in ["fooocus.png", "fooocus.jpg"] {
            let (image, spec, unsupported) = try read(file)
            XCTAssertEqual(image.format, .fooocus, file)
            XCTAssertEqual(image.writer, "Fooocus v2.5.5", file)
            XCTAssertEqual(spec.sampler, .dpmpp2m, file)
            XCTAssertEqual(spec.karras, true, file)
            XCTAssertEqual(spec.loras, [LoRAWeight(name: "sd_xl_offset_example-lora_1.0", weight: 0.1)], file)
            XCTAssertEqual(unsupported.map(\.key), ["Lora weights", "styles", "sharpness", "adm_guidance"], file)
            XCTAssertTrue(unsupported[1].reason.contains("a blue circle in the snow, cinematic, detailed"), "the full prompt is named")
        }
    }

    func testInvokeAIImg2ImgLoRAAndKarras() throws {
        let (image, spec, unsupported) = try read("invokeai.png")
        XCTAssertEqual(image.writer, "InvokeAI 3.4.0")
        XCTAssertEqual(spec.strength, 0.6)
        XCTAssertEqual(spec.loras, [LoRAWeight(name: "toy_lora", weight: 0.75)])
        XCTAssertEqual(unsupported.map(\.key), ["Lora weights", "Denoising strength"])
        XCTAssertTrue(unsupported[1].reason.contains("img2img"))
        var request = GenerationRequest(prompt: "")
        spec.apply(to: &request)
        XCTAssertEqual(request.karras, true)
        XCTAssertEqual(request.sampler, .euler)
        XCTAssertEqual(try read("invokeai-dream.png").0.writer, "InvokeAI 1.x (Dream)")
        XCTAssertEqual(try read("invokeai-sd-metadata.png").1.modelHash?.count, 64)
    }

    func testNovelAIModelAndReports() throws {
        let (image, spec, unsupported) = try read("novelai.png")
        XCTAssertEqual(image.writer, "NovelAI")
        XCTAssertEqual(spec.modelHash, "C1E1DE52")
        XCTAssertEqual(unsupported.map(\.key), ["sm"], "informational keys are not reported, SMEA is")
    }

    func testA1111InEveryContainerReadsTheSame() throws {
        let png = try read("a1111.png")
        XCTAssertEqual(png.0.writer, "AUTOMATIC1111 v1.6.0")
        for file in ["a1111.jpg", "a1111.webp", "a1111-le.jpg", "a1111-ascii.jpg", "a1111-be-in-le.jpg", "a1111-bom.webp"] {
            let other = try read(file)
            XCTAssertEqual(other.0.parameters, png.0.parameters, file)
            XCTAssertEqual(other.1, png.1, file)
            XCTAssertTrue(other.0.location.hasSuffix("EXIF UserComment"), other.0.location)
        }
    }

    /// What is written for a recalled spec reads back as the same spec (strength and LoRAs included).
    func testRecalledSpecRoundTripsThroughA1111Text() throws {
        for file in ["invokeai.png", "comfyui.png", "fooocus.png"] {
            let spec = try read(file).1
            XCTAssertEqual(GenerationSpec.from(PNGParameters.parse(spec.parameters.text)).spec, spec, file)
        }
    }

    /// A file with two tools' metadata (a ComfyUI node that also writes A1111 text): the
    /// `parameters` chunk is read, and a note names the other.
    func testSeveralMarkersAreNamed() throws {
        let comfy = try ImageMetadata.read(try metadataFixture("comfyui.png"))
        let prompt = try XCTUnwrap(comfy.png("prompt")).text(path: "comfyui.png")
        let url = try temporaryDirectory(self).appendingPathComponent("both.png")
        try testImage(width: 4, height: 4).write(to: url, text: [("prompt", prompt), ("Comment", "hello"),
                                                                 ("parameters", "a cat\nSteps: 3, Seed: 4, CFG scale: 5")])
        let read = try ImageParameters.read(from: url)
        XCTAssertEqual(read.format, .a1111)
        XCTAssertEqual(read.notes, ["the image also carries ComfyUI graph metadata; read the 'parameters' chunk"])
    }

    func testA1111LoRATagsAreRecordedAndReported() {
        let p = PNGParameters.parse("a cat <lora:add_detail:0.6> and <lora:style>\nSteps: 2, Seed: 3, CFG scale: 4, Lora weights: \"add_detail: 0.6\"")
        let (spec, unsupported) = GenerationSpec.from(p)
        XCTAssertEqual(spec.loras, [LoRAWeight(name: "add_detail", weight: 0.6), LoRAWeight(name: "style", weight: nil)])
        XCTAssertEqual(unsupported.map(\.key), ["LoRA", "LoRA", "Lora weights"])
    }
}
