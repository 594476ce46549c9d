// generate --seeds/--grid/--seed -1/--from, params, and info on broken model folders, run through
// the built executable.

import Foundation
import LikenessEngine
import LikenessImaging
import XCTest

extension LikenessCLITests {
    func parameters(_ url: URL) throws -> String { try RGBImage.readPNGText(url)["parameters"] ?? "" }

    func testSeedsAndGrid() throws {
        let model = try fixture("toy-a")
        let out = tmp.appendingPathComponent("out.png")
        let args = ["generate", "--model", model, "--prompt", "a red star", "--steps", "2", "--sampler", "euler-a"]
        let run = try likeness(args + ["--seeds", "7+3", "--grid", "--output", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        var cells: [RGBImage] = []
        for seed in [7, 8, 9] {
            let url = tmp.appendingPathComponent("out-\(seed).png")
            XCTAssertTrue(try parameters(url).contains("Seed: \(seed),"))
            cells.append(try RGBImage(contentsOf: url))
            // Each image equals its one-seed run (within 1 of 255 where a batched kernel sums in another order).
            let single = tmp.appendingPathComponent("single-\(seed).png")
            XCTAssertEqual(try likeness(args + ["--seed", "\(seed)", "--output", single.path]).status, 0)
            let a = cells.last?.pixels ?? [], b = try RGBImage(contentsOf: single).pixels
            XCTAssertEqual(a.count, b.count)
            XCTAssertLessThanOrEqual(zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 99, 1, "seed \(seed)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "with --seeds the files are OUT-SEED.png")
        let grid = try RGBImage(contentsOf: tmp.appendingPathComponent("out-grid.png"))
        XCTAssertEqual(grid.width, 3 * 32 + 2 * 4)
        XCTAssertGreaterThan(grid.height, 32, "room for the seed labels")
        XCTAssertEqual(try grid.cropped(x: 36, y: 0, width: 32, height: 32), cells[1])

        // Without --output the images go to the numbered outputs folder.
        XCTAssertEqual(try likeness(args + ["--seeds", "1,2"]).status, 0)
        let outputs = tmp.appendingPathComponent("xdg-data/likeness/outputs").path
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs).filter { !$0.hasPrefix(".") }.sorted(),
                       ["00001-1.png", "00002-2.png"])

        assertOneLineFailure(try likeness(args + ["--seeds", "7+x", "--output", out.path]), mentioning: "7+x")
        assertOneLineFailure(try likeness(args + ["--seed", "1", "--seeds", "2", "--output", out.path]), mentioning: "--seeds")
        assertOneLineFailure(try likeness(args + ["--grid", "--output", out.path]), mentioning: "--grid")
        assertOneLineFailure(try likeness(args + ["--threads", "0", "--output", out.path]), mentioning: "--threads")
    }

    func testRandomSeedIsRecordedAndReproducible() throws {
        let model = try fixture("toy-a")
        let a = tmp.appendingPathComponent("a.png"), b = tmp.appendingPathComponent("b.png")
        let args = ["generate", "--model", model, "--prompt", "a red star", "--steps", "2", "--threads", "1"]
        XCTAssertEqual(try likeness(args + ["--seed", "-1", "--output", a.path]).status, 0)
        let text = try parameters(a)
        let seed = try XCTUnwrap(text.range(of: #"Seed: [0-9]+"#, options: .regularExpression).map { String(text[$0].dropFirst(6)) })
        XCTAssertEqual(try likeness(args + ["--seed", seed, "--output", b.path]).status, 0)
        XCTAssertEqual(try RGBImage(contentsOf: a).pixels, try RGBImage(contentsOf: b).pixels)
    }

    /// --from regenerates the same image bit for bit (same model and object), and overrides apply.
    func testFromRegeneratesBitForBit() throws {
        let model = try fixture("toy-a"), reference = try fixture("reference.png")
        XCTAssertEqual(try likeness(["encode", "--image", reference, "--name", "mug", "--model", model, "--gallery", galleryDir]).status, 0)
        let first = tmp.appendingPathComponent("first.png"), again = tmp.appendingPathComponent("again.png")
        let run = try likeness(["generate", "--model", model, "--prompt", "a small <obj>,\nat the left", "--negative-prompt", "a heart, at the left",
                                "--object", "mug", "--gallery", galleryDir, "--steps", "3", "--sampler", "dpmpp-2m", "--karras",
                                "--guidance", "4.5", "--identity-guidance", "1.5", "--seed", "11", "--width", "48", "--output", first.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let from = try likeness(["generate", "--from", first.path, "--model", model, "--gallery", galleryDir, "--output", again.path])
        XCTAssertEqual(from.status, 0, from.stderr)
        XCTAssertEqual(from.stderr, "", "nothing unsupported in our own PNG")
        XCTAssertEqual(try RGBImage(contentsOf: first).pixels, try RGBImage(contentsOf: again).pixels)
        XCTAssertEqual(try parameters(first), try parameters(again))

        // Overrides win over the recalled values.
        let other = tmp.appendingPathComponent("other.png")
        XCTAssertEqual(try likeness(["generate", "--from", first.path, "--model", model, "--gallery", galleryDir,
                                     "--seed", "12", "--output", other.path]).status, 0)
        let p = try parameters(other)
        XCTAssertTrue(p.contains("Seed: 12,") && p.contains("Sampler: DPM++ 2M Karras") && p.contains("Size: 48x32"), p)

        // The object must still be in the gallery.
        assertOneLineFailure(try likeness(["generate", "--from", first.path, "--model", model, "--gallery", tmp.appendingPathComponent("empty").path,
                                           "--output", other.path]), mentioning: "pass --object")
    }

    func testFromAnA1111PNGReportsWhatItCannotHonour() throws {
        let model = try fixture("toy-a")
        let a1111 = tmp.appendingPathComponent("a1111.png")
        let chunk = "a red star\nNegative prompt: a heart\nSteps: 2, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 32x32, "
            + "Model hash: abc, Model: v1-5, Hires upscale: 2, Version: v1.6.0"
        try RGBImage(width: 8, height: 8, fill: .white).write(to: a1111, text: [("parameters", chunk)])
        let out = tmp.appendingPathComponent("out.png")
        let run = try likeness(["generate", "--from", a1111.path, "--model", model, "--output", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("cannot honour Hires upscale: 2 (hires fix"), run.stderr)
        XCTAssertTrue(run.stderr.contains("cannot honour Model: v1-5"), run.stderr)
        let p = try parameters(out)
        XCTAssertTrue(p.hasPrefix("a red star\nNegative prompt: a heart\nSteps: 2, Sampler: DPM++ 2M Karras, Karras: true, CFG scale: 7, Seed: 1234,"), p)

        let params = try likeness(["params", a1111.path])
        XCTAssertEqual(params.status, 0, params.stderr)
        XCTAssertTrue(params.stdout.hasPrefix(chunk), params.stdout)
        XCTAssertTrue(params.stdout.contains("Likeness cannot honour:\n  Hires upscale: 2"), params.stdout)
        let json = try likeness(["params", a1111.path, "--json"])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["prompt"] as? String, "a red star")
        XCTAssertEqual(obj["negative_prompt"] as? String, "a heart")
        XCTAssertEqual(obj["sampler"] as? String, "dpmpp-2m")
        XCTAssertEqual(obj["karras"] as? Bool, true)
        XCTAssertEqual(obj["seed"] as? Int, 1234)
        XCTAssertEqual((obj["unsupported"] as? [[String: String]])?.map { $0["key"] ?? "" }, ["Hires upscale"])

        let plain = tmp.appendingPathComponent("plain.png")
        try RGBImage(width: 4, height: 4, fill: .white).write(to: plain)
        assertOneLineFailure(try likeness(["params", plain.path]), mentioning: "no 'parameters'")
        assertOneLineFailure(try likeness(["generate", "--from", plain.path, "--output", out.path]), mentioning: "plain.png")
    }

    /// info loads every component, as generation does, and names what is wrong.
    func testInfoFailsOnBrokenModels() throws {
        let source = URL(fileURLWithPath: try fixture("toy-a"))
        let badConfig = tmp.appendingPathComponent("bad-config")
        try FileManager.default.copyItem(at: source, to: badConfig)
        try Data(#"{"_class_name": "UNet2DConditionModel", "block_out_channels": "oops"}"#.utf8)
            .write(to: badConfig.appendingPathComponent("unet/config.json"))
        let r1 = try likeness(["info", "--model", badConfig.path])
        XCTAssertEqual(r1.status, 1, r1.stdout)
        XCTAssertTrue(r1.stderr.contains("unet/config.json") && r1.stderr.contains("block_out_channels"), r1.stderr)

        // A VAE without one of its tensors.
        let missing = tmp.appendingPathComponent("missing-tensor")
        try FileManager.default.copyItem(at: source, to: missing)
        let vaeURL = missing.appendingPathComponent("vae/diffusion_pytorch_model.safetensors")
        let vae = try SafeTensorsFile(url: vaeURL)
        let dropped = try XCTUnwrap(vae.names.first)
        var kept: [String: Tensor] = [:]
        for name in vae.names.dropFirst() { kept[name] = try vae.tensor(named: name) }
        try SafeTensorsWriter.write(kept, to: vaeURL)
        let r2 = try likeness(["info", "--model", missing.path])
        XCTAssertEqual(r2.status, 1, r2.stdout)
        XCTAssertTrue(r2.stderr.contains(dropped), "should name \(dropped): \(r2.stderr)")
    }
}
