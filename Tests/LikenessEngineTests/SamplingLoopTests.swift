// Full sampling loops against diffusers 0.42 (StableDiffusionPipeline's loop without guidance)
// for every sampler, both prediction types, Karras sigmas where offered, 10 and 25 steps, plus
// DDIM clip_sample / linspace / trailing spacing and DPM final_sigmas_type "sigma_min". The
// model is a fake that Swift computes identically:
//   out = 0.3 * x * cos(t / 300) + 0.05 * sin(t / 50 + i / 7)   (i = flat index, float64 math)
// and the initial latents (and Euler-ancestral noise) come from TorchGenerator with the seed
// the fixture gave torch.Generator, so the RNG is covered end to end.
// Also: the API contract (timesteps seen by the model, step events, cancellation, errors).
// Fixtures: scripts/fixtures/tokenizers_sampling.py (sampling/loops.*).

import Foundation
import XCTest
@testable import LikenessEngine

final class SamplingLoopTests: XCTestCase {
    static func fakeModel(_ x: [Float], _ timestep: Float) -> [Float] {
        let t = Double(timestep)
        let c = cos(t / 300)
        return x.indices.map { i in Float(0.3 * Double(x[i]) * c + 0.05 * sin(t / 50 + Double(i) / 7)) }
    }

    func testFullLoopsMatchDiffusers() throws {
        let tensors = try LikenessFixtures.tensors("sampling/loops.safetensors")
        guard let runs = try LikenessFixtures.json("sampling/loops.json") as? [[String: Any]], !runs.isEmpty else {
            return XCTFail("sampling/loops.json is empty")
        }
        var worst: Float = 0
        for run in runs {
            guard let name = run["name"] as? String, let kindName = run["kind"] as? String, let cfg = run["config"],
                  let steps = run["steps"] as? Int, let shape = run["shape"] as? [Int], let seed = run["seed"] as? Int,
                  let timesteps = run["timesteps"] as? [Double], let expectedFinal = tensors[name + "_final"],
                  let expectedLatents = tensors[name + "_latents"], let expectedDenoised = tensors[name + "_denoised"]
            else { return XCTFail("bad loop entry \(run)") }
            let plan = try makeSamplingPlan(kind: SamplerKind(parsing: kindName), config: SamplingScheduleTests.config(from: cfg), steps: steps)
            XCTAssertEqual(plan.timesteps.count, timesteps.count, "\(name) step count")
            for (a, b) in zip(plan.timesteps, timesteps) {
                XCTAssertEqual(Double(a), b, accuracy: 1e-4 * max(1, abs(b)), "\(name) timesteps")
            }
            let count = shape.reduce(1, *)
            var generator = TorchGenerator(seed: UInt64(seed))
            let start = initialLatents(plan: plan, count: count, generator: &generator)
            var seenTimesteps: [Float] = []
            var stepLatents: [Float] = []
            var stepDenoised: [Float] = []
            let final = try runSampling(plan: plan, latents: start, generator: &generator, model: { input, t in
                seenTimesteps.append(t)
                return Self.fakeModel(input, t)
            }, onStep: { progress in
                XCTAssertEqual(progress.step, stepLatents.count / count + 1)
                XCTAssertEqual(progress.total, plan.stepCount)
                stepLatents += progress.latents
                stepDenoised += progress.denoised
            })
            XCTAssertEqual(seenTimesteps, plan.timesteps, "\(name): timesteps passed to the model")
            worst = max(worst, assertParity(final, expectedFinal, "\(name) final latents"))
            assertParity(stepLatents, expectedLatents, "\(name) per-step latents")
            assertParity(stepDenoised, expectedDenoised, "\(name) per-step x0")
        }
        print("parity sampling loops: \(runs.count) runs, worst final max-abs diff \(worst)")
    }

    // MARK: API contract

    private func sd15Plan(_ kind: SamplerKind, steps: Int = 5) throws -> SamplingPlan {
        try makeSamplingPlan(kind: kind, config: SamplingScheduleTests.config(from: SamplingStepTests.sd15), steps: steps)
    }

    func testSamplerNamesParse() throws {
        XCTAssertEqual(try SamplerKind(parsing: "ddim"), .ddim)
        XCTAssertEqual(try SamplerKind(parsing: "Euler"), .euler)
        XCTAssertEqual(try SamplerKind(parsing: "euler-a"), .eulerAncestral)
        XCTAssertEqual(try SamplerKind(parsing: "dpmpp-2m"), .dpmpp2m)
        XCTAssertThrowsError(try SamplerKind(parsing: "plms")) { error in
            XCTAssertEqual("\(error)", "unknown sampler \"plms\"; valid samplers: ddim, euler, euler-a, dpmpp-2m, lcm")
        }
    }

