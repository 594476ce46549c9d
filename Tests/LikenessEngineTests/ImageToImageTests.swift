// Image-to-image against diffusers StableDiffusionImg2ImgPipeline on random weights
// (scripts/fixtures/img2img.py, Tests/Fixtures/generated/img2img/): 256x256 images (32x32
// latents), 8 steps, strengths 0.3 / 0.75 / 1.0 for ddim, euler, euler-a, dpmpp-2m and the two
// Karras variants, same seed -> same image, PSNR >= 40 dB; with an object (identity guidance) at
// strength 0.75 against the kit's reference pipeline. Also diffusers' get_timesteps arithmetic,
// and bad input (strength outside 0...1, an init image of the wrong size). Measured at the time of
// writing: worst PSNR 88.6 dB (euler Karras at 0.3), max-abs <= 9.6e-4; the reference pipeline
// agrees with diffusers img2img to 6e-8.

import Foundation
import XCTest
@testable import LikenessEngine

enum ImageToImageFixtures {
    struct Case: Decodable {
        let name: String
        let prompt: String
        let seed: UInt64
        let sampler: String
        let karras: Bool
        let strength: Float
        let object: String?
    }

    struct Meta: Decodable {
        let folder: String
        let size: Int
        let steps: Int
        let text_scale: Float
        let id_scale: Float
        let negative_prompt: String
        let cases: [Case]
    }

    static func url(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = LikenessFixtures.generated.appendingPathComponent("img2img").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let error = PipelineFixtures.Missing(path: u.path + " (run .venv/bin/python scripts/fixtures/img2img.py)")
            XCTFail(error.description, file: file, line: line)
            throw error
        }
        return u
    }
}

final class ImageToImageTests: XCTestCase {
    /// diffusers' get_timesteps: int(steps * strength) steps run, with Python's truncation of the
    /// decimal strength (10 x 0.7 = 7.000000000000001 -> 7, where Float(0.7) would give 6).
    func testStartIndexFollowsGetTimesteps() {
        XCTAssertEqual(SamplingPlan.imageToImageStart(steps: 8, strength: 0.3), 6)
        XCTAssertEqual(SamplingPlan.imageToImageStart(steps: 8, strength: 0.75), 2)
        XCTAssertEqual(SamplingPlan.imageToImageStart(steps: 8, strength: 1), 0)
        XCTAssertEqual(SamplingPlan.imageToImageStart(steps: 10, strength: 0.7), 3)
        XCTAssertEqual(SamplingPlan.imageToImageStart(steps: 25, strength: 0), 25)
        XCTAssertEqual(SamplingPlan.imageToImageStart(steps: 25, strength: 0.03), 25)
    }

