// Damaged and hostile metadata: each is a clear error naming the file and the field, never a
// crash, a hang or a silent misreading.

import Foundation
import LikenessEngine
import LikenessImaging
import XCTest
@testable import LikenessKit

final class ImageParametersBadInputTests: XCTestCase {
    func assertReadFails(_ file: String, _ needles: [String], line: UInt = #line) throws {
        let url = try metadataFixture("bad/\(file)", line: line)
        assertThrows(try ImageParameters.read(from: url), contains: [url.path] + needles, line: line)
    }

    func testTruncatedEXIF() throws {
        try assertReadFails("truncated-exif.jpg", ["truncated or damaged EXIF", "UserComment", "runs past the end"])
        try assertReadFails("truncated-app1.jpg", ["truncated JPEG", "0xFFE1", "claims"])
        try assertReadFails("truncated.webp", ["truncated WebP", "'EXIF'"])
    }

    func testJSONThatIsNotAnObjectOrNotAKnownLayout() throws {
        try assertReadFails("json-array.png", ["'parameters'", "an array, not an object"])
        try assertReadFails("json-unknown.png", ["'parameters'", "JSON object", "Fooocus's marker", "does not guess"])
        try assertReadFails("comfyui-not-object.png", ["'prompt'", "an array, not an object"])
    }

    func testComfyUIGraphWithACycleOrAMissingNode() throws {
        try assertReadFails("comfyui-cycle.png", ["ComfyUI graph", "cycle through nodes 13 -> 16 -> 13"])
        try assertReadFails("comfyui-missing-node.png", ["negative input of KSampler (node 3)", "node 7, which is not in the graph"])
    }

    func testTextThatIsNotValidInItsEncoding() throws {
        try assertReadFails("non-utf8.png", ["PNG iTXt chunk 'parameters'", "not valid UTF-8", "0xE9"])
        try assertReadFails("non-utf16.jpg", ["EXIF UserComment", "not valid UTF-16BE", "unpaired surrogate"])
        try assertReadFails("non-utf8.jpg", ["EXIF UserComment", "not valid UTF-8"])
    }

    func testNoParametersAtAll() throws {
        try assertReadFails("camera-comment.jpg", ["EXIF UserComment", "without A1111's parameters line", "Shot on a sunny day"])
        try assertReadFails("no-exif.jpg", ["the JPEG has no EXIF data"])
        try assertReadFails("no-exif.webp", ["the WebP has no EXIF data"])
        let dir = try temporaryDirectory(self)
        let workflowOnly = dir.appendingPathComponent("workflow.png")
        try testImage(width: 4, height: 4).write(to: workflowOnly, text: [("workflow", "{}")])
        assertThrows(try ImageParameters.read(from: workflowOnly), contains: ["'workflow' chunk but no 'prompt' chunk"])
        // Another program's Description and Comment are not taken for NovelAI's.
        let described = dir.appendingPathComponent("described.png")
        try testImage(width: 4, height: 4).write(to: described, text: [("Description", "a holiday photo"), ("Comment", "edited")])
        assertThrows(try ImageParameters.read(from: described), contains: ["no generation parameters", "Description, Comment"])
        let text = dir.appendingPathComponent("text.png")
        try Data("hello".utf8).write(to: text)
        assertThrows(try ImageParameters.read(from: text), contains: ["text.png", "not a PNG, JPEG or WebP file"])
    }

    /// A 10 MB text chunk is refused before any parsing, naming the chunk and the limit.
    func testTenMegabyteTextChunk() throws {
        let dir = try temporaryDirectory(self)
        for key in ["parameters", "prompt", "Comment"] {
            let url = dir.appendingPathComponent("\(key).png")
            let big = String(repeating: "a cat, ", count: 10 << 20 / 7) + "\nSteps: 2, Seed: 3, CFG scale: 4"
            try testImage(width: 4, height: 4).write(to: url, text: [(key, big), ("Description", "x"), ("Software", "NovelAI")])
            assertThrows(try ImageParameters.read(from: url), contains: ["\(key).png", "'\(key)'", "\(big.utf8.count) bytes", "4 MiB"])
        }
    }

