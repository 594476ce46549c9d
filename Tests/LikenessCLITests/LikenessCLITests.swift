// Runs the built `likeness` executable (next to the test bundle, built by `swift build
// --build-tests` / `swift test`) on the tiny toy-a / toy-b model folders of
// scripts/fixtures/pipeline.py: `generate` writes the engine's image with a `parameters` tEXt
// chunk, bad input exits with status 1 and one line on stderr, `info` lists the components.

import Foundation
import LikenessEngine
import LikenessImaging
import XCTest

final class LikenessCLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/generated/pipeline")

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    func fixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let u = Self.fixtures.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let message = "fixture \(u.path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/pipeline.py)"
            XCTFail(message, file: file, line: line)
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: message])
        }
        return u.path
    }

    /// The `likeness` executable built alongside the tests.
    func executable(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        var dirs = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle(for: Self.self).bundleURL.deletingLastPathComponent()]
        if let arg0 = CommandLine.arguments.first { dirs.append(URL(fileURLWithPath: arg0).deletingLastPathComponent()) }
        let root = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        dirs.append(root.appendingPathComponent(".build/debug"))
        for d in dirs {
            let u = d.appendingPathComponent("likeness")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        let message = "the likeness executable was not found next to the tests (\(dirs.map(\.path))); run `swift build --build-tests`"
        XCTFail(message, file: file, line: line)
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: message])
    }

    func likeness(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.currentDirectoryURL = tmp
        // Never touch the user's gallery or outputs.
        var env = ProcessInfo.processInfo.environment
        env["XDG_DATA_HOME"] = tmp.appendingPathComponent("xdg-data").path
        env["XDG_CONFIG_HOME"] = tmp.appendingPathComponent("xdg-config").path
        env["XDG_CACHE_HOME"] = tmp.appendingPathComponent("xdg-cache").path
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both to the end before waiting so a full pipe cannot block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBytes = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBytes.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outBytes = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outBytes, as: UTF8.self),
                   stderr: String(decoding: errBytes.data, as: UTF8.self))
    }

    // MARK: generate

    func testGenerateWritesPNGWithParameters() throws {
        let model = try fixture("toy-a")
        let output = tmp.appendingPathComponent("out.png")
        let prompt = "a large red star with blue dots on the beach"
        let run = try likeness(["generate", "--model", model, "--prompt", prompt, "--negative-prompt", "a small heart",
                                "--steps", "3", "--sampler", "euler", "--guidance", "4.5", "--seed", "7",
                                "--output", output.path, "--threads", "\(ComputeThreads.count)"]) // as the engine below
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains(output.path), run.stdout)
        let text = try RGBImage.readPNGText(output)
        guard let parameters = text["parameters"] else { return XCTFail("no parameters chunk: \(text)") }
        // AUTOMATIC1111's format: prompt, negative prompt line, one line of parameters.
        let lines = parameters.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, parameters)
        XCTAssertEqual(lines.first, prompt)
        XCTAssertEqual(lines.dropFirst().first, "Negative prompt: a small heart")
        XCTAssertTrue(lines.last?.hasPrefix("Steps: 3, Sampler: Euler, Karras: false, CFG scale: 4.5, Seed: 7, Size: 32x32, Model hash: ") == true, parameters)
        XCTAssertTrue(lines.last?.hasSuffix(", Model: toy-a") == true, parameters)

        // The PNG holds exactly the engine's pixels for the same request.
        let image = try RGBImage(contentsOf: output)
        let pipe = try LikenessPipeline(model: URL(fileURLWithPath: model), precision: .preferred) // the CLI's default
        var r = GenerationRequest(prompt: prompt)
        r.negativePrompt = "a small heart"
        r.steps = 3
        r.sampler = .euler
        r.textGuidance = 4.5
        r.seed = 7
        let result = try pipe.generate(r)
        XCTAssertEqual(image.width, result.pixels.width)
        XCTAssertEqual(image.height, result.pixels.height)
        XCTAssertEqual(image.pixels, result.pixels.bytes, "the CLI's PNG differs from the engine's image")
    }

    /// --precision fp32 gives exactly the engine's fp32 image; bf16 (where the CPU runs it) gives
    /// another image close to it; an unknown precision is one clear error.
    func testPrecisionFlag() throws {
        let model = try fixture("toy-a")
        func generate(_ precision: String) throws -> (Run, URL) {
            let out = tmp.appendingPathComponent("precision-\(precision).png")
            let run = try likeness(["generate", "--model", model, "--prompt", "a red star", "--steps", "2", "--seed", "5",
                                    "--precision", precision, "--output", out.path,
                                    "--threads", "\(ComputeThreads.count)"]) // as the engine below, so the sums match
            return (run, out)
        }
        let (run32, out32) = try generate("fp32")
        XCTAssertEqual(run32.status, 0, run32.stderr)
        let pipe = try LikenessPipeline(model: URL(fileURLWithPath: model), precision: .fp32)
        var r = GenerationRequest(prompt: "a red star")
        r.steps = 2
        r.seed = 5
        let fp32Image = try RGBImage(contentsOf: out32)
        XCTAssertEqual(fp32Image.pixels, try pipe.generate(r).pixels.bytes, "--precision fp32 differs from the engine's fp32 image")

        let (run16, out16) = try generate("bf16")
        XCTAssertEqual(run16.status, 0, run16.stderr)
        let bf16Image = try RGBImage(contentsOf: out16)
        if ComputePrecision.bf16Supported {
            XCTAssertNotEqual(bf16Image.pixels, fp32Image.pixels, "--precision bf16 gave the fp32 image")
        } else {
            XCTAssertEqual(bf16Image.pixels, fp32Image.pixels, "without a bfloat16 kernel, bf16 runs as fp32")
        }
        let close = zip(bf16Image.pixels, fp32Image.pixels).filter { abs(Int($0) - Int($1)) <= 8 }.count
        XCTAssertGreaterThan(Double(close) / Double(fp32Image.pixels.count), 0.95, "bf16 image far from fp32")

        let bad = try likeness(["generate", "--model", model, "--prompt", "a red star", "--precision", "fp16"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--precision must be fp32 or bf16, got fp16"), bad.stderr)
    }

    func testGenerateWithObject() throws {
        let model = try fixture("toy-a"), reference = try fixture("reference.png")
        let output = tmp.appendingPathComponent("object.png")
        let run = try likeness(["generate", "--model", model, "--prompt", "a large <obj> in the snow", "--object", reference,
                                "--steps", "2", "--sampler", "dpmpp-2m", "--karras", "--identity-guidance", "2",
                                "--width", "48", "--height", "32", "--output", output.path,
                                // the engine below runs in this process: the same thread count gives the same sums
                                "--threads", "\(ComputeThreads.count)"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let parameters = try RGBImage.readPNGText(output)["parameters"] ?? ""
        for expected in ["Sampler: DPM++ 2M Karras", "Identity guidance: 2,", "Object: reference.png,", "Size: 48x32", "Object hash: "] {
            XCTAssertTrue(parameters.contains(expected), "missing '\(expected)' in:\n\(parameters)")
        }
        let image = try RGBImage(contentsOf: output)
        XCTAssertEqual([image.width, image.height], [48, 32])

        // Same pixels as the engine with the object encoded from the same PNG.
        let pipe = try LikenessPipeline(model: URL(fileURLWithPath: model), precision: .preferred) // the CLI's default
        let ref = try RGBImage(contentsOf: URL(fileURLWithPath: reference))
        let pixels = try XCTUnwrap(Tensor(shape: [1, 3, 64, 64], storage: ref.toCHWFloats(range: .zeroToOne)))
        var r = GenerationRequest(prompt: "a large <obj> in the snow")
        r.objectTokens = try pipe.encodeObject(pixels: pixels)
        r.steps = 2
        r.sampler = .dpmpp2m
        r.karras = true
        r.identityGuidance = 2
        r.width = 48
        r.height = 32
        XCTAssertEqual(image.pixels, try pipe.generate(r).pixels.bytes)
    }

    func testTruncationWarning() throws {
        let model = try fixture("toy-a")
        let output = tmp.appendingPathComponent("long.png")
        let long = "a large red star with blue dots on the beach , at the left next to a small green heart"
        // Read as diffusers reads it (--no-emphasis): one window, too long is an error or truncated.
        let failed = try likeness(["generate", "--model", model, "--prompt", long, "--steps", "1", "--no-emphasis", "--output", output.path])
        assertOneLineFailure(failed, mentioning: "truncation")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        let ok = try likeness(["generate", "--model", model, "--prompt", long, "--steps", "1", "--no-emphasis", "--truncate",
                               "--output", output.path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stderr.contains("warning: prompt truncated"), ok.stderr)
        // By default (A1111 emphasis) a long prompt goes in chunks: nothing is cut.
        let chunked = try likeness(["generate", "--model", model, "--prompt", long, "--steps", "1", "--output",
                                    tmp.appendingPathComponent("chunked.png").path])
        XCTAssertEqual(chunked.status, 0, chunked.stderr)
        XCTAssertFalse(chunked.stderr.contains("truncated"), chunked.stderr)
    }

    // MARK: bad input

    func assertOneLineFailure(_ run: Run, mentioning needle: String, file: StaticString = #filePath, line: UInt = #line) {
        print("exit \(run.status): \(run.stderr)", terminator: run.stderr.hasSuffix("\n") ? "" : "\n")
        XCTAssertEqual(run.status, 1, "exit status; stderr: \(run.stderr)", file: file, line: line)
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "stderr should be one line, got:\n\(run.stderr)", file: file, line: line)
        XCTAssertTrue(run.stderr.hasPrefix("likeness: "), run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.contains(needle), "stderr should mention '\(needle)': \(run.stderr)", file: file, line: line)
    }

    func testBadInputsExitWithOneLine() throws {
        let model = try fixture("toy-a")
        let output = tmp.appendingPathComponent("never.png").path
        let corrupt = tmp.appendingPathComponent("corrupt.png")
        try Data("this is not a PNG file".utf8).write(to: corrupt)
        let truncatedPNG = tmp.appendingPathComponent("truncated.png")
        let refData = try Data(contentsOf: URL(fileURLWithPath: try fixture("reference.png")))
        try refData.prefix(refData.count / 2).write(to: truncatedPNG)
        let wrongLatents = tmp.appendingPathComponent("latents.safetensors")
        try SafeTensorsWriter.write(["latents": Tensor(zeros: [1, 4, 4, 4])], to: wrongLatents)
        let base = ["generate", "--model", model, "--prompt", "a red star", "--steps", "1"]

        let cases: [([String], String)] = [
            (base + ["--sampler", "plms", "--output", output], "plms"),
            (["generate", "--model", tmp.appendingPathComponent("no-such-model").path, "--prompt", "a red star",
              "--output", output], "no-such-model"),
            (["generate", "--model", model, "--prompt", "a <obj>", "--object", corrupt.path, "--output", output], "corrupt.png"),
            (["generate", "--model", model, "--prompt", "a <obj>", "--object", truncatedPNG.path, "--output", output], "truncated.png"),
            (base + ["--steps", "0", "--output", output], "--steps"),
            (base + ["--output", tmp.appendingPathComponent("out.jpg").path], ".png"),
            (base + ["--latents-in", wrongLatents.path, "--output", output], "[1, 4, 8, 8]"),
            (base + ["--width", "30", "--output", output], "30x32"),
            (base + ["--karras", "--output", output], "Karras"),
            (base + ["--latents-in", tmp.appendingPathComponent("absent.safetensors").path, "--output", output], "absent.safetensors"),
            (["generate", "--model", model, "--prompt", "a zebra", "--steps", "1", "--output", output], "zebra"),
            (["generate", "--model", model, "--prompt", "a <obj> on the beach", "--output", output], "<obj>"),
        ]
        for (arguments, needle) in cases {
            let run = try likeness(arguments)
            assertOneLineFailure(run, mentioning: needle)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(arguments): wrote an output")
        }
    }

    func testLatentsIn() throws {
        let model = try fixture("toy-a")
        let latents = tmp.appendingPathComponent("noise.safetensors")
        var generator = TorchGenerator(seed: 3)
        let noise = try XCTUnwrap(Tensor(shape: [1, 4, 8, 8], storage: generator.randn(256)))
        try SafeTensorsWriter.write(["latents": noise], to: latents)
        let a = tmp.appendingPathComponent("a.png"), b = tmp.appendingPathComponent("b.png")
        let args = ["generate", "--model", model, "--prompt", "a red star", "--steps", "2"]
        XCTAssertEqual(try likeness(args + ["--seed", "3", "--output", a.path]).status, 0)
        let run = try likeness(args + ["--seed", "99", "--latents-in", latents.path, "--output", b.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        // DDIM draws nothing after the initial noise, so the file's noise equals seed 3's.
        XCTAssertEqual(try RGBImage(contentsOf: a).pixels, try RGBImage(contentsOf: b).pixels)
        XCTAssertTrue((try RGBImage.readPNGText(b)["parameters"] ?? "").contains("Latents: noise.safetensors"))
    }

    // MARK: info

    func testInfo() throws {
        let run = try likeness(["info", "--model", try fixture("toy-a")])
        XCTAssertEqual(run.status, 0, run.stderr)
        for expected in ["text_encoder", "CLIPTextModel", "unet", "UNet2DConditionModel", "vae", "AutoencoderKL",
                         "object_encoder", "LikenessObjectEncoder", "WordLevel", "max length 16", "DDIMScheduler",
                         "leading", "epsilon", "preview/latent_rgb.json", "F32"] {
            XCTAssertTrue(run.stdout.contains(expected), "info output lacks '\(expected)':\n\(run.stdout)")
        }
        let b = try likeness(["info", "--model", try fixture("toy-b")])
        XCTAssertEqual(b.status, 0, b.stderr)
        for expected in ["F16", "trailing", "v_prediction", "max length 77"] {
            XCTAssertTrue(b.stdout.contains(expected), "info output lacks '\(expected)':\n\(b.stdout)")
        }
        assertOneLineFailure(try likeness(["info", "--model", tmp.appendingPathComponent("missing").path]), mentioning: "missing")
    }
}
