// Image-to-image with the LCM sampler against diffusers on random weights
// (scripts/fixtures/few_step.py, Tests/Fixtures/generated/few_step/): LCMScheduler.set_timesteps
// with a strength; LatentConsistencyModelImg2ImgPipeline on the LCM-distilled folder (all 4 steps
// run, from the distillation schedule cut by the strength, embedded guidance 8.5) and
// StableDiffusionImg2ImgPipeline with a fused LCM-LoRA and LCMScheduler on the plain folder (the
// last int(4 x strength) steps run, guidance 1.5 with a negative prompt), strengths 0.3 / 0.75 /
// 1.0, same seed -> same image, PSNR >= 40 dB at the fixture size (32x32); identity guidance under
// embedded guidance with an init image (a no-op at 0, the object changes the image); bad strengths.

import Foundation
import XCTest
@testable import LikenessEngine

private struct FewStepImageToImageMeta: Decodable {
    struct Timesteps: Decodable {
        let original_inference_steps: Int, steps: Int, strength: Float, timesteps: [Int]
    }
    struct Case: Decodable {
        let name: String, folder: String, image: String, sampler: String, steps: Int, guidance: Float, seed: UInt64
        let prompt: String, negative_prompt: String, lora: String?, strength: Float
    }
    let strength_timesteps: [Timesteps]
    let img2img_cases: [Case]
    let object_prompt: String
}

final class FewStepImageToImageTests: XCTestCase {
    private func meta() throws -> FewStepImageToImageMeta {
        try JSONDecoder().decode(FewStepImageToImageMeta.self, from: Data(contentsOf: FewStepFixtures.url("expected.json")))
    }

    func testLCMStrengthTimestepsMatchDiffusers() throws {
        let meta = try meta()
        XCTAssertGreaterThanOrEqual(meta.strength_timesteps.count, 6)
        var config = try SchedulerConfig(contentsOf: FewStepFixtures.url("lcm/scheduler/scheduler_config.json"))
        for e in meta.strength_timesteps {
            let label = "original \(e.original_inference_steps), \(e.steps) steps, strength \(e.strength)"
            XCTAssertEqual(try lcmTimesteps(numTrainTimesteps: 1000, originalSteps: e.original_inference_steps, steps: e.steps,
                                            strength: e.strength), e.timesteps, label)
            config.originalInferenceSteps = e.original_inference_steps
            let plan = try SamplingPlan.lcmImageToImage(config: config, steps: e.steps, strength: e.strength)
            XCTAssertEqual(plan.timesteps, e.timesteps.map { Float($0) }, label)
            XCTAssertEqual(plan.consistency?.cOut.count, e.steps, label)
            XCTAssertEqual(plan.sigmas.last, 0, label)
        }
        config.originalInferenceSteps = 50
        // Fewer distillation timesteps than steps (diffusers raises): refused, naming both fixes.
        XCTAssertThrowsError(try SamplingPlan.lcmImageToImage(config: config, steps: 4, strength: 0.05)) { error in
            XCTAssertTrue("\(error)".contains("keeps 2 of the 50 distillation timesteps"), "\(error)")
            XCTAssertTrue("\(error)".contains("use at most 2 steps or a strength of at least 0.08"), "\(error)")
        }
        // Strength 0 keeps none: no step runs (as the other samplers' img2img here).
        XCTAssertEqual(try SamplingPlan.lcmImageToImage(config: config, steps: 4, strength: 0).stepCount, 0)
        // The LCM-LoRA path slices the full plan; its scalings are sliced with it.
        let full = try makeSamplingPlan(kind: .lcm, config: config, steps: 4)
        let tail = full.starting(at: 1)
        XCTAssertEqual(tail.timesteps, Array(full.timesteps.dropFirst()))
        XCTAssertEqual(tail.consistency?.cSkip, full.consistency.map { Array($0.cSkip.dropFirst()) })
        XCTAssertEqual(tail.consistency?.cOut, full.consistency.map { Array($0.cOut.dropFirst()) })
    }

