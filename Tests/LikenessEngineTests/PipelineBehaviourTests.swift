// Pipeline behaviour on the tiny fixture folders (scripts/fixtures/pipeline.py): identity
// guidance 0 makes the object irrelevant, the job API's event order, previews and cancellation,
// and every input error a user can reach, each checked for its case and its message.

import Foundation
import XCTest
@testable import LikenessEngine

final class PipelineBehaviourTests: XCTestCase {
    func request(_ prompt: String, steps: Int = 2) -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt)
        r.steps = steps
        r.previewEvery = 0
        return r
    }

    // MARK: guidance

    func testIdentityGuidanceZeroIgnoresTheObject() throws {
        for name in PipelineFixtures.folders {
            let pipe = try PipelineFixtures.pipeline(name)
            let ref = try PipelineFixtures.expected(name)
            let meta = try PipelineFixtures.meta(name)
            let a = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference"))
            let b = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference2"))
            XCTAssertGreaterThan(a.maxAbsDifference(b) ?? 0, 0.1, "\(name): the two references must differ")

            var r = request(meta.object_prompt, steps: 3)
            r.negativePrompt = meta.negative_prompt
            r.identityGuidance = 0
            r.objectTokens = a
            let withA = try pipe.generate(r)
            r.objectTokens = b
            let withB = try pipe.generate(r)
            XCTAssertEqual(withA.image, withB.image, "\(name): s_id = 0 must give identical images for different objects")

            // The same with s_id != 0 does depend on the object (so the check above can fail).
            r.identityGuidance = 3
            let idB = try pipe.generate(r)
            r.objectTokens = a
            let idA = try pipe.generate(r)
            let diff = idA.image.maxAbsDifference(idB.image) ?? 0
            print("\(name): s_id 3, two objects: image max-abs diff \(diff)")
            XCTAssertGreaterThan(diff, 1e-3, "\(name): s_id = 3 should depend on the object")
        }
    }

    // MARK: job API

    func testJobEventsInOrderWithPreviews() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        let engine = GenerationEngine(pipeline: pipe)
        var r = request("a red star on the beach", steps: 4)
        r.previewEvery = 1
        let log = EventLog()
        let job = engine.submit(r) { log.append($0) }
        job.wait()
        let events = log.events
        XCTAssertEqual(events.count, 7, "queued, started, 4 steps, finished; got \(events.count) events")
        guard events.count == 7, case .queued(position: 0) = events[0], case .started = events[1] else {
            return XCTFail("expected .queued(0), .started first, got \(events.prefix(2))")
        }
        var steps: [Int] = []
        for (i, e) in events.enumerated().dropFirst(2) {
            switch e {
            case .step(let s):
                XCTAssertEqual(i, steps.count + 2, "a step event after the last event")
                steps.append(s.step)
                XCTAssertEqual(s.total, 4)
                XCTAssertEqual(s.latents.count, 4 * 8 * 8)
                XCTAssertEqual(s.previews.count, 1, "one preview per seed")
                guard let preview = s.previews.first else { XCTFail("step \(s.step): no preview although latent_rgb.json exists"); continue }
                XCTAssertEqual(preview.width, 8)
                XCTAssertEqual(preview.height, 8)
                XCTAssertEqual(preview.bytes.count, 8 * 8 * 3)
            case .finished(let result):
                XCTAssertEqual(i, events.count - 1, ".finished must be the last event")
                XCTAssertEqual(result.image.shape, [1, 3, 32, 32])
                XCTAssertEqual(result.image, try pipe.generate(r).image, "the job and a direct call must agree")
            case .cancelled, .failed, .queued, .started:
                XCTFail("unexpected \(e)")
            }
        }
        XCTAssertEqual(steps, [1, 2, 3, 4])
    }

    func testLatentPreviewFallsBackToDecodeWithoutLatentRGB() throws {
        let folder = try PipelineFixtures.copy("toy-a")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("preview"))
        let pipe = try LikenessPipeline(folder: folder)
        XCTAssertNil(pipe.preview)
        var r = request("a red star on the beach", steps: 2)
        r.previewEvery = 1
        var previews: [[RGBPixels]] = []
        let result = try pipe.generate(r) { previews.append($0.previews) }
        XCTAssertEqual(previews.count, 2)
        // Without the linear map a preview is a VAE decode of the x0 prediction: full size.
        XCTAssertTrue(previews.allSatisfy { $0.count == 1 && $0[0].width == 32 && $0[0].height == 32 }, "\(previews.map { $0.map(\.width) })")
        XCTAssertEqual(result.pixels.width, 32)
        r.preview = .none
        var none: [[RGBPixels]] = []
        _ = try pipe.generate(r) { none.append($0.previews) }
        XCTAssertEqual(none.map(\.count), [0, 0])
    }

    func testCancelAfterStepTwo() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        let engine = GenerationEngine(pipeline: pipe)
        let log = EventLog()
        final class Holder: @unchecked Sendable { var job: GenerationJob? }
        let holder = Holder()
        let ready = DispatchSemaphore(value: 0)
        let job = engine.submit(request("a red star on the beach", steps: 6)) { event in
            log.append(event)
            if case .step(let s) = event, s.step == 2 {
                ready.wait()
                holder.job?.cancel()
            }
        }
        holder.job = job
        ready.signal()
        job.wait()
        let events = log.events
        var steps: [Int] = []
        var cancelledAfter: Int?
        for e in events {
            switch e {
            case .step(let s): steps.append(s.step)
            case .cancelled(let n): cancelledAfter = n
            case .finished: XCTFail("a cancelled job must not finish")
            case .failed(let m): XCTFail("unexpected failure: \(m)")
            case .queued, .started: break
            }
        }
        XCTAssertEqual(steps, [1, 2])
        XCTAssertEqual(cancelledAfter, 2)
        if case .cancelled(afterStep: 2)? = events.last {} else { XCTFail("last event should be .cancelled(afterStep: 2), got \(String(describing: events.last))") }

        // The engine keeps working after a cancellation.
        let log2 = EventLog()
        engine.submit(request("a red star on the beach", steps: 1)) { log2.append($0) }.wait()
        if case .finished? = log2.events.last {} else { XCTFail("the next job should finish, got \(String(describing: log2.events.last))") }
    }

    func testFailedJobReportsTheError() throws {
        let engine = GenerationEngine(pipeline: try PipelineFixtures.pipeline("toy-a"))
        let log = EventLog()
        engine.submit(request("a <obj> on the beach")) { log.append($0) }.wait()
        guard case .failed(let error)? = log.events.last, log.events.count == 3 else {
            return XCTFail("expected .queued, .started, .failed, got \(log.events)")
        }
        guard case .prompt(.placeholderWithoutObject, _) = error else { return XCTFail("expected a prompt error, got \(error)") }
        XCTAssertTrue(error.description.contains("<obj>"), error.description)

        let log2 = EventLog()
        engine.submit(request("a red zorblax on the beach")) { log2.append($0) }.wait()
        guard case .failed(.prompt(.unknownWords(let words), let positions))? = log2.events.last else {
            return XCTFail("expected an unknown-word prompt error, got \(log2.events)")
        }
        XCTAssertEqual(words, ["zorblax"])
        XCTAssertEqual(positions, [PromptWordPosition(word: "zorblax", offset: 6)])
    }

    // MARK: prompt errors

    func assertPromptError(_ pipe: LikenessPipeline, _ r: GenerationRequest, _ expected: PromptError,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try pipe.generate(r), file: file, line: line) { error in
            XCTAssertEqual(error as? PromptError, expected, "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty, file: file, line: line)
        }
    }

    func testPlaceholderErrors() throws {
        for name in PipelineFixtures.folders {
            let pipe = try PipelineFixtures.pipeline(name)
            let ref = try PipelineFixtures.expected(name)
            let tokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference"))

            var twice = request("a <obj> next to a <obj>")
            twice.objectTokens = tokens
            assertPromptError(pipe, twice, .placeholderTwice(placeholder: "<obj>", count: 2))
            assertPromptError(pipe, request("a <obj> on the beach"), .placeholderWithoutObject(placeholder: "<obj>"))
            var noSlot = request("a red star on the beach")
            noSlot.objectTokens = tokens
            assertPromptError(pipe, noSlot, .objectWithoutPlaceholder(placeholder: "<obj>"))
            XCTAssertTrue(PromptError.objectWithoutPlaceholder(placeholder: "<obj>").description.contains("<obj>"))
        }
    }

    func testObjectTokensOfAnotherModel() throws {
        let a = try PipelineFixtures.pipeline("toy-a"), b = try PipelineFixtures.pipeline("toy-b")
        let tokensB = try b.encodeObject(pixels: PipelineFixtures.expected("toy-b").tensor(named: "pixels.reference"))
        let tokensA = try a.encodeObject(pixels: PipelineFixtures.expected("toy-a").tensor(named: "pixels.reference"))
        // [1, 2, 48] into toy-a (K 3, D 32), [1, 3, 32] into toy-b (K 2, D 48), a batch of two, a flat tensor.
        let cases: [(LikenessPipeline, Tensor, String)] = [
            (a, tokensB, "[1, 3, 32]"), (b, tokensA, "[1, 2, 48]"),
            (a, try XCTUnwrap(Tensor(shape: [2, 3, 32], storage: tokensA.storage + tokensA.storage)), "[1, 3, 32]"),
            (a, try XCTUnwrap(Tensor(shape: [96], storage: tokensA.storage)), "[1, 3, 32]"),
        ]
        for (pipe, tokens, expected) in cases {
            var r = request("a <obj> on the beach")
            r.objectTokens = tokens
            XCTAssertThrowsError(try pipe.generate(r), "\(tokens.shape)") { error in
                guard case .badShape(let what, let shape, let exp)? = error as? ModelInputError else { return XCTFail("\(error)") }
                XCTAssertEqual(shape, tokens.shape)
                XCTAssertTrue(exp.contains(expected), "\(what): \(exp)")
            }
            XCTAssertThrowsError(try pipe.promptEncoder.encode("a <obj>", objectTokens: tokens), "\(tokens.shape)")
        }
    }

    func testUnknownWordsWordLevel() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        var r = request("a zebra on the beach , with a giraffe")
        assertPromptError(pipe, r, .unknownWords(["zebra", "giraffe"]))
        XCTAssertTrue(PromptError.unknownWords(["zebra"]).description.contains("'zebra'"))
        r.allowUnknownWords = true
        XCTAssertNoThrow(try pipe.generate(r))
    }

    func testTooLongPrompt() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        let meta = try PipelineFixtures.meta("toy-a")
        let long = "a large red star with blue dots on the beach , at the left next to a small green heart"
        var r = request(long)
        XCTAssertThrowsError(try pipe.generate(r)) { error in
            guard case .tooLong(let n, let limit)? = error as? PromptError else { return XCTFail("\(error)") }
            XCTAssertEqual(limit, meta.max_length)
            XCTAssertGreaterThan(n, limit)
            XCTAssertTrue("\(error)".contains("\(limit)"), "\(error)")
        }
        r.allowTruncation = true
        let result = try pipe.generate(r)
        XCTAssertEqual(result.warnings.count, 1, "\(result.warnings)")
        XCTAssertTrue(result.warnings.first?.contains("truncated") ?? false, "\(result.warnings)")

        // With an object: text after the placeholder is cut first; text before it that does not fit is an error.
        let tokens = try pipe.encodeObject(pixels: PipelineFixtures.expected("toy-a").tensor(named: "pixels.reference"))
        var o = request(meta.truncation_prompt)
        o.objectTokens = tokens
        XCTAssertThrowsError(try pipe.generate(o)) { XCTAssertNotNil($0 as? PromptError, "\($0)") }
        var before = request(long + " <obj>")
        before.objectTokens = tokens
        before.allowTruncation = true
        XCTAssertThrowsError(try pipe.generate(before)) { error in
            guard case .textBeforePlaceholderTooLong? = error as? PromptError else { return XCTFail("\(error)") }
        }
    }

    // MARK: sizes, noise, guidance

    func testBadSizes() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        XCTAssertEqual(pipe.sizeMultiple, 8)
        for (w, h) in [(0, 32), (32, 0), (-8, 32), (4096, 32), (32, 1 << 20), (30, 32), (32, 36)] {
            var r = request("a red star")
            r.width = w
            r.height = h
            XCTAssertThrowsError(try pipe.generate(r), "\(w)x\(h)") { error in
                XCTAssertEqual(error as? GenerationError,
                               .badSize(width: w, height: h, multiple: 8, limit: LikenessPipeline.maxImageSide), "\(error)")
                XCTAssertTrue("\(error)".contains("\(w)x\(h)"), "\(error)")
            }
        }
        var ok = request("a red star", steps: 1)
        ok.width = 16
        ok.height = 40
        XCTAssertEqual(try pipe.generate(ok).image.shape, [1, 3, 40, 16])
    }

    func testInitialNoiseShapeAndValues() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        var r = request("a red star")
        r.initialNoise = Tensor(zeros: [1, 4, 4, 4])
        XCTAssertThrowsError(try pipe.generate(r)) { error in
            XCTAssertEqual(error as? GenerationError, .badInitialNoise(shape: [1, 4, 4, 4], expected: [1, 4, 8, 8]), "\(error)")
        }
        // Given noise equal to the seed's draw reproduces the seeded image (euler-a: same step noise stream).
        var seeded = request("a red star", steps: 3)
        seeded.sampler = .eulerAncestral
        seeded.seed = 5
        var generator = TorchGenerator(seed: 5)
        var given = seeded
        given.initialNoise = try XCTUnwrap(Tensor(shape: [1, 4, 8, 8], storage: generator.randn(4 * 8 * 8)))
        let a = try pipe.generate(seeded), b = try pipe.generate(given)
        XCTAssertEqual(a.finalLatents.shape, b.finalLatents.shape)
        // The seeded run continues the stream after the initial draw, the given-noise run starts it fresh.
        XCTAssertGreaterThan(a.image.maxAbsDifference(b.image) ?? 0, 0)
        var ddim = seeded
        ddim.sampler = .ddim
        var ddimGiven = given
        ddimGiven.sampler = .ddim
        XCTAssertEqual(try pipe.generate(ddim).image, try pipe.generate(ddimGiven).image)
    }

    func testBadStepsAndSamplerOptions() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        for steps in [0, -3, 1001] {
            XCTAssertThrowsError(try pipe.generate(request("a red star", steps: steps)), "steps \(steps)") { error in
                XCTAssertEqual(error as? SamplingError, .invalidStepCount(steps: steps, limit: 1000), "\(error)")
            }
        }
        var karras = request("a red star")
        karras.karras = true
        XCTAssertThrowsError(try pipe.generate(karras)) { error in
            XCTAssertEqual(error as? SamplingError, .karrasUnsupported(.ddim), "\(error)")
        }
    }

    func testNonFiniteGuidance() throws {
        let pipe = try PipelineFixtures.pipeline("toy-a")
        var r = request("a red star")
        r.textGuidance = .nan
        XCTAssertThrowsError(try pipe.generate(r)) { XCTAssertNotNil($0 as? GenerationError, "\($0)") }
    }

    // MARK: model folders

    func testTextOnlyFolder() throws {
        let folder = try PipelineFixtures.copy("toy-b")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("object_encoder"))
        let pipe = try LikenessPipeline(folder: folder)
        XCTAssertNil(pipe.objectEncoder)
        XCTAssertThrowsError(try pipe.encodeObject(pixels: Tensor(zeros: [1, 3, 64, 64]))) { error in
            guard case .noObjectEncoder? = error as? GenerationError else { return XCTFail("\(error)") }
        }
        // Text-only generation is unaffected by removing the object encoder.
        var r = request("a photo of a teapot", steps: 2)
        r.negativePrompt = "blurry"
        XCTAssertEqual(try pipe.generate(r).image, try PipelineFixtures.pipeline("toy-b").generate(r).image)
    }

    func testMissingComponentFolder() throws {
        for (part, expected) in [("unet", "unet/config.json"), ("tokenizer", "tokenizer"),
                                 ("scheduler", "scheduler/scheduler_config.json")] {
            let folder = try PipelineFixtures.copy("toy-a")
            defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
            try FileManager.default.removeItem(at: folder.appendingPathComponent(part))
            XCTAssertThrowsError(try LikenessPipeline(folder: folder), part) { error in
                XCTAssertEqual(error as? ModelFolderError, .missing(folder: folder.path, part: expected), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        let nowhere = URL(fileURLWithPath: "/nonexistent/likeness-model")
        XCTAssertThrowsError(try LikenessPipeline(folder: nowhere)) { error in
            XCTAssertEqual(error as? ModelFolderError, .notAFolder(nowhere.path), "\(error)")
        }
    }

    func testMissingWeightFile() throws {
        let folder = try PipelineFixtures.copy("toy-a")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"))
        XCTAssertThrowsError(try LikenessPipeline(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("vae"), "\(error)")
        }
    }

    func testTruncatedUNetWeights() throws {
        let folder = try PipelineFixtures.copy("toy-a")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let file = folder.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 2).write(to: file)
        XCTAssertThrowsError(try LikenessPipeline(folder: folder)) { error in
            XCTAssertNotNil(error as? SafeTensorsError, "\(type(of: error)): \(error)")
            XCTAssertTrue("\(error)".contains("unet/diffusion_pytorch_model.safetensors"), "\(error)")
        }
    }

    func testMismatchedObjectEncoderWidth() throws {
        let folder = try PipelineFixtures.copy("toy-a")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let config = folder.appendingPathComponent("object_encoder/config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: "\"text_hidden_size\": 32", with: "\"text_hidden_size\": 48")
        try text.write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LikenessPipeline(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("object_encoder"), "\(error)")
        }
    }
}