    func testCancellationStopsTheLoop() throws {
        let plan = try sd15Plan(.euler)
        var g = TorchGenerator(seed: 1)
        let start = initialLatents(plan: plan, count: 32, generator: &g)
        var calls = 0
        XCTAssertThrowsError(try runSampling(plan: plan, latents: start, generator: &g, model: { x, t in
            calls += 1
            return Self.fakeModel(x, t)
        }, onStep: { progress in
            if progress.step == 2 { throw GenerationCancelled(afterStep: progress.step) }
        })) { error in
            XCTAssertEqual(error as? GenerationCancelled, GenerationCancelled(afterStep: 2))
        }
        XCTAssertEqual(calls, 2, "no model call after cancellation")
    }

    func testModelOutputOfWrongSizeIsAnError() throws {
        let plan = try sd15Plan(.dpmpp2m)
        var g = TorchGenerator(seed: 1)
        let start = initialLatents(plan: plan, count: 16, generator: &g)
        XCTAssertThrowsError(try runSampling(plan: plan, latents: start, generator: &g, model: { _, _ in [0, 0] })) { error in
            XCTAssertEqual(error as? SamplingError, .modelOutputCountMismatch(expected: 16, got: 2, step: 0))
        }
    }

    func testPlanErrorsAreClear() throws {
        let config = try SamplingScheduleTests.config(from: SamplingStepTests.sd15)
        XCTAssertThrowsError(try makeSamplingPlan(kind: .ddim, config: config, steps: 10, karras: true)) { error in
            XCTAssertEqual(error as? SamplingError, .karrasUnsupported(.ddim))
        }
        XCTAssertThrowsError(try makeSamplingPlan(kind: .euler, config: config, steps: 0))
        XCTAssertThrowsError(try makeSamplingPlan(kind: .euler, config: config, steps: 1001))
        var thresholding = SamplingStepTests.sd15
        thresholding["thresholding"] = true
        XCTAssertThrowsError(try makeSamplingPlan(kind: .ddim, config: SamplingScheduleTests.config(from: thresholding), steps: 10)) { error in
            XCTAssertTrue("\(error)".contains("thresholding"), "\(error)")
        }
        var badPrediction = SamplingStepTests.sd15
        badPrediction["prediction_type"] = "sample"
        XCTAssertThrowsError(try makeSamplingPlan(kind: .euler, config: SamplingScheduleTests.config(from: badPrediction), steps: 10)) { error in
            XCTAssertTrue("\(error)".contains("prediction_type"), "\(error)")
        }
        var trailing = SamplingStepTests.sd15
        trailing["timestep_spacing"] = "trailing"
        XCTAssertThrowsError(try makeSamplingPlan(kind: .ddim, config: SamplingScheduleTests.config(from: trailing), steps: 61)) { error in
            XCTAssertTrue("\(error)".contains("-1"), "\(error)")
        }
        XCTAssertThrowsError(try SchedulerConfig(jsonData: Data("{\"beta_start\": \"x\"}".utf8))) { error in
            XCTAssertTrue("\(error)".contains("beta_start"), "\(error)")
        }
        var badBeta = SamplingStepTests.sd15
        badBeta["beta_end"] = 1.5
        XCTAssertThrowsError(try makeSamplingPlan(kind: .euler, config: SamplingScheduleTests.config(from: badBeta), steps: 10)) { error in
            XCTAssertTrue("\(error)".contains("beta_end"), "\(error)")
        }
        XCTAssertTrue(try makeSamplingPlan(kind: .euler, config: config, steps: 10, karras: true).settings.useKarrasSigmas)
    }

    func testDeterministicForAGivenSeed() throws {
        for kind in SamplerKind.allCases {
            let plan = try sd15Plan(kind)
            func run(_ seed: UInt64) throws -> [Float] {
                var g = TorchGenerator(seed: seed)
                let start = initialLatents(plan: plan, count: 64, generator: &g)
                return try runSampling(plan: plan, latents: start, generator: &g, model: Self.fakeModel)
            }
            XCTAssertEqual(try run(3), try run(3), "\(kind)")
            XCTAssertNotEqual(try run(3), try run(4), "\(kind)")
        }
    }
}
