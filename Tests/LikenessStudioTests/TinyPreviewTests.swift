// Preview quality `tiny`: `auto` picks the tiny decoder (TAESD) for large latents when one is
// attached, `tiny` asks for it by name, and the runtime hands the engine `.tiny` so every step's
// preview is the tiny decoder's full-resolution image.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit
import XCTest
@testable import LikenessStudio

final class TinyPreviewTests: XCTestCase {
    func testAutoPicksTheTinyDecoderForLargeModelsWhenPresent() {
        let sd = ModelFacts(name: "sd15", vaeFactor: 8, hasLatentPreview: true, hasTinyDecoder: true)
        XCTAssertTrue(sd.previewPlan(.auto, width: 512, height: 512) == (.tiny, 1), "64 x 64 latents: the tiny decoder every step")
        XCTAssertTrue(sd.previewPlan(.auto, width: 256, height: 256) == (.decode, 1), "32 x 32 latents: the VAE is cheap enough")
        XCTAssertTrue(sd.previewPlan(.tiny, width: 256, height: 256) == (.tiny, 1), "asked for by name")
        let bare = ModelFacts(name: "sd15", vaeFactor: 8, hasLatentPreview: false, hasTinyDecoder: false)
        XCTAssertTrue(bare.previewPlan(.tiny, width: 512, height: 512) == (.decode, 8), "no tiny decoder: as auto")
        XCTAssertTrue(bare.previewPlan(.auto, width: 512, height: 512) == (.decode, 8))
        XCTAssertEqual(StudioRuntime.previewKind(.tiny), .tiny)
        XCTAssertEqual(StudioRuntime.previewKind(.latent), .latent)
        XCTAssertEqual(StudioRuntime.previewKind(.decode), .decode)
        XCTAssertTrue(PreviewQuality.allCases.contains(.tiny), "the setting cycles through tiny")
    }

    func testRuntimeShowsATinyDecoderPreviewEveryStep() throws {
        let root = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/generated")
        let model = root.appendingPathComponent("pipeline/toy-a"), taesd = root.appendingPathComponent("tiny_decoder/small")
        guard FileManager.default.fileExists(atPath: model.path), FileManager.default.fileExists(atPath: taesd.path) else {
            XCTFail("fixtures missing; run `make fixtures`")
            return
        }
        let pipeline = try LikenessPipeline(folder: model)
        try pipeline.attachTinyDecoder(taesd)
        XCTAssertTrue(StudioRuntime.facts(pipeline).hasTinyDecoder)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-tiny-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let paths = LikenessPaths(dataHome: tmp.appendingPathComponent("data"), configHome: tmp.appendingPathComponent("config"))
        let mailbox = Mailbox()
        let runtime = StudioRuntime(engine: GenerationEngine(pipeline: pipeline, threads: 1), identity: nil,
                                    gallery: ObjectGallery(paths: paths), outputs: OutputStore(paths: paths), paths: paths,
                                    mailbox: mailbox, samples: nil)
        var settings = StudioSettings()
        settings.generation.steps = 3
        settings.generation.seed = 2
        settings.previewQuality = .tiny
        let plan = GenerationPlan(runID: 1, settings: settings, object: nil,
                                  jobs: [JobSpec(prompt: "a large red star on the beach", negative: "", seeds: [2],
                                                 identityGuidance: 3, axisValue: nil)])
        runtime.perform(.generate(plan))
        var previews: [RGBImage] = []
        var final: RGBImage?
        let end = Date().addingTimeInterval(120)
        loop: while Date() < end {
            for m in mailbox.drain() {
                guard case let .job(_, _, u) = m else { continue }
                switch u {
                case let .step(_, _, images, _, _): previews += images.compactMap { $0 }
                case let .finished(images, _, _): final = images.first; break loop
                case let .failed(message): XCTFail(message); break loop
                default: break
                }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let image = try XCTUnwrap(final)
        XCTAssertEqual(previews.count, 3, "one tiny-decoder preview per step")
        XCTAssertTrue(previews.allSatisfy { $0.width == image.width && $0.height == image.height }, "full resolution")
    }
}
