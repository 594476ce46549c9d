// Images and overlays: which sixels and 24-bit cells a frame keeps while a dialog shows, and which
// sixels the driver has to erase (their lines repainted) when they are gone.

import XCTest
@testable import LikenessStudio

final class OverlayImagesTests: XCTestCase {
    func cells(_ r: Rect) -> Set<[Int]> {
        Set((r.y..<r.maxY).flatMap { y in (r.x..<r.maxX).map { [$0, y] } })
    }

    func testSubtractingLeavesExactlyTheCellsOutside() {
        let a = Rect(x: 2, y: 3, width: 10, height: 6)
        for b in [Rect(x: 4, y: 5, width: 3, height: 2), Rect(x: 0, y: 0, width: 5, height: 20), Rect(x: 8, y: 1, width: 10, height: 4),
                  Rect(x: 0, y: 0, width: 40, height: 40), Rect(x: 20, y: 20, width: 2, height: 2), Rect(x: 2, y: 3, width: 10, height: 6)] {
            let pieces = a.subtracting(b)
            let union = pieces.reduce(into: Set<[Int]>()) { $0.formUnion(cells($1)) }
            XCTAssertEqual(union, cells(a).subtracting(cells(b)), "\(a) - \(b)")
            XCTAssertEqual(pieces.map { cells($0).count }.reduce(0, +), union.count, "the pieces do not overlap: \(pieces)")
            XCTAssertEqual(a.intersects(b), !cells(a).isDisjoint(with: cells(b)))
        }
    }

    func testChangedBounds() {
        var g = CellGrid(width: 20, height: 10)
        let before = g
        XCTAssertNil(g.changedBounds(since: before))
        g[3, 2] = Cell("x")
        g[7, 5] = Cell("y")
        XCTAssertEqual(g.changedBounds(since: before), Rect(x: 3, y: 2, width: 5, height: 4))
    }

    /// A finished two-seed compare beside five gallery objects, in `mode`; with the help box over it.
    func scene(_ mode: PreviewMode) throws -> (bare: Frame, withHelp: Frame, covered: Rect) {
        var s = Fixture.state(120, 40)
        s.previewMode = mode
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(5)))
        guard case .generate(let plan)? = send(&s, .ctrl("g")).first(where: { if case .generate = $0 { return true }; return false }) else {
            throw XCTSkip("no job")
        }
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .finished(images: [Fixture.image(1), Fixture.image(2)], elapsed: 1, warnings: [])))
        let bare = StudioView.render(s, theme: .builtinDark)
        s.overlay = .help
        let withHelp = StudioView.render(s, theme: .builtinDark)
        // The help box: what changed above the status and footer lines (the footer shows other keys).
        func body(_ g: CellGrid) -> CellGrid {
            var b = g
            b.fill(Rect(x: 0, y: g.height - 2, width: g.width, height: 2))
            return b
        }
        let covered = try XCTUnwrap(body(withHelp.grid).changedBounds(since: body(bare.grid)))
        XCTAssertLessThan(covered.width, 120)
        return (bare, withHelp, covered)
    }

    func testAnOverlayDropsOnlyTheSixelsItMeets() throws {
        let (bare, withHelp, covered) = try scene(.sixel)
        XCTAssertEqual(bare.images.count, 7, "five thumbnails and two seeds")
        XCTAssertTrue(bare.images.contains { $0.rect.intersects(covered) }, "the help box covers an image")
        XCTAssertTrue(withHelp.images.allSatisfy { !$0.rect.intersects(covered) })
        XCTAssertEqual(withHelp.images, bare.images.filter { !$0.rect.intersects(covered) }, "the others stay")
        XCTAssertFalse(withHelp.images.isEmpty)
    }

    func testAnOverlayKeeps24BitCellsOutsideIt() throws {
        let (bare, withHelp, covered) = try scene(.halfblockTruecolor)
        XCTAssertTrue(bare.trueColorRects.contains { $0.intersects(covered) })
        XCTAssertTrue(withHelp.trueColorRects.allSatisfy { !$0.intersects(covered) })
        let kept = withHelp.trueColorRects.reduce(0) { $0 + $1.width * $1.height }
        XCTAssertGreaterThan(kept, 0, "cells beside the help box are still written in 24-bit colour")
    }

    func testTheDriverErasesImagesThatAreGoneOrMoved() throws {
        let a = Fixture.image(1, w: 64, h: 64), b = Fixture.image(2, w: 64, h: 64), wide = Fixture.image(3, w: 128, h: 64)
        let r1 = Rect(x: 10, y: 5, width: 20, height: 10), r2 = Rect(x: 40, y: 5, width: 20, height: 10)
        let old = [ImagePlacement(rect: r1, image: a), ImagePlacement(rect: r2, image: a)]
        XCTAssertEqual(CursesPainter.removedImages(from: old, to: [ImagePlacement(rect: r1, image: b), ImagePlacement(rect: r2, image: a)]), [],
                       "a new image of the same size in the same place covers the old one")
        XCTAssertEqual(CursesPainter.removedImages(from: old, to: [ImagePlacement(rect: r1, image: a)]), [r2])
        XCTAssertEqual(CursesPainter.removedImages(from: old, to: [ImagePlacement(rect: r1, image: wide), ImagePlacement(rect: r2, image: a)]), [r1],
                       "another size may not cover all of the old one")
        XCTAssertEqual(CursesPainter.removedImages(from: old, to: []), [r1, r2])
    }

    func testKittyFramesCarryTheirImagesAndTheProtocol() throws {
        let (bare, withHelp, covered) = try scene(.kitty)
        XCTAssertTrue(bare.kitty)
        XCTAssertEqual(bare.images.count, 7, "five thumbnails and two seeds, as with sixel")
        XCTAssertTrue(bare.trueColorRects.isEmpty)
        for p in bare.images {
            for y in p.rect.y..<p.rect.maxY { for x in p.rect.x..<p.rect.maxX { XCTAssertEqual(bare.grid[x, y].text, " ") } }
        }
        XCTAssertTrue(withHelp.images.allSatisfy { !$0.rect.intersects(covered) })
        XCTAssertFalse(try scene(.sixel).bare.kitty)
    }

    func testF4CyclesThroughTheModesTheTerminalHas() {
        var s = Fixture.state()
        s.focus = .gallery
        s.previewModes = [.sixel, .halfblockTruecolor, .halfblock256, .ascii]
        s.previewMode = .sixel
        var seen: [PreviewMode] = []
        for _ in 0..<4 { send(&s, .function(4)); seen.append(s.previewMode) }
        XCTAssertEqual(seen, [.halfblockTruecolor, .halfblock256, .ascii, .sixel], "no kitty where the terminal did not answer its query")
    }
}

extension CellGrid {
    /// The smallest rectangle holding every cell that differs from `old` (same size), or nil:
    /// where an overlay drew, found from the screen alone.
    func changedBounds(since old: CellGrid) -> Rect? {
        guard old.width == width, old.height == height else { return bounds }
        var minX = width, minY = height, maxX = -1, maxY = -1
        for y in 0..<height {
            for x in 0..<width where self[x, y] != old[x, y] {
                minX = Swift.min(minX, x); maxX = Swift.max(maxX, x)
                minY = Swift.min(minY, y); maxY = Swift.max(maxY, y)
            }
        }
        return maxX < 0 ? nil : Rect(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
    }
}
