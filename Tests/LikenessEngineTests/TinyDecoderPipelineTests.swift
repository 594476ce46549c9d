// The tiny decoder in the pipeline: `.tiny` step previews and `FinalDecoder.tiny` decode exactly
// what AutoencoderTiny (parity-tested in TinyDecoderTests) makes of the latents; a decoder of
// another latent space is refused; asking for one that is not there is an error.

import Foundation
import XCTest
@testable import LikenessEngine

final class TinyDecoderPipelineTests: XCTestCase {
    func smallDecoder() throws -> URL {
        let u = TinyDecoderTests.root.appendingPathComponent("small")
        guard FileManager.default.fileExists(atPath: u.path) else {
            XCTFail("fixture \(u.path) is missing; run .venv/bin/python scripts/fixtures/tiny_decoder.py")
            throw ModelFixtures.Missing(path: u.path)
        }
        return u
    }

    func testTinyFinalDecodeAndPreviews() throws {
        let pipeline = try LikenessPipeline(folder: PipelineFixtures.url("toy-a"))
        try pipeline.attachTinyDecoder(smallDecoder())
        var request = GenerationRequest(prompt: "a large red star on the beach")
        request.steps = 3
        request.seed = 5
        request.preview = .tiny
        request.decoder = .tiny
        var previews: [[RGBPixels]] = []
        let result = try pipeline.generate(request, onStep: { event in previews.append(event.previews) })
        let image = try XCTUnwrap(result.images.first)
        var expected = try XCTUnwrap(pipeline.tinyDecoder).decode(diffusionLatents: image.finalLatents)
        expected.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = min(max(p[i], -1), 1) } }
        XCTAssertEqual(image.image, expected)
        XCTAssertEqual(previews.count, 3)
        for step in previews {
            XCTAssertEqual(step.count, 1)
            XCTAssertEqual(step.first?.width, image.pixels.width, "a tiny preview is full resolution")
        }
        let last = try XCTUnwrap(previews.last?.first)
        let worst = zip(last.bytes, image.pixels.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 255
        XCTAssertLessThanOrEqual(worst, 8, "the last preview decodes almost the final latents with the same decoder")
        XCTAssertNotEqual(previews.first?.first, last, "previews follow the steps")

        request.decoder = .full
        let full = try pipeline.generate(request)
        XCTAssertEqual(full.images[0].finalLatents, image.finalLatents)
        XCTAssertNotEqual(full.images[0].pixels, image.pixels, "the full VAE decodes differently")
    }

    func testRefusesAnotherLatentSpaceAndAMissingDecoder() throws {
        let pipeline = try LikenessPipeline(folder: PipelineFixtures.url("toy-b"))
        XCTAssertThrowsError(try pipeline.attachTinyDecoder(smallDecoder())) { error in
            XCTAssertTrue("\(error)".contains("another latent space"), "\(error)")
        }
        XCTAssertNil(pipeline.tinyDecoder)
        var request = GenerationRequest(prompt: "a large red star on the beach")
        request.steps = 1
        request.decoder = .tiny
        XCTAssertThrowsError(try pipeline.generate(request)) { error in
            XCTAssertEqual(error as? GenerationError, .noTinyDecoder)
        }
        request.decoder = .full
        request.preview = .tiny // falls back as .latent does
        XCTAssertNoThrow(try pipeline.generate(request))
    }
}
