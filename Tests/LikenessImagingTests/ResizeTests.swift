import Foundation
import XCTest
import LikenessImaging

final class ResizeTests: XCTestCase {
    /// Parity with torch.nn.functional.interpolate (fixture made by scripts/fixtures/imaging.py).
    func testResizeMatchesTorch() throws {
        let tensors = try loadSafetensors(try fixture("resize.safetensors"))
        let input = try XCTUnwrap(tensors["input"])
        let image = try RGBImage(width: input.shape[1], height: input.shape[0], pixels: input.u8)
        var checked = 0
        for (name, t) in tensors.sorted(by: { $0.key < $1.key }) where name != "input" {
            let filter: ResizeFilter
            if name.hasPrefix("bilinear") { filter = .bilinear }
            else if name.hasPrefix("area") { filter = .area }
            else { filter = .nearest }
            let out = try image.resized(width: t.shape[1], height: t.shape[0], filter: filter)
            var maxDiff: Float = 0
            for i in 0..<t.f32.count { maxDiff = max(maxDiff, abs(Float(out.pixels[i]) - t.f32[i])) }
            print("[parity] resize \(name) vs torch: max-abs \(maxDiff)")
            // Our output is rounded to uint8, torch's is float: up to 0.5 from rounding.
            // Measured max-abs difference (uint8 units): bilinear 0.5, area 0.5, nearest 0.
            XCTAssertLessThanOrEqual(maxDiff, filter == .nearest ? 0 : 0.5001, "\(name): max-abs \(maxDiff)")
            checked += 1
        }
        XCTAssertEqual(checked, 7)
    }

    func testAreaAveragesExactly() throws {
        // 4x2 -> 2x1: each output is the mean of a 2x2 block.
        let p: [UInt8] = [0, 0, 0, 100, 100, 100, 10, 20, 30, 50, 60, 70,
                          200, 200, 200, 100, 100, 100, 30, 20, 10, 70, 60, 50]
        let img = try RGBImage(width: 4, height: 2, pixels: p)
        let out = try img.resized(width: 2, height: 1, filter: .area)
        XCTAssertEqual(out.pixels, [100, 100, 100, 40, 40, 40])
        // Non-integer factor: 3 -> 2 columns, weights 2/3, 1/3 and 1/3, 2/3.
        let row = try RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 180, 180, 180])
        XCTAssertEqual(try row.resized(width: 2, height: 1, filter: .area).pixels, [30, 30, 30, 150, 150, 150])
    }

    func testResizeValidatesSize() throws {
        let img = try randomImage(width: 4, height: 4, seed: 1)
        assertImageError(try img.resized(width: 0, height: 4), contains: ["resize target"])
        assertImageError(try img.resized(width: 4, height: 100_000), contains: ["resize target"])
        XCTAssertEqual(try img.resized(width: 4, height: 4), img)
    }

    func testFittedKeepsAspect() throws {
        let img = try randomImage(width: 200, height: 100, seed: 2)
        let f = try img.fitted(maxWidth: 50, maxHeight: 50)
        XCTAssertEqual(f.width, 50)
        XCTAssertEqual(f.height, 25)
        let size = RGBImage.fittedSize(width: 10, height: 1000, maxWidth: 64, maxHeight: 64)
        XCTAssertEqual(size.height, 64)
        XCTAssertEqual(size.width, 1)
    }

    func testCenterCropSquare() throws {
        var img = try RGBImage(width: 7, height: 4, fill: .black)
        // Mark columns: value = column index.
        for y in 0..<4 { for x in 0..<7 { img[x, y] = RGB(UInt8(x), UInt8(y), 0) } }
        let sq = img.centerCroppedSquare()
        XCTAssertEqual(sq.width, 4)
        XCTAssertEqual(sq.height, 4)
        // (7 - 4) / 2 = 1.5 rounds half to even -> 2, like torchvision center_crop.
        XCTAssertEqual(sq[0, 0], RGB(2, 0, 0))
        XCTAssertEqual(sq[3, 3], RGB(5, 3, 0))
        let tall = try RGBImage(width: 3, height: 8, fill: .white).centerCroppedSquare()
        XCTAssertEqual([tall.width, tall.height], [3, 3])
    }

    func testCropValidation() throws {
        let img = try randomImage(width: 5, height: 5, seed: 3)
        assertImageError(try img.cropped(x: 3, y: 0, width: 3, height: 2), contains: ["outside"])
        assertImageError(try img.cropped(x: 0, y: 0, width: 0, height: 2), contains: ["empty"])
        let c = try img.cropped(x: 1, y: 2, width: 3, height: 2)
        XCTAssertEqual(c[0, 0], img[1, 2])
        XCTAssertEqual(c[2, 1], img[3, 3])
    }

    func testHConcatWithGutter() throws {
        let a = try RGBImage(width: 2, height: 2, fill: RGB(255, 0, 0))
        let b = try RGBImage(width: 3, height: 4, fill: RGB(0, 0, 255))
        let row = try RGBImage.hconcat([a, b], gutter: 1, background: RGB(9, 9, 9))
        // Cells are 3 x 4 (largest); a is centred in the first cell.
        XCTAssertEqual([row.width, row.height], [3 + 1 + 3, 4])
        XCTAssertEqual(row[0, 0], RGB(9, 9, 9))        // above a (centred: y 1...2, x 0...1)
        XCTAssertEqual(row[0, 1], RGB(255, 0, 0))
        XCTAssertEqual(row[1, 2], RGB(255, 0, 0))
        XCTAssertEqual(row[2, 1], RGB(9, 9, 9))        // right of a inside its cell
        XCTAssertEqual(row[3, 0], RGB(9, 9, 9))        // gutter
        XCTAssertEqual(row[4, 0], RGB(0, 0, 255))
        XCTAssertEqual(row[6, 3], RGB(0, 0, 255))
    }

    func testGrid() throws {
        let colours = [RGB(1, 0, 0), RGB(2, 0, 0), RGB(3, 0, 0), RGB(4, 0, 0), RGB(5, 0, 0)]
        let images = try colours.map { try RGBImage(width: 2, height: 2, fill: $0) }
        let g = try RGBImage.grid(images, columns: 2, gutter: 1, background: .white)
        XCTAssertEqual([g.width, g.height], [5, 8])  // 3 rows
        XCTAssertEqual(g[0, 0], RGB(1, 0, 0))
        XCTAssertEqual(g[3, 0], RGB(2, 0, 0))
        XCTAssertEqual(g[0, 3], RGB(3, 0, 0))
        XCTAssertEqual(g[4, 4], RGB(4, 0, 0))
        XCTAssertEqual(g[1, 7], RGB(5, 0, 0))
        XCTAssertEqual(g[4, 7], .white)  // empty cell
        XCTAssertEqual(g[2, 0], .white)  // gutter
        assertImageError(try RGBImage.grid([], columns: 2), contains: ["at least one"])
        assertImageError(try RGBImage.grid(images, columns: 0), contains: ["columns"])
    }
}
