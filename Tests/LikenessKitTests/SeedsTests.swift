import Foundation
import LikenessImaging
import XCTest
@testable import LikenessKit

final class SeedsTests: XCTestCase {
    func testSeedLists() throws {
        XCTAssertEqual(try SeedList.parse("7"), [7])
        XCTAssertEqual(try SeedList.parse("1,2,3,4"), [1, 2, 3, 4])
        XCTAssertEqual(try SeedList.parse("7+4"), [7, 8, 9, 10])
        XCTAssertEqual(try SeedList.parse("1, 5+2"), [1, 5, 6])
        XCTAssertEqual(try SeedList.parse("-1,-1", random: { 42 }), [42, 42])
        for bad in ["", "x", "7+0", "7+", "1,,2", "-2", "18446744073709551615+2", "1+65"] {
            XCTAssertThrowsError(try SeedList.parse(bad), bad)
        }
    }

    func testGridHasOneLabelledCellPerSeed() throws {
        let images = try (0..<3).map { _ in try RGBImage(width: 64, height: 64, fill: RGB(200, 10, 10)) }
        let grid = try SeedGrid.make(images, seeds: [7, 8, 1234])
        XCTAssertEqual(grid.width, 3 * 64 + 2 * 4)
        XCTAssertGreaterThan(grid.height, 64)
        // Under each cell: white background with black digit pixels.
        for cell in 0..<3 {
            var black = 0
            for y in 64..<grid.height { for x in cell * 68..<cell * 68 + 64 where grid[x, y] == .black { black += 1 } }
            XCTAssertGreaterThan(black, 10, "cell \(cell) has no label")
        }
        // Different seeds draw different labels.
        func label(_ cell: Int) -> [RGB] { (64..<grid.height).flatMap { y in (cell * 68..<cell * 68 + 64).map { grid[$0, y] } } }
        XCTAssertNotEqual(label(0), label(1))
        XCTAssertThrowsError(try SeedGrid.make(images, seeds: [1]))
    }
}
