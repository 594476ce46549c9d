// ImageLayer: half-block cells carry the right pixels, the image keeps its aspect and is
// centred, 256-colour mode stores exact palette entries, ASCII has no colour, the filters
// differ as documented.

import XCTest
import LikenessImaging
@testable import LikenessStudio

private typealias Colour = LikenessStudio.RGB

final class ImageLayerTests: XCTestCase {
    /// An image whose pixel (x, y) is (40 x, 40 y, 200).
    private func ramp(_ w: Int, _ h: Int) throws -> RGBImage {
        var p: [UInt8] = []
        for y in 0..<h { for x in 0..<w { p += [UInt8(40 * x), UInt8(40 * y), 200] } }
        return try RGBImage(width: w, height: h, pixels: p)
    }

    func testTruecolorHalfBlocksCarryUpperAndLowerPixels() throws {
        var grid = CellGrid(width: 4, height: 2)
        let r = ImageLayer.draw(try ramp(4, 4), into: &grid, rect: grid.bounds, mode: .halfblockTruecolor)
        XCTAssertEqual(r, Rect(x: 0, y: 0, width: 4, height: 2))
        for row in 0..<2 {
            for col in 0..<4 {
                let cell = grid[col, row]
                XCTAssertEqual(cell.text, "▀")
                XCTAssertEqual(cell.style.fg, Colour(UInt8(40 * col), UInt8(80 * row), 200))
                XCTAssertEqual(cell.style.bg, Colour(UInt8(40 * col), UInt8(80 * row + 40), 200))
            }
        }
    }

    func testImageIsCentredAndSurroundingsFilled() throws {
        var grid = CellGrid(width: 20, height: 6, fill: Cell("x"))
        let bg = Style(bg: Colour(1, 2, 3))
        let r = ImageLayer.draw(try ramp(4, 4), into: &grid, rect: Rect(x: 3, y: 1, width: 10, height: 2),
                                mode: .halfblockTruecolor, background: bg)
        XCTAssertEqual(r, Rect(x: 6, y: 1, width: 4, height: 2), "enlarging stops at the rect's height")
        XCTAssertEqual(grid[6, 1].style.fg, Colour(0, 0, 200))
        XCTAssertEqual(grid[3, 1], Cell(" ", bg))
        XCTAssertEqual(grid[12, 2], Cell(" ", bg))
        XCTAssertEqual(grid[13, 1].text, "x", "nothing drawn outside the rect")
        XCTAssertEqual(grid[3, 0].text, "x")
    }

    func testAspectKeptForWideImage() throws {
        var grid = CellGrid(width: 40, height: 40)
        let r = ImageLayer.draw(try RGBImage(width: 8, height: 4, fill: .white), into: &grid, rect: grid.bounds,
                                mode: .halfblockTruecolor)
        // 8x4 pixels, cells twice as tall as wide: 40 columns show 20 pixel rows = 10 cell rows.
        XCTAssertEqual(r, Rect(x: 0, y: 15, width: 40, height: 10))
        XCTAssertEqual(grid[0, 14].text, " ")
        XCTAssertEqual(grid[0, 15].text, "▀")
        XCTAssertEqual(grid[39, 24].text, "▀")
        XCTAssertEqual(grid[0, 25].text, " ")
    }

    func testOddPixelRowsLeaveBackgroundInLastRow() throws {
        var grid = CellGrid(width: 2, height: 2)
        ImageLayer.draw(try ramp(2, 3), into: &grid, rect: grid.bounds, mode: .halfblockTruecolor)
        XCTAssertEqual(grid[0, 1].style.fg, Colour(0, 80, 200))
        XCTAssertNil(grid[0, 1].style.bg)
    }

    func testPalette256StoresExactPaletteEntries() throws {
        var grid = CellGrid(width: 1, height: 1)
        let img = try RGBImage(width: 1, height: 2, pixels: [250, 10, 10, 100, 101, 99])
        ImageLayer.draw(img, into: &grid, rect: grid.bounds, mode: .halfblock256)
        XCTAssertEqual(grid[0, 0].style.fg, Colour(255, 0, 0))
        XCTAssertEqual(grid[0, 0].style.bg, Colour(98, 98, 98))
        for i in 16...255 { XCTAssertEqual(ImageLayer.xterm256Index(ImageLayer.xterm256Color(i)), i, "entry \(i)") }
    }

