// Output sequences written after a frame: synchronized update around saved/restored cursor and
// positioned images, erasing, tmux passthrough, and kitty graphics chunks that decode back to
// the image.

import Foundation
import XCTest
import LikenessImaging
@testable import LikenessStudio

final class SixelOutputTests: XCTestCase {
    private func s(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    func testFrameWrapsImagesInSynchronizedUpdate() {
        let a = SixelPlacement(rect: Rect(x: 4, y: 2, width: 3, height: 2), pixelWidth: 30, pixelHeight: 36, bytes: Array("\u{1b}PqA\u{1b}\\".utf8))
        let b = SixelPlacement(rect: Rect(x: 0, y: 0, width: 1, height: 1), pixelWidth: 6, pixelHeight: 6, bytes: Array("\u{1b}PqB\u{1b}\\".utf8))
        XCTAssertEqual(s(SixelOutput.frame([a, b])),
                       "\u{1b}[?2026h\u{1b}7\u{1b}[3;5H\u{1b}PqA\u{1b}\\\u{1b}[1;1H\u{1b}PqB\u{1b}\\\u{1b}8\u{1b}[?2026l")
        XCTAssertEqual(s(SixelOutput.frame([a], synchronized: false)), "\u{1b}7\u{1b}[3;5H\u{1b}PqA\u{1b}\\\u{1b}8")
        XCTAssertTrue(SixelOutput.frame([]).isEmpty)
    }

    func testEraseWritesSpacesOverRect() {
        XCTAssertEqual(s(SixelOutput.erase(Rect(x: 1, y: 0, width: 2, height: 2))), "\u{1b}7\u{1b}[0m\u{1b}[1;2H  \u{1b}[2;2H  \u{1b}8")
        XCTAssertTrue(SixelOutput.erase(Rect(x: 0, y: 0, width: 0, height: 5)).isEmpty)
    }

    func testTmuxPassthroughDoublesEscapes() {
        XCTAssertEqual(s(SixelOutput.tmuxPassthrough(Array("\u{1b}Pq#0\u{1b}\\".utf8))),
                       "\u{1b}Ptmux;\u{1b}\u{1b}Pq#0\u{1b}\u{1b}\\\u{1b}\\")
        // In a frame, the cursor move travels inside the passthrough with its image.
        let a = SixelPlacement(rect: Rect(x: 4, y: 2, width: 3, height: 1), pixelWidth: 1, pixelHeight: 1, bytes: Array("\u{1b}PqA\u{1b}\\".utf8))
        XCTAssertEqual(s(SixelOutput.frame([a], synchronized: false, passthrough: true)),
                       "\u{1b}7\u{1b}Ptmux;\u{1b}\u{1b}[3;5H\u{1b}\u{1b}PqA\u{1b}\u{1b}\\\u{1b}\\\u{1b}8")
    }

    func testKittyChunksDecodeToThePixels() throws {
        var px: [UInt8] = []
        for i in 0..<(60 * 40) { px += [UInt8(i % 256), UInt8(i / 256 % 256), 7] }
        let img = try RGBImage(width: 60, height: 40, pixels: px)
        let out = s(KittyGraphics.display(img, columns: 6, rows: 2, id: 9))
        let chunks = out.components(separatedBy: "\u{1b}\\").filter { !$0.isEmpty }
        XCTAssertGreaterThan(chunks.count, 1, "7200 bytes need more than one 4096-byte chunk")
        XCTAssertTrue(chunks[0].hasPrefix("\u{1b}_Ga=T,f=24,s=60,v=40,c=6,r=2,i=9,q=2,m=1;"))
        XCTAssertTrue(chunks.last?.hasPrefix("\u{1b}_Gm=0;") ?? false)
        var b64 = ""
        for c in chunks {
            let payload = try XCTUnwrap(c.split(separator: ";", maxSplits: 1).last)
            XCTAssertLessThanOrEqual(payload.utf8.count, 4096)
            b64 += payload
        }
        XCTAssertEqual(Data(base64Encoded: b64).map { Array($0) }, px)
        XCTAssertEqual(s(KittyGraphics.delete(id: 9)), "\u{1b}_Ga=d,d=I,i=9,q=2\u{1b}\\")
    }

    func testKittyPlacementIsAPNGAtTheFittedCells() throws {
        let img = Fixture.image(4, w: 16, h: 8)
        let rect = Rect(x: 10, y: 3, width: 20, height: 10)
        let g = try XCTUnwrap(KittyGraphics.geometry(imageWidth: 16, imageHeight: 8, in: rect, cellWidth: 10, cellHeight: 20))
        XCTAssertEqual(g.pixelWidth, 200, "as wide as the rectangle")
        XCTAssertEqual(g.pixelHeight, 100, "aspect kept")
        XCTAssertEqual(g.rect, Rect(x: 10, y: 3 + (10 - 5) / 2, width: 20, height: 5), "centred in whole cells")
        let p = try XCTUnwrap(KittyGraphics.placement(img, in: rect, cellWidth: 10, cellHeight: 20, id: 3))
        XCTAssertEqual(s(p.cursor), "\u{1b}[\(g.rect.y + 1);\(g.rect.x + 1)H")
        let out = s(p.image)
        XCTAssertTrue(out.hasPrefix("\u{1b}_Ga=T,f=100,i=3,q=2,C=1,m="), out.prefix(60).debugDescription)
        let chunks = out.components(separatedBy: "\u{1b}\\").filter { !$0.isEmpty }
        let b64 = try chunks.map { try XCTUnwrap($0.split(separator: ";", maxSplits: 1).last).description }.joined()
        let png = try XCTUnwrap(Data(base64Encoded: b64))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kitty-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try png.write(to: url)
        let back = try RGBImage(contentsOf: url)
        XCTAssertEqual(back.width, 200)
        XCTAssertEqual(back.height, 100)
        XCTAssertEqual(back, try img.resized(width: 200, height: 100, filter: .nearest), "scaled up with sharp pixels")
        XCTAssertNil(KittyGraphics.placement(img, in: Rect(x: 0, y: 0, width: 0, height: 3), cellWidth: 10, cellHeight: 20, id: 1))
        XCTAssertEqual(s(KittyGraphics.deleteAll), "\u{1b}_Ga=d,d=A,q=2\u{1b}\\")
    }

    func testKittyQueryIsAnsweredByParser() {
        let q = TerminalDetect.queryBytes(kitty: true)
        XCTAssertTrue(s(q).hasSuffix("\u{1b}\\\u{1b}[c"), "kitty query before DA1")
        let caps = TerminalDetect.detect(env: ["TERM": "xterm-kitty"], write: { _ in }, read: { _ in
            Array("\u{1b}_Gi=31;OK\u{1b}\\\u{1b}[?62;c".utf8)
        }, kitty: true)
        XCTAssertTrue(caps.kittyGraphics)
        XCTAssertFalse(caps.sixel)
    }
}
