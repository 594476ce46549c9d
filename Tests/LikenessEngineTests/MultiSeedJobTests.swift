// The interactive job layer: several seeds in one batch give each seed's one-seed image, the
// conditioning cache skips the text encoder when only seeds or guidance change, cancellation
// lands between UNet blocks, waiting jobs can be replaced, and encoding an object never waits
// behind a running job. Runs on the fixture folders (scripts/fixtures/pipeline.py).

import Foundation
import XCTest
@testable import LikenessEngine

final class MultiSeedJobTests: XCTestCase {
    func request(_ prompt: String, steps: Int = 3, sampler: SamplerKind = .ddim) -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt)
        r.steps = steps
        r.sampler = sampler
        r.previewEvery = 0
        return r
    }

    /// Largest per-pixel difference in 0...255.
    func maxPixelDifference(_ a: RGBPixels, _ b: RGBPixels) -> Int {
        zip(a.bytes, b.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testMultiSeedBatchEqualsSingleSeedRunsForEverySampler() throws {
        for name in PipelineFixtures.folders {
            let pipe = try PipelineFixtures.pipeline(name)
            let expected = try PipelineFixtures.expected(name)
            let meta = try PipelineFixtures.meta(name)
            // With an object too (three guidance branches), where the fixture has one.
            let objectCase = meta.cases.first { $0.object != nil }
            let tokens = try objectCase.map { try pipe.encodeObject(pixels: expected.tensor(named: "pixels.\($0.object ?? "")")) }
            for sampler in SamplerKind.allCases {
                for withObject in [false, true] where !withObject || tokens != nil {
                    var r = request(withObject ? "a <obj> on the beach" : "a red star on the beach", steps: 4, sampler: sampler)
                    r.objectTokens = withObject ? tokens : nil
                    r.seeds = [3, 11, 0, 1234]
                    let batch = try pipe.generate(r)
                    XCTAssertEqual(batch.images.map(\.seed), [3, 11, 0, 1234])
                    var worst = 0
                    var exact = true
                    for image in batch.images {
                        var one = r
                        one.seed = image.seed
                        let single = try pipe.generate(one)
                        worst = max(worst, maxPixelDifference(single.pixels, image.pixels))
                        exact = exact && single.image == image.image
                    }
                    print("\(name) \(sampler) object \(withObject): 4-seed batch vs one-seed runs: max pixel difference \(worst)/255, bit-exact \(exact)")
                    XCTAssertLessThanOrEqual(worst, 1, "\(name) \(sampler) object \(withObject): batch images must equal one-seed images within 1/255")
                }
            }
        }
    }

    func testDistinctSeedsGiveDistinctImagesAndPreviewsPerSeed() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        var r = request("a red star on the beach", steps: 2)
        r.seeds = [1, 2, 3]
        r.previewEvery = 1
        var counts: [Int] = []
        let result = try pipe.generate(r) { counts.append($0.previews.count) }
        XCTAssertEqual(counts, [3, 3])
        XCTAssertNotEqual(result.images[0].pixels, result.images[1].pixels)
        XCTAssertNotEqual(result.images[1].pixels, result.images[2].pixels)
    }

    func testCachedConditioningRunsNoTextEncoderForSeedOrGuidanceChanges() throws {
        let pipe = try LikenessPipeline(folder: PipelineFixtures.url("toy-a")) // own cache
        var r = request("a blue circle in the snow", steps: 2)
        let first = try pipe.generate(r)
        let passes = pipe.textEncoderPasses
        XCTAssertEqual(passes, 2, "negative and prompt rows")
        XCTAssertEqual(try pipe.generate(r).image, first.image, "a cached encoding gives the same image")
        r.seed = 99
        r.textGuidance = 7
        _ = try pipe.generate(r)
        XCTAssertEqual(pipe.textEncoderPasses, passes, "changing only seed and guidance must not re-run the text encoder")
        r.prompt = "a blue circle on the beach"
        _ = try pipe.generate(r)
        XCTAssertEqual(pipe.textEncoderPasses, passes + 1, "a new prompt encodes once (the negative row is cached)")
    }

    func testCancellationLandsBetweenUNetLayers() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        // One check after conv_in and after every resnet and attention, then one after the step.
        let unet = pipe.unet
        let layers = unet.down_blocks.reduce(0) { $0 + $1.resnets.count + $1.attentions.count }
            + (unet.mid_block.map { $0.resnets.count + $0.attentions.count } ?? 0)
            + unet.up_blocks.reduce(0) { $0 + $1.resnets.count + $1.attentions.count }
        let perStep = 1 + layers + 1
        var all = 0
        _ = try pipe.generate(request("a red star on the beach", steps: 2), checkpoint: { _ in all += 1 })
        XCTAssertEqual(all, 2 * perStep + 1, "two steps of checks and one before the decode")
        var calls = 0
        let stopAt = perStep + 3 // inside the second step's UNet pass, after its second layer
        XCTAssertThrowsError(try pipe.generate(request("a red star on the beach", steps: 5), checkpoint: { done in
            calls += 1
            if calls == stopAt { throw GenerationCancelled(afterStep: done) }
        })) { error in
            XCTAssertEqual(error as? GenerationCancelled, GenerationCancelled(afterStep: 1))
        }
        XCTAssertEqual(calls, stopAt, "no further checks (and so no further layers) after the cancellation")
    }

    func testCancellationBeforeTheDecode() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        var sawLastStep = false
        XCTAssertThrowsError(try pipe.generate(request("a red star on the beach", steps: 2), checkpoint: { done in
            if sawLastStep { throw GenerationCancelled(afterStep: done) }
        }, onStep: { e in sawLastStep = e.step == e.total })) { error in
            XCTAssertEqual(error as? GenerationCancelled, GenerationCancelled(afterStep: 2))
        }
    }

    func testReplacePendingCancelsWaitingJobsOnly() throws {
        let engine = GenerationEngine(pipeline: try PipelineFixtures.pipeline("toy-a"))
        let gate = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0)
        let first = EventLog(), second = EventLog(), third = EventLog()
        let running = engine.submit(request("a red star on the beach", steps: 2)) { e in
            first.append(e)
            if case .started = e { started.signal(); gate.wait() }
        }
        started.wait()
        let waiting = engine.submit(request("a blue star on the beach", steps: 2)) { second.append($0) }
        let latest = engine.submit(request("a green star on the beach", steps: 2), replacePending: true) { third.append($0) }
        gate.signal()
        running.wait(); waiting.wait(); latest.wait()
        if case .finished? = first.events.last {} else { XCTFail("the running job is not replaced: \(first.events)") }
        XCTAssertEqual(second.events.count, 2, "\(second.events)")
        if case .cancelled(afterStep: 0)? = second.events.last {} else { XCTFail("the waiting job is cancelled: \(second.events)") }
        if case .queued(position: 1)? = third.events.first {} else { XCTFail("queued behind the running job: \(third.events)") }
        if case .finished? = third.events.last {} else { XCTFail("the replacing job runs: \(third.events)") }
    }

    func testCancelAllStopsRunningAndWaiting() throws {
        let engine = GenerationEngine(pipeline: try PipelineFixtures.pipeline("toy-a"))
        let a = EventLog(), b = EventLog()
        let started = DispatchSemaphore(value: 0)
        let ja = engine.submit(request("a red star on the beach", steps: 50)) { e in
            a.append(e)
            if case .step(let s) = e, s.step == 1 { started.signal() }
        }
        let jb = engine.submit(request("a red star on the beach", steps: 2)) { b.append($0) }
        started.wait()
        engine.cancelAll()
        ja.wait(); jb.wait()
        if case .cancelled? = a.events.last {} else { XCTFail("\(a.events.last.map { "\($0)" } ?? "none")") }
        if case .cancelled(afterStep: 0)? = b.events.last {} else { XCTFail("\(b.events)") }
        XCTAssertEqual(engine.pendingCount, 0)
    }

    func testEncodeObjectDoesNotWaitBehindARunningJob() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        guard let size = pipe.objectImageSize else { return XCTFail("toy-a has an object encoder") }
        let engine = GenerationEngine(pipeline: pipe)
        let gate = DispatchSemaphore(value: 0)
        let job = engine.submit(request("a red star on the beach", steps: 2)) { e in
            if case .started = e { gate.wait() } // the job holds the engine's thread until released
        }
        // Would deadlock (the test would hang) if encoding queued behind the job.
        let tokens = try engine.encodeObject(pixels: Tensor(zeros: [1, 3, size, size]))
        XCTAssertEqual(tokens.shape.count, 3)
        gate.signal()
        job.wait()
    }

    func testPlaceholderNextToPunctuation() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        let enc = pipe.promptEncoder
        XCTAssertEqual(try enc.split("a small <obj>, at the left")?.before, "a small")
        XCTAssertEqual(try enc.split("a small <obj>, at the left")?.after, ", at the left")
        XCTAssertEqual(try enc.split("(<obj>)")?.before, "(")
        XCTAssertEqual(try enc.split("a <obj>.")?.after, ".")
        XCTAssertNil(try enc.split("x<obj> and <obj>y"), "inside a longer word is not the placeholder")
        XCTAssertThrowsError(try enc.split("<obj>,<obj>")) { error in
            XCTAssertEqual(error as? PromptError, .placeholderTwice(placeholder: "<obj>", count: 2))
        }
        XCTAssertEqual(enc.replacingPlaceholder(in: "a small <obj>, left", with: "object"), "a small object, left")
    }
}
