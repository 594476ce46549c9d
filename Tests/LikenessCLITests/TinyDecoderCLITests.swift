// `likeness generate --decoder full|tiny|PATH`: the tiny decoder (scripts/fixtures/tiny_decoder.py's
// random AutoencoderTiny) is found in $XDG_DATA_HOME/likeness/decoders/taesd, recorded as
// `Decoder: NAME` in the PNG parameters and used again by --from; clear errors when none is found
// or the path is not a tiny decoder.

import Foundation
import XCTest

extension LikenessCLITests {
    func tinyDecoderFixture(_ name: String) throws -> URL {
        let u = Self.fixtures.deletingLastPathComponent().appendingPathComponent("tiny_decoder/\(name)")
        guard FileManager.default.fileExists(atPath: u.path) else {
            XCTFail("fixture \(u.path) is missing; run .venv/bin/python scripts/fixtures/tiny_decoder.py")
            throw CocoaError(.fileNoSuchFile)
        }
        return u
    }

    func testTinyDecoderIsFoundRecordedAndRecalled() throws {
        let model = try fixture("toy-a")
        let common = ["generate", "--model", model, "--prompt", "a large red star on the beach", "--steps", "2", "--seed", "4"]
        let none = try likeness(common + ["--decoder", "tiny", "--output", tmp.appendingPathComponent("none.png").path])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("no tiny decoder found"), none.stderr)
        XCTAssertTrue(none.stderr.contains("likeness/decoders/taesd"), none.stderr)

        let decoders = tmp.appendingPathComponent("xdg-data/likeness/decoders")
        try FileManager.default.createDirectory(at: decoders, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try tinyDecoderFixture("small"), to: decoders.appendingPathComponent("taesd"))
        let tiny = tmp.appendingPathComponent("tiny.png")
        let run = try likeness(common + ["--decoder", "tiny", "--output", tiny.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let params = try likeness(["params", tiny.path])
        XCTAssertTrue(params.stdout.contains("Decoder: taesd"), params.stdout)

        let again = tmp.appendingPathComponent("again.png")
        let recalled = try likeness(["generate", "--model", model, "--from", tiny.path, "--output", again.path])
        XCTAssertEqual(recalled.status, 0, recalled.stderr)
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: tiny), "--from decodes with the tiny decoder again")

        let full = tmp.appendingPathComponent("full.png")
        XCTAssertEqual(try likeness(["generate", "--model", model, "--from", tiny.path, "--decoder", "full", "--output", full.path]).status, 0)
        XCTAssertNotEqual(try Data(contentsOf: full), try Data(contentsOf: tiny))
        XCTAssertFalse(try likeness(["params", full.path]).stdout.contains("Decoder:"))
    }

    func testTinyDecoderPathAndBadPaths() throws {
        let model = try fixture("toy-a")
        let common = ["generate", "--model", model, "--prompt", "a large red star on the beach", "--steps", "1", "--seed", "4"]
        let file = tmp.appendingPathComponent("file.png")
        let run = try likeness(common + ["--decoder", try tinyDecoderFixture("small_decoder.safetensors").path, "--output", file.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(try likeness(["params", file.path]).stdout.contains("Decoder: small_decoder.safetensors"))

        let vae = try likeness(common + ["--decoder", try fixture("toy-a/vae"), "--output", tmp.appendingPathComponent("x.png").path])
        XCTAssertEqual(vae.status, 1)
        XCTAssertTrue(vae.stderr.contains("not an AutoencoderTiny"), vae.stderr)
        let other = try likeness(["generate", "--model", try fixture("toy-b"), "--prompt", "a large red star on the beach", "--steps", "1",
                                  "--decoder", try tinyDecoderFixture("small").path, "--output", tmp.appendingPathComponent("y.png").path])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains("another latent space"), other.stderr)
    }
}
