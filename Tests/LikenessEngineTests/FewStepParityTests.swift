// Few-step sampling against diffusers on random-weight folders (scripts/fixtures/few_step.py):
// LCMScheduler timesteps, the guidance embedding and an LCM-distilled UNet (time_cond_proj_dim),
// LatentConsistencyModelPipeline images, an LCM-LoRA (load_lora_weights + fuse_lora +
// LCMScheduler, guidance 1 and 1.5), SD-Turbo's config on a 2.x-style folder (trailing
// timesteps, guidance 0, Euler and Euler ancestral, 1 and 4 steps); identity guidance under
// embedded guidance; the warning for the LCM sampler on a plain model.

import Foundation
import XCTest
@testable import LikenessEngine

enum FewStepFixtures {
    struct Meta: Decodable {
        struct Timesteps: Decodable { let original_inference_steps: Int; let steps: Int; let timesteps: [Int] }
        struct Case: Decodable {
            let name: String, folder: String, image: String, sampler: String, steps: Int, guidance: Float, seed: UInt64
            let prompt: String, negative_prompt: String, lora: String?
        }
        let timesteps: [Timesteps]
        let cases: [Case]
        let object_prompt: String
    }

    static func url(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = LikenessFixtures.generated.appendingPathComponent("few_step").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let message = "fixture \(u.path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/few_step.py)"
            XCTFail(message, file: file, line: line)
            throw SamplingError.invalidSchedule(message)
        }
        return u
    }

    static func meta() throws -> Meta { try JSONDecoder().decode(Meta.self, from: Data(contentsOf: url("expected.json"))) }
    static func expected() throws -> SafeTensorsFile { try SafeTensorsFile(url: url("expected.safetensors")) }

    /// The identity-guidance request of the LCM object tests: PROMPT with the object tokens of the
    /// fixture image `pixels.KEY`, or with no key the prompt with the null word (text only); seed
    /// SEED, 2 LCM steps, text guidance 4, identity guidance IDENTITY, no previews.
    static func lcmObjectRequest(_ pipe: LikenessPipeline, _ ref: SafeTensorsFile, prompt: String, object key: String?,
                                 identity: Float, seed: UInt64) throws -> GenerationRequest {
        guard let enc = pipe.objectEncoder else {
            XCTFail("lcm fixture folder has no object encoder")
            throw SamplingError.invalidSchedule("lcm fixture folder has no object encoder")
        }
        var request = GenerationRequest(prompt: prompt)
        if let key {
            request.objectTokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.\(key)"))
        } else {
            request.prompt = pipe.promptEncoder.replacingPlaceholder(in: prompt, with: enc.config.null_word)
        }
        request.seeds = [seed]
        request.steps = 2
        request.sampler = .lcm
        request.textGuidance = 4
        request.identityGuidance = identity
        request.preview = .none
        return request
    }

    static func pipeline(_ folder: String, lora: String? = nil) throws -> LikenessPipeline {
        let loras = try lora.map { [LoRAApplication(url: try url($0), weight: 1)] } ?? []
        return try LikenessPipeline(model: url(folder), loras: loras)
    }
}