    /// The sliced plan keeps the tail of the full plan; add_noise puts x0 + σ·ε at its first level.
    func testSlicedPlanAndNoise() throws {
        let config = try SchedulerConfig(jsonData: Data(#"{"_class_name": "DDIMScheduler", "num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}"#.utf8))
        for kind in SamplerKind.allCases {
            let full = try makeSamplingPlan(kind: kind, config: config, steps: 8)
            let tail = full.starting(at: 6)
            XCTAssertEqual(tail.stepCount, 2, "\(kind)")
            XCTAssertEqual(tail.timesteps, Array(full.timesteps.suffix(2)), "\(kind)")
            XCTAssertEqual(tail.sigmas, Array(full.sigmas.suffix(3)), "\(kind)")
            XCTAssertEqual(tail.firstOrderFinalStep, full.firstOrderFinalStep, "\(kind)")
            let sigma = tail.sigmas[0]
            let noised = tail.noised([1, -1], noise: [0.5, 2])
            let scale: Float = tail.latentScaling == .variancePreserving ? (sigma * sigma + 1).squareRoot() : 1
            XCTAssertEqual(noised[0] * scale, 1 + 0.5 * sigma, accuracy: 1e-4, "\(kind)")
            XCTAssertEqual(noised[1] * scale, -1 + 2 * sigma, accuracy: 1e-4, "\(kind)")
            XCTAssertEqual(full.starting(at: 8).noised([3], noise: [9]), [3], "no step left: x0 unchanged")
        }
    }

    func testParityWithDiffusersImg2Img() throws {
        let meta = try JSONDecoder().decode(ImageToImageFixtures.Meta.self,
                                            from: Data(contentsOf: ImageToImageFixtures.url("expected.json")))
        let ref = try SafeTensorsFile(url: ImageToImageFixtures.url("expected.safetensors"))
        let pipe = try LikenessPipeline(folder: ImageToImageFixtures.url(meta.folder))
        let initImage = try ref.tensor(named: "pixels.init")
        XCTAssertEqual(initImage.shape, [1, 3, 256, 256])
        XCTAssertEqual(meta.cases.count, 24, "6 sampler runs x 3 strengths of text, and 6 with an object")
        var worst = Double.infinity
        for c in meta.cases {
            var request = GenerationRequest(prompt: c.prompt)
            request.negativePrompt = meta.negative_prompt
            request.steps = meta.steps
            request.textGuidance = meta.text_scale
            request.identityGuidance = meta.id_scale
            request.sampler = try SamplerKind(parsing: c.sampler)
            request.karras = c.karras
            request.seed = c.seed
            request.width = meta.size
            request.height = meta.size
            request.initImage = initImage
            request.strength = c.strength
            if c.object != nil { request.objectTokens = try ref.tensor(named: "tokens.reference") }
            var steps: [Int] = []
            let result = try pipe.generate(request) { steps.append($0.step) }
            let expectedSteps = meta.steps - SamplingPlan.imageToImageStart(steps: meta.steps, strength: c.strength)
            XCTAssertEqual(steps, Array(1...expectedSteps), "\(c.name): the last int(steps x strength) steps run")
            let p = assertPSNR(result.image, try ref.tensor(named: "image.\(c.name)"),
                               "img2img \(c.name) vs " + (c.object == nil ? "diffusers StableDiffusionImg2ImgPipeline" : "reference pipeline"))
            worst = min(worst, p)
        }
        print("img2img parity: worst PSNR \(worst) dB over \(meta.cases.count) cases")
    }

    func testBadStrengthAndInitSize() throws {
        let pipe = try LikenessPipeline(folder: ImageToImageFixtures.url("toy-i2i"))
        var request = GenerationRequest(prompt: "a large red star on the beach")
        request.steps = 2
        request.width = 64
        request.height = 64
        request.initImage = Tensor(zeros: [1, 3, 64, 64])
        for bad: Float in [-0.1, 1.5, .nan] {
            request.strength = bad
            XCTAssertThrowsError(try pipe.generate(request), "strength \(bad)") { error in
                XCTAssertTrue("\(error)".contains("strength must be a number from 0 to 1"), "\(error)")
            }
        }
        request.strength = 0.5
        request.initImage = Tensor(zeros: [1, 3, 64, 32])
        XCTAssertThrowsError(try pipe.generate(request)) { error in
            XCTAssertEqual(error as? GenerationError, .badInitImage(shape: [1, 3, 64, 32], expected: [1, 3, 64, 64]))
        }
        request.initImage = Tensor(zeros: [1, 3, 64, 64])
        request.initialNoise = Tensor(zeros: [1, 4, 8, 8])
        XCTAssertThrowsError(try pipe.generate(request)) { error in
            XCTAssertEqual(error as? GenerationError, .initImageWithNoise)
        }
        // The lcm sampler on this plain model runs img2img as diffusers' StableDiffusionImg2ImgPipeline
        // with LCMScheduler does (the last int(steps x strength) steps), with the plain-model warning;
        // LCM parity is in FewStepImageToImageTests.
        request.initialNoise = nil
        request.sampler = .lcm
        var steps = 0
        let result = try pipe.generate(request) { _ in steps += 1 }
        XCTAssertEqual(steps, 1)
        XCTAssertTrue(result.warnings.contains { $0.contains("lcm sampler is meant for LCM-distilled models") }, "\(result.warnings)")
    }

    /// Several seeds in one batch: each image is its one-seed image (each seed's posterior sample
    /// and noise come from its own generator), for the ancestral sampler too.
    func testSeedsBatchEqualsOneSeedRuns() throws {
        let ref = try SafeTensorsFile(url: ImageToImageFixtures.url("expected.safetensors"))
        let pipe = try LikenessPipeline(folder: ImageToImageFixtures.url("toy-i2i"))
        var request = GenerationRequest(prompt: "a large red star on the beach")
        request.steps = 4
        request.sampler = .eulerAncestral
        request.width = 256
        request.height = 256
        request.initImage = try ref.tensor(named: "pixels.init")
        request.strength = 0.6
        request.seeds = [3, 11]
        let batch = try pipe.generate(request)
        for (i, seed) in [UInt64(3), 11].enumerated() {
            request.seeds = [seed]
            let one = try pipe.generate(request)
            let worst = zip(batch.images[i].pixels.bytes, one.pixels.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 255
            XCTAssertLessThanOrEqual(worst, 1, "seed \(seed): batched image differs from its one-seed image")
        }
        XCTAssertNotEqual(batch.images[0].pixels, batch.images[1].pixels)
    }

    /// Strength 0 runs no step: the result is the init image through the VAE (a posterior sample).
    func testStrengthZeroKeepsTheInitImage() throws {
        let ref = try SafeTensorsFile(url: ImageToImageFixtures.url("expected.safetensors"))
        let pipe = try LikenessPipeline(folder: ImageToImageFixtures.url("toy-i2i"))
        var request = GenerationRequest(prompt: "a large red star on the beach")
        request.steps = 4
        request.width = 256
        request.height = 256
        request.initImage = try ref.tensor(named: "pixels.init")
        request.strength = 0
        try assertStrengthZeroKeepsTheInitLatents(pipe, request)
    }
}

/// REQUEST (an init image at strength 0) runs no step and its result is the init image's latents:
/// a posterior sample of the VAE with the request's seed.
func assertStrengthZeroKeepsTheInitLatents(_ pipe: LikenessPipeline, _ request: GenerationRequest,
                                           file: StaticString = #filePath, line: UInt = #line) throws {
    var steps = 0
    let result = try pipe.generate(request) { _ in steps += 1 }
    XCTAssertEqual(steps, 0, file: file, line: line)
    var generator = TorchGenerator(seed: request.seed)
    let posterior = try pipe.vae.encode(request.initImage!)
    let sample = posterior.sample(noise: Tensor(uncheckedShape: posterior.mean.shape, storage: generator.randn(posterior.mean.count)))
    XCTAssertEqual(result.finalLatents, pipe.vae.diffusionLatents(fromVAELatents: sample), file: file, line: line)
}
