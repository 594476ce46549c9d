// `likeness info` and `generate` on single-file checkpoints (scripts/fixtures/single_file.py):
// the file is described as the engine reads it, the prediction type used is said, the PNG's
// Model hash is the file's SHA-256 prefix (as A1111 writes it), and a .ckpt is refused with one
// clear message and exit status 1.

import Foundation
import LikenessEngine
import LikenessImaging
import XCTest

extension LikenessCLITests {
    func singleFile(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let u = LikenessCLITests.fixtures.deletingLastPathComponent().appendingPathComponent("single_file/\(name)")
        guard FileManager.default.fileExists(atPath: u.path) else {
            let message = "fixture \(u.path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/single_file.py)"
            XCTFail(message, file: file, line: line)
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: message])
        }
        return u.path
    }

    func testInfoDescribesSingleFiles() throws {
        let sd2 = try likeness(["info", try singleFile("sd2.safetensors")])
        XCTAssertEqual(sd2.status, 0, sd2.stderr)
        for expected in ["single file, SD 2.x original layout", "CLIPTextModel (OpenCLIP)", "cond_stage_model.model.*",
                         "padded with \"!\"", "DDIMScheduler", "prediction      v (SD 2.x default", "every component loads"] {
            XCTAssertTrue(sd2.stdout.contains(expected), "missing '\(expected)' in:\n\(sd2.stdout)")
        }
        let ema = try likeness(["info", "--model", try singleFile("sd1-ema.safetensors"), "--prediction", "v"])
        XCTAssertEqual(ema.status, 0, ema.stderr)
        for expected in ["SD 1.x original layout", "model_ema.* present, not used", "prediction      v (--prediction)", "PNDMScheduler"] {
            XCTAssertTrue(ema.stdout.contains(expected), "missing '\(expected)' in:\n\(ema.stdout)")
        }
        let bad = try likeness(["info", try singleFile("sd1.safetensors"), "--prediction", "x"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("--prediction must be epsilon or v"), bad.stderr)
    }

    func testGenerateFromSingleFileRecordsTheFileHash() throws {
        let model = try singleFile("sd1-fp16.safetensors")
        let output = tmp.appendingPathComponent("out.png")
        let run = try likeness(["generate", "--model", model, "--prompt", "a red cat", "--steps", "2", "--seed", "3",
                                    "--width", "64", "--height", "64", "--output", output.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("sd1-fp16.safetensors: SD 1.x single file, prediction epsilon (SD 1.x default)"), run.stderr)
        let sha = Process(), pipe = Pipe()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sha.arguments = [model]
        sha.standardOutput = pipe
        try sha.run()
        let digest = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(10)
        sha.waitUntilExit()
        let params = try likeness(["params", output.path])
        XCTAssertEqual(params.status, 0, params.stderr)
        XCTAssertTrue(params.stdout.contains("Model hash: \(digest), Model: sd1-fp16"), params.stdout)
    }

    func testGenerateWithStandaloneVAERecordsItAndRecallReportsItsAbsence() throws {
        let model = try singleFile("sd1.safetensors"), vae = try singleFile("vae-orig.safetensors")
        let output = tmp.appendingPathComponent("vae.png")
        let run = try likeness(["generate", "--model", model, "--vae", vae, "--prompt", "a red cat", "--steps", "2", "--seed", "3",
                                "--width", "64", "--height", "64", "--output", output.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let params = try likeness(["params", output.path])
        XCTAssertTrue(params.stdout.contains(", Model: sd1, VAE hash: "), params.stdout)
        XCTAssertTrue(params.stdout.contains(", VAE: vae-orig.safetensors"), params.stdout)
        let again = try likeness(["generate", "--model", model, "--from", output.path, "--output", tmp.appendingPathComponent("again.png").path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("cannot honour VAE: vae-orig.safetensors (generating with the model's own VAE; pass --vae"), again.stderr)
        let same = try likeness(["generate", "--model", model, "--vae", vae, "--from", output.path,
                                 "--output", tmp.appendingPathComponent("same.png").path])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertFalse(same.stderr.contains("cannot honour"), same.stderr)
        XCTAssertEqual(try Data(contentsOf: tmp.appendingPathComponent("same.png")), try Data(contentsOf: output),
                       "the same model, VAE and parameters give the same file")
        let bad = try likeness(["generate", "--model", model, "--vae", model, "--prompt", "x"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("whole model checkpoint, not a VAE"), bad.stderr)
    }

    func testLoRAsFromTagsAndFilesAreAppliedRecordedAndRecalled() throws {
        let model = try singleFile("sd1.safetensors")
        let folder = tmp.appendingPathComponent("loras")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try singleFile("lora-kohya.safetensors"), toPath: folder.appendingPathComponent("style.safetensors").path)
        let peft = try singleFile("lora-peft.safetensors")
        let out = tmp.appendingPathComponent("lora.png")
        let run = try likeness(["generate", "--model", model, "--loras", folder.path, "--lora", peft + ":0.5",
                                "--prompt", "a (red:1.2) cat <lora:style:0.8>", "--steps", "2", "--seed", "3",
                                "--width", "64", "--height", "64", "--output", out.path,
                                "--threads", "\(ComputeThreads.count)"]) // as the engine below, so the sums match
        XCTAssertEqual(run.status, 0, run.stderr)
        let params = try likeness(["params", out.path])
        XCTAssertTrue(params.stdout.hasPrefix("a (red:1.2) cat <lora:style:0.8> <lora:lora-peft:0.5>\n"), params.stdout)
        XCTAssertTrue(params.stdout.contains("Lora hashes: \"lora-peft: "), params.stdout)
        XCTAssertTrue(params.stdout.contains(", style: "), params.stdout)
        // The same LoRAs through the engine give the same image; a different weight another.
        let pipe = try LikenessPipeline(model: URL(fileURLWithPath: model), loras: [
            LoRAApplication(url: URL(fileURLWithPath: peft), weight: 0.5),
            LoRAApplication(url: folder.appendingPathComponent("style.safetensors"), weight: 0.8)], precision: .preferred)
        var r = GenerationRequest(prompt: "a (red:1.2) cat ")
        r.emphasis = true
        r.seeds = [3]; r.steps = 2; r.width = 64; r.height = 64
        let image = try RGBImage(contentsOf: out)
        XCTAssertEqual(image.pixels, try pipe.generate(r).pixels.bytes, "the CLI's LoRA image differs from the engine's")
        // --from applies the tags again (the --lora file is recorded as a tag: it must be in the folder).
        try FileManager.default.copyItem(atPath: peft, toPath: folder.appendingPathComponent("lora-peft.safetensors").path)
        let again = tmp.appendingPathComponent("again.png")
        let recalled = try likeness(["generate", "--model", model, "--loras", folder.path, "--from", out.path, "--output", again.path,
                                     "--threads", "\(ComputeThreads.count)"])
        XCTAssertEqual(recalled.status, 0, recalled.stderr)
        XCTAssertFalse(recalled.stderr.contains("LoRA"), recalled.stderr)
        XCTAssertEqual(try RGBImage(contentsOf: again).pixels, image.pixels)
        // A missing or malformed LoRA is one clear line.
        for (prompt, needle) in [("a cat <lora:nothere:1>", "LoRA \"nothere\" not found"), ("a cat <lora:style:x>", "is not a number"),
                                 ("a cat <lora:style", "unclosed LoRA tag")] {
            let bad = try likeness(["generate", "--model", model, "--loras", folder.path, "--prompt", prompt, "--steps", "1"])
            XCTAssertEqual(bad.status, 1, prompt)
            XCTAssertTrue(bad.stderr.contains(needle), "\(prompt): \(bad.stderr)")
        }
        let sd2 = try likeness(["generate", "--model", try singleFile("sd2.safetensors"), "--loras", folder.path,
                                "--prompt", "a cat <lora:style>", "--steps", "1"])
        XCTAssertEqual(sd2.status, 1)
        XCTAssertTrue(sd2.stderr.contains("LoRA style") && sd2.stderr.contains("another model"), sd2.stderr)
    }

    func testPickleIsRefused() throws {
        let ckpt = tmp.appendingPathComponent("model.ckpt")
        try Data([0x80, 0x02, 0x7d]).write(to: ckpt)
        let run = try likeness(["generate", "--model", ckpt.path, "--prompt", "x"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("never unpickles"), run.stderr)
        XCTAssertFalse(run.stderr.contains("Fatal error"), run.stderr)
    }
}