    func testPalette256CellsOfPrimaryColours() throws {
        // red, green / blue, white: the xterm entries 196, 46 over 21, 231.
        var grid = CellGrid(width: 2, height: 1)
        let img = try RGBImage(width: 2, height: 2, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
        ImageLayer.draw(img, into: &grid, rect: grid.bounds, mode: .halfblock256)
        XCTAssertEqual(grid[0, 0], Cell("▀", Style(fg: ImageLayer.xterm256Color(196), bg: ImageLayer.xterm256Color(21))))
        XCTAssertEqual(grid[1, 0], Cell("▀", Style(fg: ImageLayer.xterm256Color(46), bg: ImageLayer.xterm256Color(231))))
    }

    func testFitsTheBoxAndDrawsNothingInAnEmptyOne() throws {
        let img = try RGBImage(width: 64, height: 32, fill: .white)
        var grid = CellGrid(width: 20, height: 20)
        let r = ImageLayer.draw(img, into: &grid, rect: grid.bounds, mode: .halfblockTruecolor)
        XCTAssertEqual(r.width, 20)
        XCTAssertEqual(r.height, 5, "64 x 32 into 20 columns: 20 x 10 pixels, 5 rows of half blocks")
        var empty = CellGrid(width: 5, height: 1, fill: Cell("x"))
        let none = ImageLayer.draw(img, into: &empty, rect: Rect(x: 0, y: 0, width: 5, height: 0), mode: .halfblockTruecolor)
        XCTAssertEqual(none.width * none.height, 0)
        XCTAssertEqual(empty.text, "xxxxx")
    }

    func testASCIIHasNoColour() throws {
        var grid = CellGrid(width: 2, height: 1)
        let img = try RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        let r = ImageLayer.draw(img, into: &grid, rect: grid.bounds, mode: .ascii)
        XCTAssertEqual(r.width, 2)
        XCTAssertEqual(grid.text, " @")
        XCTAssertEqual(grid[1, 0].style, .plain)
        var dark = CellGrid(width: 2, height: 1)
        ImageLayer.draw(img, into: &dark, rect: dark.bounds, mode: .ascii, ramp: "@. ")
        XCTAssertEqual(dark.text, "@ ", "a reversed ramp for light backgrounds")
    }

    func testAreaAveragesAndNearestSamples() throws {
        var p: [UInt8] = []
        for y in 0..<4 { for x in 0..<4 { let v: UInt8 = (x + y) % 2 == 0 ? 255 : 0; p += [v, v, v] } }
        let checker = try RGBImage(width: 4, height: 4, pixels: p)
        var area = CellGrid(width: 2, height: 1), nearest = CellGrid(width: 2, height: 1)
        ImageLayer.draw(checker, into: &area, rect: area.bounds, mode: .halfblockTruecolor, filter: .area)
        ImageLayer.draw(checker, into: &nearest, rect: nearest.bounds, mode: .halfblockTruecolor, filter: .nearest)
        let a = try XCTUnwrap(area[0, 0].style.fg)
        XCTAssertTrue((126...129).contains(a.r), "area averages: \(a)")
        let n = try XCTUnwrap(nearest[0, 0].style.fg)
        XCTAssertTrue(n.r == 0 || n.r == 255, "nearest samples: \(n)")
    }

    func testSixelModeOnlyBlanksTheRect() throws {
        var grid = CellGrid(width: 10, height: 5, fill: Cell("x"))
        let rect = Rect(x: 1, y: 1, width: 8, height: 3)
        let r = ImageLayer.draw(try ramp(4, 4), into: &grid, rect: rect, mode: .sixel)
        XCTAssertEqual(r, rect)
        XCTAssertEqual(grid.text.filter { $0 == "x" }.count, 50 - 24)
        XCTAssertFalse(grid.text.contains("▀"))
    }

    func testCellAspectFromReportedCellSize() {
        var caps = TerminalCapabilities()
        XCTAssertEqual(caps.cellAspect, 2)
        caps.cellPixelWidth = 9; caps.cellPixelHeight = 18 + 9
        XCTAssertEqual(caps.cellAspect, 3)
        var grid = CellGrid(width: 30, height: 30)
        let square = try? RGBImage(width: 30, height: 30, fill: .white)
        let r = square.map { ImageLayer.draw($0, into: &grid, rect: grid.bounds, mode: .ascii, cellAspect: caps.cellAspect) }
        XCTAssertEqual(r?.width, 30)
        XCTAssertEqual(r?.height, 10, "a square image on cells three times taller than wide")
    }

    func testEmptyRectDrawsNothing() throws {
        var grid = CellGrid(width: 4, height: 4, fill: Cell("x"))
        let r = ImageLayer.draw(try ramp(4, 4), into: &grid, rect: Rect(x: 1, y: 1, width: 0, height: 3), mode: .ascii)
        XCTAssertEqual(r.width, 0)
        XCTAssertEqual(grid.text.filter { $0 == "x" }.count, 16)
    }
}
