// `likeness generate` with few-step models (scripts/fixtures/few_step.py): a folder whose scheduler
// config is LCMScheduler samples with lcm unless --sampler says otherwise, and records
// `Sampler: LCM`; `--sampler lcm` on a plain model runs but warns; an LCM-LoRA runs without the
// warning.

import Foundation
import XCTest

extension LikenessCLITests {
    func fewStepFixture(_ name: String) throws -> URL {
        let u = Self.fixtures.deletingLastPathComponent().appendingPathComponent("few_step/\(name)")
        guard FileManager.default.fileExists(atPath: u.path) else {
            XCTFail("fixture \(u.path) is missing; run .venv/bin/python scripts/fixtures/few_step.py")
            throw CocoaError(.fileNoSuchFile)
        }
        return u
    }

    func testLCMFolderDefaultsToTheLCMSampler() throws {
        let out = tmp.appendingPathComponent("lcm.png")
        let run = try likeness(["generate", "--model", try fewStepFixture("lcm").path, "--prompt", "a red star on the beach",
                                "--steps", "2", "--seed", "3", "--guidance", "3", "--output", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stderr.contains("lcm sampler is meant"), run.stderr)
        let params = try likeness(["params", out.path]).stdout
        XCTAssertTrue(params.contains("Sampler: LCM"), params)
        // --from gives the same image again (the LCM sampler recalled by name).
        let again = tmp.appendingPathComponent("again.png")
        XCTAssertEqual(try likeness(["generate", "--model", try fewStepFixture("lcm").path, "--from", out.path,
                                     "--output", again.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: out))
        // Another sampler on request.
        let euler = tmp.appendingPathComponent("euler.png")
        XCTAssertEqual(try likeness(["generate", "--model", try fewStepFixture("lcm").path, "--prompt", "a red star on the beach",
                                     "--steps", "2", "--seed", "3", "--sampler", "euler", "--output", euler.path]).status, 0)
        XCTAssertTrue(try likeness(["params", euler.path]).stdout.contains("Sampler: Euler"))
    }

    func testLCMSamplerOnAPlainModelWarns() throws {
        let common = ["generate", "--model", try fewStepFixture("base").path, "--prompt", "a red star on the beach",
                      "--steps", "2", "--seed", "3", "--guidance", "1", "--sampler", "lcm"]
        let plain = try likeness(common + ["--output", tmp.appendingPathComponent("plain.png").path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stderr.contains("lcm sampler is meant for LCM-distilled models or an LCM-LoRA"), plain.stderr)
        let lora = try likeness(common + ["--lora", try fewStepFixture("lcm-lora.safetensors").path,
                                          "--output", tmp.appendingPathComponent("lora.png").path])
        XCTAssertEqual(lora.status, 0, lora.stderr)
        XCTAssertFalse(lora.stderr.contains("lcm sampler is meant"), lora.stderr)
    }
}
