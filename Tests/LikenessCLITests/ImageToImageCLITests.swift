// `likeness generate --init IMAGE --strength S`: an init image of another size is stretched to the
// generation's size with a note on stderr; `Denoising strength: S` is written as A1111 writes it;
// the same seed gives the same image; --from with --init honours the recorded strength (without
// --init it says it cannot); a strength outside 0...1, or without --init, is a clear error.

import Foundation
import XCTest

extension LikenessCLITests {
    func testImageToImageWritesAndRecallsStrength() throws {
        let model = try fixture("toy-a")
        let initPath = try fixture("reference.png") // 64x64; toy-a makes 32x32
        let common = ["generate", "--model", model, "--prompt", "a large red star on the beach", "--steps", "4", "--seed", "3"]
        let first = tmp.appendingPathComponent("first.png")
        let run = try likeness(common + ["--init", initPath, "--strength", "0.5", "--output", first.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("init image reference.png is 64x64; resized to 32x32"), run.stderr)
        XCTAssertTrue(run.stderr.contains("Just resize"), run.stderr)
        let written = try parameters(first)
        XCTAssertTrue(written.contains("Denoising strength: 0.5"), written)

        let again = tmp.appendingPathComponent("again.png")
        XCTAssertEqual(try likeness(common + ["--init", initPath, "--strength", "0.5", "--output", again.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: first), "same seed, same image")

        let noise = tmp.appendingPathComponent("noise.png")
        XCTAssertEqual(try likeness(common + ["--output", noise.path]).status, 0)
        XCTAssertNotEqual(try Data(contentsOf: noise), try Data(contentsOf: first), "the init image changes the image")
        XCTAssertFalse(try parameters(noise).contains("Denoising"), "text-to-image records no strength")

        let other = tmp.appendingPathComponent("other.png")
        XCTAssertEqual(try likeness(common + ["--init", initPath, "--strength", "0.9", "--output", other.path]).status, 0)
        XCTAssertNotEqual(try Data(contentsOf: other), try Data(contentsOf: first), "the strength changes the image")

        let recalled = tmp.appendingPathComponent("recalled.png")
        let from = try likeness(["generate", "--model", model, "--from", first.path, "--init", initPath, "--output", recalled.path])
        XCTAssertEqual(from.status, 0, from.stderr)
        XCTAssertFalse(from.stderr.contains("Denoising"), from.stderr)
        XCTAssertEqual(try Data(contentsOf: recalled), try Data(contentsOf: first), "--from honours Denoising strength with --init")

        let withoutInit = try likeness(["generate", "--model", model, "--from", first.path, "--output", tmp.appendingPathComponent("x.png").path])
        XCTAssertEqual(withoutInit.status, 0, withoutInit.stderr)
        XCTAssertTrue(withoutInit.stderr.contains("cannot honour Denoising strength: 0.5"), withoutInit.stderr)
        XCTAssertTrue(withoutInit.stderr.contains("--init IMAGE"), withoutInit.stderr)
    }

    func testImageToImageBadInput() throws {
        let model = try fixture("toy-a")
        let initPath = try fixture("reference.png")
        let common = ["generate", "--model", model, "--prompt", "a large red star on the beach", "--steps", "2",
                      "--output", tmp.appendingPathComponent("bad.png").path]
        for bad in ["1.5", "-0.2", "nan"] {
            assertOneLineFailure(try likeness(common + ["--init", initPath, "--strength", bad]), mentioning: "--strength must be a number from 0 to 1")
        }
        assertOneLineFailure(try likeness(common + ["--strength", "0.5"]), mentioning: "--strength needs --init IMAGE")
        assertOneLineFailure(try likeness(common + ["--init", tmp.appendingPathComponent("missing.png").path]), mentioning: "no such file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("bad.png").path))
    }
}