final class FewStepParityTests: XCTestCase {
    func testLCMTimestepsMatchDiffusers() throws {
        let meta = try FewStepFixtures.meta()
        XCTAssertGreaterThanOrEqual(meta.timesteps.count, 8)
        for entry in meta.timesteps {
            let got = try lcmTimesteps(numTrainTimesteps: 1000, originalSteps: entry.original_inference_steps, steps: entry.steps)
            XCTAssertEqual(got, entry.timesteps, "LCM timesteps, original \(entry.original_inference_steps), \(entry.steps) steps")
            var config = try SchedulerConfig(contentsOf: FewStepFixtures.url("lcm/scheduler/scheduler_config.json"))
            config.originalInferenceSteps = entry.original_inference_steps
            let plan = try makeSamplingPlan(kind: .lcm, config: config, steps: entry.steps)
            XCTAssertEqual(plan.timesteps, entry.timesteps.map { Float($0) })
            XCTAssertEqual(plan.sigmas.last, 0)
            XCTAssertEqual(plan.consistency?.cSkip.count, entry.steps)
        }
        // diffusers refuses more steps than the distillation schedule has; so does the plan.
        let config = try SchedulerConfig(contentsOf: FewStepFixtures.url("lcm/scheduler/scheduler_config.json"))
        XCTAssertThrowsError(try makeSamplingPlan(kind: .lcm, config: config, steps: 51)) { error in
            XCTAssertTrue("\(error)".contains("original_inference_steps (50)"), "\(error)")
        }
        // Values LCMScheduler cannot use are named.
        for (key, json) in [("original_inference_steps", #"{"original_inference_steps": 0}"#),
                            ("original_inference_steps", #"{"original_inference_steps": 2000}"#),
                            ("timestep_scaling", #"{"timestep_scaling": -1}"#),
                            ("rescale_betas_zero_snr", #"{"rescale_betas_zero_snr": true}"#)] {
            XCTAssertThrowsError(try SchedulerConfig(jsonData: Data(json.utf8)).resolved(for: .lcm)) { error in
                XCTAssertTrue("\(error)".contains(key), "\(json): \(error)")
            }
        }
        XCTAssertThrowsError(try makeSamplingPlan(kind: .lcm, config: config, steps: 4, karras: true)) { error in
            XCTAssertTrue("\(error)".contains("no Karras sigmas"), "\(error)")
        }
        // LCMScheduler's own defaults fill keys a config lacks (here: every key).
        let bare = try SchedulerConfig().resolved(for: .lcm)
        XCTAssertEqual(bare.betaSchedule, .scaledLinear)
        XCTAssertEqual(bare.betaStart, 0.00085)
        XCTAssertEqual(bare.originalInferenceSteps, 50)
        XCTAssertNil(bare.clipSampleRange)
    }

    func testGuidanceEmbeddingAndLCMUNet() throws {
        let ref = try FewStepFixtures.expected()
        for dim in [8, 7] {
            // sin/cos of arguments up to 7500: one float32 ulp of the argument is ~5e-4.
            assertClose(Ops.guidanceScaleEmbedding([7.5], dim: dim), try ref.tensor(named: "guidance.\(dim)"),
                        "guidance embedding dim \(dim)", relTol: 2e-3)
        }
        let unet = try UNet2DConditionModel(folder: FewStepFixtures.url("lcm/unet"))
        XCTAssertEqual(unet.config.time_cond_proj_dim, 8)
        let out = try unet(sample: ref.tensor(named: "unet.sample"), timestep: 499,
                           encoderHiddenStates: ref.tensor(named: "unet.states"),
                           timestepCond: ref.tensor(named: "guidance.8"))
        assertClose(out, try ref.tensor(named: "unet.out"), "LCM UNet with timestep_cond", relTol: 1e-3)
        // Without the condition the output differs: the projection is used.
        let plain = try unet(sample: ref.tensor(named: "unet.sample"), timestep: 499,
                             encoderHiddenStates: ref.tensor(named: "unet.states"))
        XCTAssertGreaterThan(plain.maxAbsDifference(out) ?? 0, 1e-3)
        XCTAssertThrowsError(try unet(sample: ref.tensor(named: "unet.sample"), timestep: 499,
                                      encoderHiddenStates: ref.tensor(named: "unet.states"),
                                      timestepCond: Tensor(repeating: 0, shape: [1, 7])))
    }

    func testImagesMatchDiffusers() throws {
        let meta = try FewStepFixtures.meta()
        let ref = try FewStepFixtures.expected()
        XCTAssertEqual(Set(meta.cases.map(\.folder)), ["lcm", "base", "turbo"])
        XCTAssertGreaterThanOrEqual(meta.cases.count, 9)
        var pipelines: [String: LikenessPipeline] = [:]
        for c in meta.cases {
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
            let result = try pipe.generate(request)
            assertPSNR(result.image, try ref.tensor(named: c.image), "\(c.name) vs diffusers")
            XCTAssertEqual(result.warnings, [], c.name)
        }
        // The LCM folder's scheduler config names LCMScheduler: lcm is its sampler by default.
        XCTAssertEqual(try FewStepFixtures.pipeline("lcm").folderSampler, .lcm)
        XCTAssertNil(try FewStepFixtures.pipeline("turbo").folderSampler)
    }

    func testLCMSamplerOnPlainModelWarnsAndRuns() throws {
        let meta = try FewStepFixtures.meta()
        var request = GenerationRequest(prompt: meta.cases[0].prompt)
        request.steps = 2
        request.sampler = .lcm
        request.textGuidance = 1
        request.preview = .none
        let plain = try FewStepFixtures.pipeline("base").generate(request)
        XCTAssertEqual(plain.warnings.count, 1)
        XCTAssertTrue(plain.warnings[0].contains("lcm sampler is meant for LCM-distilled models or an LCM-LoRA"), "\(plain.warnings)")
        XCTAssertEqual(plain.image.shape, [1, 3, 32, 32])
        // Another sampler on the same model: no warning.
        request.sampler = .euler
        XCTAssertEqual(try FewStepFixtures.pipeline("base").generate(request).warnings, [])
        // The negative prompt of an embedded-guidance model is said to be unused.
        request.sampler = .lcm
        request.negativePrompt = "in the snow"
        let lcm = try FewStepFixtures.pipeline("lcm").generate(request)
        XCTAssertEqual(lcm.warnings.count, 1)
        XCTAssertTrue(lcm.warnings[0].contains("negative prompt unused"), "\(lcm.warnings)")
    }

    /// Identity guidance under embedded (LCM) guidance: e = M(c_t) + (s_id / s_text)(M(c_o) - M(c_t)).
    func testObjectChangesTheImageUnderLCM() throws {
        let meta = try FewStepFixtures.meta()
        let ref = try FewStepFixtures.expected()
        let pipe = try FewStepFixtures.pipeline("lcm")
        func image(_ key: String?, identity: Float) throws -> Tensor {
            let request = try FewStepFixtures.lcmObjectRequest(pipe, ref, prompt: meta.object_prompt, object: key,
                                                               identity: identity, seed: 5)
            let result = try pipe.generate(request)
            XCTAssertEqual(result.warnings, [])
            return result.image
        }
        let textOnly = try image(nil, identity: 0)
        // Identity guidance 0 is a no-op: the text-only image (null word at the placeholder).
        assertPSNR(try image("reference", identity: 0), textOnly, atLeast: 50, "LCM, object at identity guidance 0 vs text only")
        // Random weights: conditioning moves the image little, so the checks are against the
        // float32 rounding level (~1e-6 here), not against a visible change.
        let first = try image("reference", identity: 4)
        let second = try image("reference2", identity: 4)
        let stronger = try image("reference", identity: 8)
        let change = first.maxAbsDifference(textOnly) ?? 0, between = first.maxAbsDifference(second) ?? 0
        let strongerChange = stronger.maxAbsDifference(textOnly) ?? 0
        print("LCM object: max-abs change from text only \(change) (identity 4), \(strongerChange) (identity 8); between two objects \(between)")
        XCTAssertGreaterThan(change, 1e-3, "the object does not change the image under LCM")
        XCTAssertGreaterThan(between, 1e-3, "two objects give the same image under LCM")
        XCTAssertGreaterThan(strongerChange, change * 1.5, "identity guidance does not scale the object's effect")
        // Embedded guidance with an object needs a positive text guidance (s_id / s_text).
        var bad = GenerationRequest(prompt: meta.object_prompt)
        bad.objectTokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference"))
        bad.sampler = .lcm
        bad.textGuidance = 0
        XCTAssertThrowsError(try pipe.generate(bad)) { XCTAssertTrue("\($0)".contains("embedded (LCM) guidance"), "\($0)") }
    }
}
