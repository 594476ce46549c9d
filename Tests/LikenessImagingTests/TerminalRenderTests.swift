import CSixel
import Foundation
import XCTest
import LikenessImaging

final class TerminalRenderTests: XCTestCase {
    private let esc = "\u{1b}"

    /// red, green / blue, white
    private func twoByTwo() throws -> RGBImage {
        try RGBImage(width: 2, height: 2, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    }

    func testXterm256Index() {
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(255, 0, 0)), 196)
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(0, 0, 255)), 21)
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(0, 255, 0)), 46)
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(255, 255, 255)), 231)
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(0, 0, 0)), 16)
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(128, 128, 128)), 244)  // grey ramp, 8 + 10 * 12
        XCTAssertEqual(TerminalRender.xterm256Index(RGB(95, 135, 175)), 16 + 36 + 12 + 3)
    }

    func testHalfBlockCellsFitTheBoxKeepingAspect() {
        // 64 x 32 into 20 columns: 20 x 10 pixels -> 5 rows of half blocks.
        let cells = TerminalRender.halfBlockCells(imageWidth: 64, imageHeight: 32, maxColumns: 20, maxRows: 20)
        XCTAssertEqual(cells.columns, 20)
        XCTAssertEqual(cells.rows, 5)
    }

    func testASCIIDimensionsAreAsRequested() throws {
        // 80 x 40 image, 2:1 cells: 40 columns x 10 rows fits exactly.
        let img = try smoothImage(width: 80, height: 40)
        let s = try TerminalRender.ascii(img, maxColumns: 40, maxRows: 10)
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 10)
        for line in lines { XCTAssertEqual(line.count, 40) }
        XCTAssertTrue(s.allSatisfy { $0.isASCII }, "ASCII output must be plain ASCII")
        XCTAssertFalse(s.contains(esc))

        // A tall image is limited by rows: 10 x 100 into 40 x 10 cells -> 2 columns x 10 rows.
        let tall = try RGBImage(width: 10, height: 100, fill: .white)
        let t = try TerminalRender.ascii(tall, maxColumns: 40, maxRows: 10)
        let tl = t.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(tl.count, 10)
        for line in tl { XCTAssertEqual(String(line), "@@") }
        let cells = TerminalRender.asciiCells(imageWidth: 10, imageHeight: 100, maxColumns: 40, maxRows: 10)
        XCTAssertEqual(cells.columns, 2)
        XCTAssertEqual(cells.rows, 10)
    }

    func testASCIIRampFollowsBrightness() throws {
        let img = try RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        XCTAssertEqual(try TerminalRender.ascii(img, maxColumns: 2, maxRows: 1, cellAspect: 1), " @")
        XCTAssertEqual(try TerminalRender.ascii(img, maxColumns: 2, maxRows: 1, ramp: "#.", cellAspect: 1), "#.")
    }

    func testTinyBoxesThrow() throws {
        let img = try twoByTwo()
        assertImageError(try TerminalRender.ascii(img, maxColumns: 0, maxRows: 5), contains: ["too small"])
        assertImageError(try TerminalRender.sixel(img, maxColumns: 0, maxRows: 0), contains: ["too small"])
        // 1 x 1 cell still renders.
        XCTAssertEqual(try TerminalRender.ascii(img, maxColumns: 1, maxRows: 1).count, 1)
    }

    func testSixelFraming() throws {
        let img = try smoothImage(width: 40, height: 30)
        let bytes = try TerminalRender.sixel(img, maxColumns: 4, maxRows: 2, cellWidth: 10, cellHeight: 20)
        let s = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(s.hasPrefix("\(esc)P"), "sixel must start with DCS")
        XCTAssertTrue(s.hasSuffix("\(esc)\\"), "sixel must end with ST")
        XCTAssertTrue(s.contains("q"))
        // Decode it back: 40 x 30 fits 40 x 40 pixels unchanged.
        let decoded = try decodeSixel(bytes)
        XCTAssertEqual(decoded.width, 40)
        XCTAssertEqual(decoded.height, 30)
        let mean = meanAbsDiff(decoded.pixels, img.pixels)
        XCTAssertLessThan(mean, 12, "libsixel output decodes far from the input (mean abs \(mean))")

        let tiny = try TerminalRender.sixel(try RGBImage(width: 1, height: 1, fill: .white), maxColumns: 1, maxRows: 1)
        XCTAssertTrue(String(decoding: tiny, as: UTF8.self).hasPrefix("\(esc)P"))
    }

    func testSixelFallbackDecodesToQuantizedImage() throws {
        let img = try randomImage(width: 13, height: 11, seed: 77)  // 11 rows: a partial band
        // One cell of exactly the image's size: no scaling.
        let bytes = try TerminalRender.sixelFallback(img, maxColumns: 1, maxRows: 1, cellWidth: 13, cellHeight: 11)
        let s = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(s.hasPrefix("\(esc)Pq\"1;1;13;11"))
        XCTAssertTrue(s.hasSuffix("\(esc)\\"))
        let decoded = try decodeSixel(bytes)
        XCTAssertEqual([decoded.width, decoded.height], [13, 11])
        // Expected: every sample rounded to the nearest multiple of 51.
        let quantized = img.pixels.map { UInt8((Int($0) + 25) / 51 * 51) }
        XCTAssertEqual(maxAbsDiff(decoded.pixels, quantized), 0)
    }

    func testSixelScalesToCellBox() throws {
        let img = try smoothImage(width: 100, height: 50)
        let size = TerminalRender.sixelPixelSize(imageWidth: 100, imageHeight: 50, maxColumns: 3, maxRows: 3,
                                                 cellWidth: 10, cellHeight: 20)
        XCTAssertEqual(size.width, 30)
        XCTAssertEqual(size.height, 15)
        let decoded = try decodeSixel(try TerminalRender.sixel(img, maxColumns: 3, maxRows: 3))
        XCTAssertEqual([decoded.width, decoded.height], [30, 15])
    }

    /// Decodes sixel bytes with libsixel's decoder into RGB.
    private func decodeSixel(_ bytes: [UInt8]) throws -> RGBImage {
        var input = bytes
        var pixels: UnsafeMutablePointer<UInt8>?
        var palette: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, ncolors: Int32 = 0
        let status = input.withUnsafeMutableBufferPointer { buf in
            sixel_decode_raw(buf.baseAddress, Int32(buf.count), &pixels, &w, &h, &palette, &ncolors, nil)
        }
        defer {
            free(pixels)
            free(palette)
        }
        XCTAssertEqual(status & 0x1000, 0, "sixel_decode_raw failed")
        let px = try XCTUnwrap(pixels), pal = try XCTUnwrap(palette)
        var rgb = [UInt8](repeating: 0, count: Int(w * h) * 3)
        for i in 0..<Int(w * h) {
            let c = Int(px[i])
            rgb[3 * i] = pal[3 * c]
            rgb[3 * i + 1] = pal[3 * c + 1]
            rgb[3 * i + 2] = pal[3 * c + 2]
        }
        return try RGBImage(width: Int(w), height: Int(h), pixels: rgb)
    }
}
