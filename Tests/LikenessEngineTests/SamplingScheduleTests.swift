// Timesteps, noise levels and init_noise_sigma against diffusers 0.42 set_timesteps for every
// beta_schedule × timestep_spacing × steps_offset × Karras (where offered) × set_alpha_to_one
// (DDIM) × steps in {1, 10, 25, 50}, plus extras (final_sigmas_type, zero-SNR rescaling,
// trained betas, sigma_min/max, the SD 1.5 / SD 2 configs).
// Fixtures: scripts/fixtures/tokenizers_sampling.py (sampling/schedules.json).

import Foundation
import XCTest
@testable import LikenessEngine

final class SamplingScheduleTests: XCTestCase {
    static func config(from dict: Any) throws -> SchedulerConfig {
        try SchedulerConfig(jsonData: JSONSerialization.data(withJSONObject: dict), path: "fixture config")
    }

    private func maxRelDiff(_ a: [Float], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        var worst = 0.0
        for (x, y) in zip(a, b) {
            let d = abs(Double(x) - y) / max(1, abs(y))
            worst = max(worst, d.isNaN ? .infinity : d)
        }
        return worst
    }

    func testSchedulesMatchDiffusers() throws {
        guard let entries = try LikenessFixtures.json("sampling/schedules.json") as? [[String: Any]], !entries.isEmpty else {
            return XCTFail("sampling/schedules.json is empty")
        }
        var worstTimestep = 0.0, worstSigma = 0.0, worstInit = 0.0
        var failures = 0
        for e in entries {
            guard let kindName = e["kind"] as? String, let cfg = e["config"], let steps = e["steps"] as? Int,
                  let timesteps = e["timesteps"] as? [Double], let initSigma = e["init_noise_sigma"] as? Double
            else { return XCTFail("bad entry \(e)") }
            let kind = try SamplerKind(parsing: kindName)
            let label = "\(kindName) \(steps) steps \(cfg)"
            let plan = try makeSamplingPlan(kind: kind, config: Self.config(from: cfg), steps: steps)
            let dt = maxRelDiff(plan.timesteps, timesteps)
            var ds: Double
            if kind == .ddim {
                guard let alphas = e["alphas"] as? [Double], let prev = e["prev_alphas"] as? [Double] else {
                    return XCTFail("ddim entry without alphas")
                }
                let sig = alphas.map { Double(NoiseSchedule.sigma(alphaCumprod: Float($0))) }
                let tgt = prev.map { Double(NoiseSchedule.sigma(alphaCumprod: Float($0))) }
                ds = max(maxRelDiff(Array(plan.sigmas.dropLast()), sig), maxRelDiff(plan.ddimTargets ?? [], tgt))
            } else {
                guard let sigmas = e["sigmas"] as? [Double] else { return XCTFail("entry without sigmas") }
                ds = maxRelDiff(plan.sigmas, sigmas)
            }
            let di = abs(Double(plan.initNoiseSigma) - initSigma) / max(1, initSigma)
            worstTimestep = max(worstTimestep, dt)
            worstSigma = max(worstSigma, ds)
            worstInit = max(worstInit, di)
            if dt > 1e-4 || ds > 1e-4 || di > 1e-4 {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(label): timesteps diff \(dt), sigmas diff \(ds), init diff \(di)\n got t \(plan.timesteps)\n exp t \(timesteps)\n got s \(plan.sigmas)")
                }
            }
        }
        print("parity schedules: \(entries.count) configs, max relative diff timesteps \(worstTimestep), sigmas \(worstSigma), init_noise_sigma \(worstInit)")
        XCTAssertEqual(failures, 0)
    }

    func testSchedulerConfigFilesDecode() throws {
        let sd15 = try SchedulerConfig(contentsOf: LikenessFixtures.url("sampling/configs/sd15.json"))
        XCTAssertEqual(sd15.className, "PNDMScheduler")
        XCTAssertEqual(sd15.betaSchedule, "scaled_linear")
        XCTAssertEqual(sd15.stepsOffset, 1)
        // Keys the file omits take the sampler's own defaults, as with Target.from_config(pipe.scheduler.config).
        let euler = try sd15.resolved(for: .euler)
        XCTAssertEqual(euler.timestepSpacing, .linspace)
        XCTAssertEqual(try sd15.resolved(for: .ddim).timestepSpacing, .leading)
        XCTAssertEqual(euler.predictionType, .epsilon)
        let ddim = try sd15.resolved(for: .ddim)
        XCTAssertFalse(ddim.setAlphaToOne)
        XCTAssertNil(ddim.clipSampleRange)

        // A DPMSolverMultistepScheduler config saved by diffusers (lambda_min_clipped: -Infinity).
        let saved = try SchedulerConfig(contentsOf: LikenessFixtures.url("sampling/configs/dpm-saved/scheduler_config.json"))
        XCTAssertEqual(saved.lambdaMinClipped, -.infinity)
        XCTAssertEqual(try saved.resolved(for: .dpmpp2m).timestepSpacing, .linspace)

        // No class name: the sampler's own diffusers defaults.
        let bare = try SchedulerConfig(jsonData: Data("{}".utf8))
        XCTAssertEqual(try bare.resolved(for: .euler).timestepSpacing, .linspace)
        XCTAssertEqual(try bare.resolved(for: .ddim).timestepSpacing, .leading)
        XCTAssertEqual(try bare.resolved(for: .ddim).clipSampleRange, 1.0)
        XCTAssertTrue(try bare.resolved(for: .ddim).setAlphaToOne)
    }
}