    /// JSON nested deeper than any decoder's stack: an error (or, where it is not JSON at all, A1111 text).
    func testDeeplyNestedJSON() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("deep.png")
        try testImage(width: 4, height: 4).write(to: url, text: [("prompt", String(repeating: "{\"a\":", count: 200_000))])
        assertThrows(try ImageParameters.read(from: url), contains: ["'prompt'", "not valid JSON"])
        let arrays = dir.appendingPathComponent("arrays.png")
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        try testImage(width: 4, height: 4).write(to: arrays, text: [("parameters", deep)])
        do {
            let read = try ImageParameters.read(from: arrays)
            XCTAssertEqual(read.format, .a1111, "JSON no decoder can read is not taken for Fooocus's")
        } catch {
            XCTAssertTrue("\(error)".contains("'parameters'"), "\(error)")
        }
    }

    /// Graph shapes a damaged or hand-made file can have.
    func testComfyUIGraphShapes() throws {
        let dir = try temporaryDirectory(self)
        func graphFile(_ name: String, _ json: String) throws -> URL {
            let url = dir.appendingPathComponent(name)
            try testImage(width: 4, height: 4).write(to: url, text: [("prompt", json)])
            return url
        }
        let sampler = #""1": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": 3, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}"#
        // A chain of 5000 conditioning nodes: refused at the depth limit, not a stack overflow.
        var chain = [sampler, #""4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64}}"#,
                     #""3": {"class_type": "CLIPTextEncode", "inputs": {"text": "no"}}"#]
        for i in 0..<5000 { chain.append("\"\(i == 0 ? 2 : 100 + i)\": {\"class_type\": \"ConditioningSetArea\", \"inputs\": {\"conditioning\": [\"\(101 + i)\", 0]}}") }
        chain.append(#""5101": {"class_type": "CLIPTextEncode", "inputs": {"text": "deep"}}"#)
        assertThrows(try ImageParameters.read(from: try graphFile("chain.png", "{" + chain.joined(separator: ", ") + "}")),
                     contains: ["positive conditioning of KSampler (node 1)", "more than \(ComfyUIParameters.maxDepth) nodes"])
        // A positive input that reaches no text encoder.
        let noText = "{\(sampler), \"2\": {\"class_type\": \"ConditioningZeroOut\", \"inputs\": {\"conditioning\": [\"3\", 0]}}, "
            + #""3": {"class_type": "CLIPTextEncode", "inputs": {"text": "no"}}, "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 8, "height": 8}}}"#
        assertThrows(try ImageParameters.read(from: try graphFile("notext.png", noText)), contains: ["no text encoder", "positive input of KSampler (node 1)"])
        // A text input linked round in a loop.
        let textLoop = "{\(sampler), \"2\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": [\"5\", 0]}}, "
            + #""5": {"class_type": "StringFunction", "inputs": {"text": ["2", 0]}}, "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "no"}}, "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 8, "height": 8}}}"#
        assertThrows(try ImageParameters.read(from: try graphFile("textloop.png", textLoop)), contains: ["cycle through nodes 2 -> 5 -> 2"])
        // No sampler; an entry that is not a node; no nodes.
        assertThrows(try ImageParameters.read(from: try graphFile("nosampler.png", #"{"3": {"class_type": "CLIPTextEncode", "inputs": {"text": "x"}}}"#)),
                     contains: ["no sampler node", "CLIPTextEncode"])
        assertThrows(try ImageParameters.read(from: try graphFile("notnode.png", #"{"3": "KSampler"}"#)), contains: ["entry '3' is a string"])
        assertThrows(try ImageParameters.read(from: try graphFile("empty.png", "{}")), contains: ["no nodes"])
        // A seed from a linked value node, and a latent from a sampler in a loop of two.
        let linkedSeed = #"{"1": {"class_type": "KSampler", "inputs": {"seed": ["9", 0], "steps": 2, "cfg": 3, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "positive": ["3", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}, "9": {"class_type": "Seed (rgthree)", "inputs": {"seed": 77}}, "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "x"}}, "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 8, "height": 8}}}"#
        XCTAssertEqual(GenerationSpec.from(try ImageParameters.read(from: try graphFile("seed.png", linkedSeed))).spec.seed, 77)
        let samplerLoop = #"{"1": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": 3, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "positive": ["3", 0], "negative": ["3", 0], "latent_image": ["2", 0]}}, "2": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": 3, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "positive": ["3", 0], "negative": ["3", 0], "latent_image": ["1", 0]}}, "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "x"}}}"#
        assertThrows(try ImageParameters.read(from: try graphFile("samplerloop.png", samplerLoop)), contains: ["every sampler starts from another sampler's result"])
    }

    /// Every prefix of each fixture (a file cut off anywhere) reads or fails with a message.
    func testEveryTruncationFailsCleanly() throws {
        for file in ["a1111.jpg", "a1111.webp", "fooocus.jpg", "comfyui.webp", "a1111.png"] {
            let data = try Data(contentsOf: try metadataFixture(file))
            var failures = 0
            for n in 0..<data.count {
                do { _ = try ImageParameters.read(try ImageMetadata.read(data.prefix(n), name: file)) } catch {
                    XCTAssertFalse("\(error)".isEmpty)
                    failures += 1
                }
            }
            XCTAssertGreaterThan(failures, 0, file)
        }
    }

    /// Random damage to the bytes of the metadata: never a crash.
    func testRandomByteDamage() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for file in ["a1111.jpg", "a1111-le.jpg", "fooocus.jpg", "a1111.webp", "comfyui.webp"] {
            let original = [UInt8](try Data(contentsOf: try metadataFixture(file)))
            let span = min(original.count, 600)  // the EXIF block sits at the start
            for _ in 0..<1500 {
                var bytes = original
                for _ in 0..<(1 + next() % 4) { bytes[2 + next() % (span - 2)] = UInt8(truncatingIfNeeded: next()) }
                _ = try? ImageParameters.read(try ImageMetadata.read(Data(bytes), name: file))
            }
        }
    }
}
