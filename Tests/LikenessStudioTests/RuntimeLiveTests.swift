// The runtime's side of live mode and image-to-image, on the built-in model: live drafts are
// submitted replacing the engine's pending job (so behind a running full-quality job at most one
// draft waits, the replaced ones end cancelled), `.liveAfter` posts `.liveDue` after its delay,
// and a plan with an init image runs image-to-image (the init image resized to the plan's size),
// with the lcm sampler too.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit
import XCTest
@testable import LikenessStudio

extension RuntimeTests {
    func plan(_ id: Int, steps: Int, live: Bool, initImage: InitImageChoice? = nil, sampler: SamplerKind = .ddim) -> GenerationPlan {
        var settings = StudioSettings()
        settings.generation.steps = steps
        settings.generation.sampler = sampler
        return GenerationPlan(runID: id, settings: settings, object: nil,
                              jobs: [JobSpec(prompt: "a small yellow circle in the snow", negative: "", seeds: [1], identityGuidance: 3,
                                             axisValue: nil)],
                              initImage: initImage, live: live)
    }

    func testLiveDraftsReplaceThePendingJobAndNeverQueueMoreThanOne() throws {
        let (rt, mb) = try makeRuntime()
        let (_, engine) = try XCTUnwrap(Self.shared)
        rt.perform(.generate(plan(100, steps: 400, live: false)))
        _ = try wait(mb) { m -> Bool? in
            if case .job(100, 0, .step) = m { return true }
            return nil
        }
        for id in 101...103 {
            rt.perform(.generate(plan(id, steps: 2, live: true)))
            XCTAssertLessThanOrEqual(engine.pendingCount, 1, "one draft waits at most")
        }
        var cancelled = Set<Int>()
        for m in mb.drain() { if case .job(let run, _, .cancelled) = m { cancelled.insert(run) } }
        XCTAssertEqual(cancelled, Set(101...102), "each replaced draft ends cancelled")
        rt.perform(.cancel(run: 100))
        let done = try wait(mb) { m -> Int? in
            if case .job(103, 0, .finished(let images, _, _)) = m { return images.count }
            return nil
        }
        XCTAssertEqual(done, 1, "the last draft runs once the full job is cancelled")

        rt.perform(.liveAfter(token: 7, seconds: 0.05))
        let token = try wait(mb, timeout: 10) { m -> Int? in
            if case .liveDue(let t) = m { return t }
            return nil
        }
        XCTAssertEqual(token, 7)
    }

    func testInitImagePlanRunsImageToImage() throws {
        let (rt, mb) = try makeRuntime()
        func run(_ id: Int, _ choice: InitImageChoice?) throws -> RGBImage {
            rt.perform(.generate(plan(id, steps: 4, live: false, initImage: choice)))
            return try wait(mb) { m -> RGBImage? in
                if case .job(id, 0, .finished(let images, _, _)) = m { return images.first }
                if case .job(id, 0, .failed(let message)) = m { XCTFail(message); return nil }
                return nil
            }
        }
        let noise = try run(200, nil)
        let white = try RGBImage(width: 32, height: 48, fill: .white) // another size and aspect: resized
        let fromWhite = try run(201, InitImageChoice(image: white, label: "white"))
        XCTAssertNotEqual(fromWhite, noise)
        // Against a black init image with the same seed, not against the image from noise: how light
        // the prompt's own picture ("in the snow") comes out is the model's business.
        let black = try RGBImage(width: 32, height: 48, fill: .black)
        let fromBlack = try run(204, InitImageChoice(image: black, label: "black"))
        func mean(_ image: RGBImage) -> Int { image.pixels.reduce(0) { $0 + Int($1) } / image.pixels.count }
        XCTAssertGreaterThan(mean(fromWhite), mean(fromBlack) + 10,
                             "a white init image at strength 0.75 gives a lighter image than a black one (noise: \(mean(noise)))")
        XCTAssertEqual(try run(202, InitImageChoice(image: white, label: "white")), fromWhite, "same seed, same image")
        // The lcm sampler takes an init image too (on this plain model as diffusers'
        // StableDiffusionImg2ImgPipeline with LCMScheduler runs it).
        rt.perform(.generate(plan(203, steps: 4, live: false, initImage: InitImageChoice(image: white, label: "white"), sampler: .lcm)))
        let lcm = try wait(mb) { m -> RGBImage? in
            if case .job(203, 0, .finished(let images, _, _)) = m { return images.first }
            if case .job(203, 0, .failed(let message)) = m { XCTFail(message); return nil }
            return nil
        }
        XCTAssertNotEqual(lcm, fromWhite)
    }
}