    func testImageToImageMatchesDiffusers() throws {
        let meta = try meta()
        let ref = try FewStepFixtures.expected()
        let initImage = try ref.tensor(named: "pixels.init")
        XCTAssertEqual(initImage.shape, [1, 3, 32, 32])
        XCTAssertEqual(meta.img2img_cases.count, 6, "LCM and LCM-LoRA at strengths 0.3, 0.75 and 1.0")
        var pipelines: [String: LikenessPipeline] = [:]
        var worst = Double.infinity
        var byFolder: [String: [Tensor]] = [:]
        for c in meta.img2img_cases {
            let key = c.folder + (c.lora ?? "")
            let pipe = try pipelines[key] ?? FewStepFixtures.pipeline(c.folder, lora: c.lora)
            pipelines[key] = pipe
            var request = GenerationRequest(prompt: c.prompt)
            request.negativePrompt = c.negative_prompt
            request.seeds = [c.seed]
            request.steps = c.steps
            request.textGuidance = c.guidance
            request.sampler = try SamplerKind(parsing: c.sampler)
            request.preview = .none
            request.initImage = initImage
            request.strength = c.strength
            var steps: [Int] = []
            let result = try pipe.generate(request) { steps.append($0.step) }
            // LCM-distilled: every step runs (LatentConsistencyModelImg2ImgPipeline); LCM-LoRA: the
            // last int(steps x strength) of the full schedule (StableDiffusionImg2ImgPipeline).
            let expected = c.folder == "lcm" ? c.steps : c.steps - SamplingPlan.imageToImageStart(steps: c.steps, strength: c.strength)
            XCTAssertEqual(steps, Array(1...expected), c.name)
            worst = min(worst, assertPSNR(result.image, try ref.tensor(named: c.image), "\(c.name) vs diffusers"))
            XCTAssertEqual(result.warnings, [], c.name)
            byFolder[c.folder, default: []].append(result.image)
        }
        print("LCM img2img parity: worst PSNR \(worst) dB over \(meta.img2img_cases.count) cases")
        // The strength matters: each folder's three images differ from one another.
        for (folder, images) in byFolder {
            XCTAssertEqual(images.count, 3, folder)
            for i in 0..<images.count { for j in (i + 1)..<images.count {
                XCTAssertGreaterThan(images[i].maxAbsDifference(images[j]) ?? 0, 1e-3, "\(folder): strengths \(i) and \(j) give one image")
            } }
        }
    }

    /// Identity guidance under embedded guidance from an init image, as in text-to-image
    /// (e = M(c_t) + (s_id / s_text)(M(c_o) - M(c_t))): a no-op at 0, and the object moves the image.
    func testObjectUnderLCMImageToImage() throws {
        let meta = try meta()
        let ref = try FewStepFixtures.expected()
        let pipe = try FewStepFixtures.pipeline("lcm")
        func image(_ key: String?, identity: Float) throws -> Tensor {
            var request = try FewStepFixtures.lcmObjectRequest(pipe, ref, prompt: meta.object_prompt, object: key,
                                                               identity: identity, seed: 6)
            request.initImage = try ref.tensor(named: "pixels.init")
            request.strength = 0.6
            let result = try pipe.generate(request)
            XCTAssertEqual(result.warnings, [])
            return result.image
        }
        let textOnly = try image(nil, identity: 0)
        assertPSNR(try image("reference", identity: 0), textOnly, atLeast: 50, "LCM img2img, object at identity guidance 0 vs text only")
        let withObject = try image("reference", identity: 4)
        let change = withObject.maxAbsDifference(textOnly) ?? 0
        print("LCM img2img object: max-abs change from text only \(change) (identity 4)")
        XCTAssertGreaterThan(change, 1e-3, "the object does not change the image under LCM img2img")
        XCTAssertGreaterThan(withObject.maxAbsDifference(try image("reference2", identity: 4)) ?? 0, 1e-3,
                             "two objects give the same image under LCM img2img")
    }

    func testBadLCMStrengths() throws {
        let ref = try FewStepFixtures.expected()
        let pipe = try FewStepFixtures.pipeline("lcm")
        var request = GenerationRequest(prompt: "a red star on the beach")
        request.sampler = .lcm
        request.steps = 4
        request.preview = .none
        request.allowUnknownWords = true
        request.initImage = try ref.tensor(named: "pixels.init")
        for bad: Float in [-0.2, 1.01, .infinity] {
            request.strength = bad
            XCTAssertThrowsError(try pipe.generate(request), "strength \(bad)") { error in
                XCTAssertEqual(error as? GenerationError, .badStrength(bad))
            }
        }
        request.strength = 0.05
        XCTAssertThrowsError(try pipe.generate(request)) { error in
            XCTAssertTrue("\(error)".contains("LCM image-to-image at strength 0.05"), "\(error)")
        }
        // Strength 0: no step, the init image's latents are the result.
        request.strength = 0
        try assertStrengthZeroKeepsTheInitLatents(pipe, request)
    }
}
