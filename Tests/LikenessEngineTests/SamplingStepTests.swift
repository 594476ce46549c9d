// Single scheduler.step() outputs against diffusers 0.42 for fixed inputs (SD 1.5 betas,
// 10 steps, step index 3; DPM-Solver++: a first-order step at 2 then a second-order step at 3),
// both prediction types, with and without Karras sigmas where diffusers offers them; Euler
// ancestral noise comes from a TorchGenerator seeded like the torch.Generator in the fixture.
// Fixtures: scripts/fixtures/tokenizers_sampling.py (sampling/steps.*).

import Foundation
import XCTest
@testable import LikenessEngine

final class SamplingStepTests: XCTestCase {
    static let sd15: [String: Any] = [
        "_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
        "clip_sample": false,
    ]

    private func toVE(_ x: [Float], _ sigma: Float) -> [Float] {
        let s = (sigma * sigma + 1).squareRoot()
        return x.map { $0 * s }
    }

    private func toVP(_ x: [Float], _ sigma: Float) -> [Float] {
        let s = (sigma * sigma + 1).squareRoot()
        return x.map { $0 / s }
    }

    func testSingleStepsMatchDiffusers() throws {
        let t = try LikenessFixtures.tensors("sampling/steps.safetensors")
        guard let entries = try LikenessFixtures.json("sampling/steps.json") as? [[String: Any]], !entries.isEmpty,
              let sample = t["sample"], let output = t["model_output"], let outputPrev = t["model_output_prev"]
        else { return XCTFail("sampling/steps fixtures incomplete") }
        for e in entries {
            guard let name = e["name"] as? String, let kindName = e["kind"] as? String, let predictionName = e["prediction"] as? String,
                  let karras = e["karras"] as? Bool, let i = e["index"] as? Int, let timestep = e["timestep"] as? Double,
                  let expected = t[name] else { return XCTFail("bad step entry \(e)") }
            var cfg = Self.sd15
            cfg["prediction_type"] = predictionName
            cfg["use_karras_sigmas"] = karras
            let kind = try SamplerKind(parsing: kindName)
            let prediction = try XCTUnwrap(PredictionType(rawValue: predictionName))
            let plan = try makeSamplingPlan(kind: kind, config: SamplingScheduleTests.config(from: cfg), steps: 10)
            XCTAssertEqual(Double(plan.timesteps[i]), timestep, accuracy: 1e-3, name)
            let sigma = plan.sigmas[i]
            switch kind {
            case .euler, .eulerAncestral:
                if let modelInput = t[name + "_model_input"] {
                    assertParity(Parameterization.modelInput(sample, sigma: sigma), modelInput, name + " model input")
                }
                let denoised = Parameterization.denoised(x: sample, sigma: sigma, modelOutput: output, prediction: prediction)
                assertParity(denoised, t[name + "_x0"] ?? [], name + " x0")
                let next: [Float]
                if kind == .euler {
                    next = EulerSampler.step(x: sample, denoised: denoised, sigma: sigma, sigmaNext: plan.sigmas[i + 1])
                } else {
                    var g = TorchGenerator(seed: UInt64(e["noise_seed"] as? Int ?? 0))
                    next = EulerAncestralSampler.step(x: sample, denoised: denoised, sigma: sigma, sigmaNext: plan.sigmas[i + 1],
                                                      noise: g.randn(sample.count))
                }
                assertParity(next, expected, name + " prev_sample")
            case .ddim:
                let x = toVE(sample, sigma)
                let denoised = Parameterization.denoised(x: x, sigma: sigma, modelOutput: output, prediction: prediction)
                let target = try XCTUnwrap(plan.ddimTargets)[i]
                let result = DDIMSampler.step(x: x, denoised: denoised, sigma: sigma, sigmaTo: target, clip: nil)
                assertParity(result.x0, t[name + "_x0"] ?? [], name + " x0")
                assertParity(toVP(result.x, target), expected, name + " prev_sample")
            case .dpmpp2m:
                let s0 = plan.sigmas[i - 1]
                let x0 = toVE(sample, s0)
                let d0 = Parameterization.denoised(x: x0, sigma: s0, modelOutput: outputPrev, prediction: prediction)
                let x1 = DPMSolverSampler.step(x: x0, denoised: d0, sigma: s0, sigmaNext: sigma, previous: nil)
                assertParity(toVP(x1, sigma), t[name + "_first"] ?? [], name + " first-order prev_sample")
                // Continue from diffusers' own first-step output, as the scheduler does.
                let x1Ref = toVE(t[name + "_first"] ?? [], sigma)
                let d1 = Parameterization.denoised(x: x1Ref, sigma: sigma, modelOutput: output, prediction: prediction)
                let x2 = DPMSolverSampler.step(x: x1Ref, denoised: d1, sigma: sigma, sigmaNext: plan.sigmas[i + 1],
                                               previous: (d0, s0))
                assertParity(toVP(x2, plan.sigmas[i + 1]), expected, name + " second-order prev_sample")
            case .lcm:
                XCTFail("\(name): LCM steps are checked in FewStepParityTests")
            }
        }
    }
}
