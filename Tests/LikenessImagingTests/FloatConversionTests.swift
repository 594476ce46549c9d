import Foundation
import XCTest
import LikenessImaging

final class FloatConversionTests: XCTestCase {
    /// Parity with diffusers VaeImageProcessor.preprocess / postprocess.
    func testMatchesDiffusersImageProcessor() throws {
        let t = try loadSafetensors(try fixture("float.safetensors"))
        let img = try XCTUnwrap(t["image"]), pre = try XCTUnwrap(t["preprocessed"])
        let floats = try XCTUnwrap(t["floats"]), post = try XCTUnwrap(t["postprocessed"])
        let image = try RGBImage(width: img.shape[1], height: img.shape[0], pixels: img.u8)
        let chw = image.toCHWFloats(range: .minusOneToOne)
        XCTAssertEqual(chw.count, pre.f32.count)
        var maxDiff: Float = 0
        for i in 0..<chw.count { maxDiff = max(maxDiff, abs(chw[i] - pre.f32[i])) }
        print("[parity] toCHWFloats vs VaeImageProcessor.preprocess: max-abs \(maxDiff)")
        // Measured max-abs difference: 0 (same float32 operations).
        XCTAssertEqual(maxDiff, 0, "preprocess max-abs \(maxDiff)")

        let back = try RGBImage(chw: floats.f32, width: floats.shape[2], height: floats.shape[1], range: .minusOneToOne)
        let d = maxAbsDiff(back.pixels, post.u8)
        print("[parity] init(chw:) vs VaeImageProcessor.postprocess: max-abs \(d)")
        // Measured max-abs difference: 0.
        XCTAssertEqual(d, 0, "postprocess max-abs \(d)")
    }

    func testRoundTripBothRanges() throws {
        let image = try randomImage(width: 6, height: 5, seed: 8)
        for range in [PixelRange.zeroToOne, .minusOneToOne] {
            let chw = image.toCHWFloats(range: range)
            XCTAssertEqual(chw.count, 3 * 5 * 6)
            XCTAssertEqual(try RGBImage(chw: chw, width: 6, height: 5, range: range), image)
        }
        // CHW layout: first plane is red.
        let red = try RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 255, 0, 0])
        XCTAssertEqual(red.toCHWFloats(range: .zeroToOne), [1, 1, 0, 0, 0, 0])
        XCTAssertEqual(red.toCHWFloats(range: .minusOneToOne), [1, 1, -1, -1, -1, -1])
    }

    func testClampsAndRejectsBadCounts() throws {
        let v: [Float] = [-5, 5, .nan, 0.5, 0, 1]
        let img = try RGBImage(chw: v, width: 2, height: 1, range: .zeroToOne)
        XCTAssertEqual(img.pixels, [0, 0, 0, 255, 128, 255])  // 0.5 * 255 = 127.5 -> 128 (half to even)
        assertImageError(try RGBImage(chw: [0, 0, 0], width: 2, height: 1, range: .zeroToOne),
                         contains: ["3 * 1 * 2", "got 3"])
    }
}
