// Sixel output round-tripped through libsixel's decoder: the decoded image has the fitted
// size and colours close to the source; the placement never reaches past the pane.

import XCTest
import CSixel
import LikenessImaging
@testable import LikenessStudio

final class ImageLayerSixelTests: XCTestCase {
    /// A smooth two-axis gradient with a blue square, 64 x 48.
    private func source() throws -> RGBImage {
        var p: [UInt8] = []
        for y in 0..<48 {
            for x in 0..<64 {
                let square = (20..<40).contains(x) && (12..<30).contains(y)
                p += square ? [20, 40, 220] : [UInt8(x * 4), UInt8(y * 5), 90]
            }
        }
        return try RGBImage(width: 64, height: 48, pixels: p)
    }

    /// Decodes sixel bytes with libsixel into an RGB image.
    private func decode(_ bytes: [UInt8]) throws -> RGBImage {
        var allocator: OpaquePointer?
        XCTAssertEqual(sixel_allocator_new(&allocator, nil, nil, nil, nil) & 0x1000, 0)
        defer { sixel_allocator_unref(allocator) }
        var input = bytes
        var pixels: UnsafeMutablePointer<UInt8>?
        var palette: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, n: Int32 = 0
        let status = input.withUnsafeMutableBufferPointer {
            sixel_decode_raw($0.baseAddress, Int32($0.count), &pixels, &w, &h, &palette, &n, allocator)
        }
        XCTAssertEqual(status & 0x1000, 0, "libsixel could not decode")
        let px = try XCTUnwrap(pixels), pal = try XCTUnwrap(palette)
        defer { sixel_allocator_free(allocator, px); sixel_allocator_free(allocator, pal) }
        var out: [UInt8] = []
        for i in 0..<Int(w * h) {
            let k = Int(px[i])
            XCTAssertLessThan(k, Int(n))
            out += [pal[3 * k], pal[3 * k + 1], pal[3 * k + 2]]
        }
        return try RGBImage(width: Int(w), height: Int(h), pixels: out)
    }

    func testSixelRoundTripsThroughLibsixel() throws {
        let img = try source()
        // 8 x 4 cells of 10 x 20 pixels: 80 x 80 box, whole sixel bands within 78 rows.
        let bytes = try ImageLayer.sixel(img, columns: 8, rows: 4, cellWidth: 10, cellHeight: 20)
        XCTAssertEqual(Array(bytes.prefix(2)), [0x1B, UInt8(ascii: "P")])
        XCTAssertEqual(Array(bytes.suffix(2)), [0x1B, UInt8(ascii: "\\")])
        let decoded = try decode(bytes)
        XCTAssertEqual(decoded.width, 80)
        XCTAssertEqual(decoded.height, 60)
        let reference = try XCTUnwrap(ImageLayer.scaled(img, 80, 60, .area))
        var total = 0, worst = 0
        for i in 0..<reference.pixels.count {
            let d = abs(Int(reference.pixels[i]) - Int(decoded.pixels[i]))
            total += d
            worst = max(worst, d)
        }
        let mean = Double(total) / Double(reference.pixels.count)
        XCTAssertLessThan(mean, 6, "mean channel error")
        XCTAssertLessThan(worst, 64, "largest channel error")
        // Flat areas come back within sixel's percent steps (and median-cut averaging).
        let c = decoded[30 * 80 / 64, 20 * 60 / 48]
        for (got, want) in [(c.r, 20), (c.g, 40), (c.b, 220)] { XCTAssertLessThanOrEqual(abs(Int(got) - want), 8, "\(c)") }
    }

    func testPlacementCentredAndWithinPane() throws {
        let img = try source()
        let p = try ImageLayer.sixelPlacement(img, in: Rect(x: 2, y: 3, width: 30, height: 5), cellWidth: 9, cellHeight: 17)
        // 5 rows x 17 px = 85 -> 84 px of whole bands; width 84 * 64 / 48 = 112 px = 13 cells.
        XCTAssertEqual(p.pixelHeight, 84)
        XCTAssertEqual(p.pixelWidth, 112)
        XCTAssertEqual(p.rect, Rect(x: 2 + (30 - 13) / 2, y: 3, width: 13, height: 5))
        for rows in 1...12 {
            for ch in [6, 7, 13, 16, 20, 23] {
                guard let g = ImageLayer.sixelGeometry(imageWidth: 64, imageHeight: 48,
                                                       in: Rect(x: 0, y: 0, width: 200, height: rows),
                                                       cellWidth: 10, cellHeight: ch) else { continue }
                XCTAssertLessThanOrEqual(g.rect.height, rows, "rows \(rows), cell height \(ch)")
                XCTAssertLessThanOrEqual((g.pixelHeight + 5) / 6 * 6, rows * ch)
            }
        }
    }

    func testTooSmallForOneBandThrows() throws {
        XCTAssertThrowsError(try ImageLayer.sixel(try source(), columns: 4, rows: 1, cellWidth: 8, cellHeight: 5))
        XCTAssertThrowsError(try ImageLayer.sixel(try source(), columns: 0, rows: 3, cellWidth: 8, cellHeight: 16))
    }
}
