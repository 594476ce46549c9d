// params and generate --from on other tools' images (scripts/fixtures/metadata.py): PNG, JPEG and
// WebP from AUTOMATIC1111, Fooocus, ComfyUI, InvokeAI and NovelAI.

import Foundation
import LikenessImaging
import XCTest

extension LikenessCLITests {
    /// Tests/Fixtures/generated/metadata/<relative>; a missing fixture fails the test.
    func metadataFixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let u = Self.fixtures.deletingLastPathComponent().appendingPathComponent("metadata").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let message = "fixture \(u.path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/metadata.py)"
            XCTFail(message, file: file, line: line)
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: message])
        }
        return u.path
    }

    func testParamsNamesTheToolOfEveryFormat() throws {
        for (file, writer) in [("a1111.jpg", "AUTOMATIC1111 v1.6.0, JPEG EXIF UserComment"), ("a1111.webp", "AUTOMATIC1111 v1.6.0, WebP EXIF UserComment"),
                               ("fooocus.png", "Fooocus v2.5.5, PNG text chunk 'parameters'"), ("comfyui.png", "ComfyUI, PNG text chunk 'prompt'"),
                               ("invokeai.png", "InvokeAI 3.4.0"), ("invokeai-sd-metadata.png", "InvokeAI 2.2.5"),
                               ("invokeai-dream.png", "InvokeAI 1.x (Dream)"), ("novelai.png", "NovelAI, PNG text chunk 'Comment'")] {
            let run = try likeness(["params", try metadataFixture(file)])
            XCTAssertEqual(run.status, 0, "\(file): \(run.stderr)")
            XCTAssertTrue(run.stdout.contains("\nWritten by: \(writer)"), "\(file):\n\(run.stdout)")
        }
        let two = try likeness(["params", try metadataFixture("comfyui-two-samplers.png")])
        XCTAssertTrue(two.stdout.hasPrefix("a purple heart in the city\nNegative prompt: lowres\nSteps: 25, Sampler: DPM++ 2M, Schedule type: Karras,"), two.stdout)
        XCTAssertTrue(two.stdout.contains("Likeness cannot honour:\n  Sampler node 12: KSampler (a further pass"), two.stdout)
        XCTAssertTrue(two.stdout.contains("\nNote: the graph has 2 samplers"), two.stdout)

        let json = try likeness(["params", "--json", try metadataFixture("comfyui-two-samplers.png")])
        XCTAssertEqual(json.status, 0, json.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let source = try XCTUnwrap(obj["source"] as? [String: Any])
        XCTAssertEqual(source["format"] as? String, "comfyui")
        XCTAssertEqual(source["tool"] as? String, "ComfyUI")
        XCTAssertEqual(source["container"] as? String, "PNG")
        XCTAssertEqual((source["notes"] as? [String])?.count, 1)
        XCTAssertEqual((obj["seed"] as? NSNumber)?.uint64Value, UInt64.max)
        XCTAssertEqual(obj["sampler"] as? String, "dpmpp-2m")
        XCTAssertEqual(obj["karras"] as? Bool, true)

        let invoke = try likeness(["params", "--json", try metadataFixture("invokeai.png")])
        let io = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(invoke.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((io["source"] as? [String: Any])?["format"] as? String, "invokeai")
        XCTAssertEqual(io["strength"] as? Double, 0.6)
        XCTAssertEqual((io["loras"] as? [[String: Any]])?.first?["name"] as? String, "toy_lora")

        assertOneLineFailure(try likeness(["params", try metadataFixture("bad/json-unknown.png")]), mentioning: "does not guess")
        assertOneLineFailure(try likeness(["params", try metadataFixture("bad/comfyui-cycle.png")]), mentioning: "cycle")
        assertOneLineFailure(try likeness(["params", try metadataFixture("bad/truncated-exif.jpg")]), mentioning: "truncated")
    }

    /// generate --from another tool's image: its prompt, seed, sampler and guidance, with the
    /// options given over them, and what cannot be honoured on stderr.
    func testGenerateFromOtherToolsImages() throws {
        let model = try fixture("toy-a")
        for (file, prefix) in [
            ("comfyui.png", "a green square on a wooden floor\nNegative prompt: text, watermark\nSteps: 2, Sampler: Euler a, CFG scale: 8, Seed: 156680208700286, Size: 32x32,"),
            ("a1111.jpg", "a red star on the beach, (sunset:1.2)\nNegative prompt: blurry, dark\nSteps: 2, Sampler: DPM++ 2M Karras, Karras: true, CFG scale: 7, Seed: 1234, Size: 32x32,"),
            ("invokeai.png", "a small orange triangle on pink fabric\nNegative prompt: ugly\nSteps: 2, Sampler: Euler, Karras: true, CFG scale: 7.5, Seed: 3221452876, Size: 32x32,"),
        ] {
            let out = tmp.appendingPathComponent("\(file).png")
            let run = try likeness(["generate", "--from", try metadataFixture(file), "--model", model, "--steps", "2", "--width", "32", "--height", "32",
                                    "--allow-unknown-words", "--output", out.path])
            XCTAssertEqual(run.status, 0, "\(file): \(run.stderr)")
            let written = try parameters(out)
            XCTAssertTrue(written.hasPrefix(prefix), "\(file): \(written)")
            XCTAssertFalse(written.contains("Lora") || written.contains("Denoising"), "what Likeness did not do is not written: \(written)")
            if file != "a1111.jpg" { XCTAssertTrue(run.stderr.contains("cannot honour Lora weights"), run.stderr) }
        }
        assertOneLineFailure(try likeness(["generate", "--from", try metadataFixture("bad/non-utf8.png"), "--model", model]), mentioning: "not valid UTF-8")
    }
}
