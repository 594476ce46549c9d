// Soft wrapping by display width: spaces end rows, long words are cut, wide characters never
// straddle the edge, and the cursor and visual Up/Down follow the rows.

import XCTest
@testable import LikenessStudio

final class TextLayoutTests: XCTestCase {
    private func rowTexts(_ s: String, _ w: Int) -> [String] {
        let c = Array(s)
        return TextLayout.rows(c, width: w).map { String(c[$0.start..<$0.end]) }
    }

    func testWrapsAtSpacesAndCutsLongWords() {
        XCTAssertEqual(rowTexts("a red star on the beach", 10), ["a red ", "star on ", "the beach"])
        XCTAssertEqual(rowTexts("abcdefghijkl", 5), ["abcde", "fghij", "kl"])
        XCTAssertEqual(rowTexts("one\n\ntwo", 10), ["one", "", "two"])
        XCTAssertEqual(rowTexts("", 10), [""])
    }

    func testWideCharactersNeverStraddleTheEdge() {
        let rows = TextLayout.rows(Array("ab日本語"), width: 5)
        XCTAssertEqual(rows.map(\.width), [4, 4])
        XCTAssertEqual(rowTexts("ab日本語", 5), ["ab日", "本語"])
        XCTAssertEqual(rowTexts("🙂🙂🙂", 3), ["🙂", "🙂", "🙂"])
    }

    func testCursorPositionOnWrappedRows() {
        let chars = Array("a red star on the beach")
        let rows = TextLayout.rows(chars, width: 10)
        XCTAssertEqual(TextLayout.cursor(rows, chars, cursor: 0).row, 0)
        XCTAssertEqual(TextLayout.cursor(rows, chars, cursor: 6).row, 1, "after a wrapped space: the next row")
        XCTAssertEqual(TextLayout.cursor(rows, chars, cursor: 6).column, 0)
        let end = TextLayout.cursor(rows, chars, cursor: chars.count)
        XCTAssertEqual(end.row, 2)
        XCTAssertEqual(end.column, 9)
        let wide = Array("x日本")
        XCTAssertEqual(TextLayout.cursor(TextLayout.rows(wide, width: 10), wide, cursor: 2).column, 3)
    }

    func testOffsetUnderRowAndColumn() {
        let chars = Array("a red star on the beach")
        let rows = TextLayout.rows(chars, width: 10)
        XCTAssertEqual(TextLayout.offset(rows, chars, row: 1, column: 2), 8)
        XCTAssertEqual(TextLayout.offset(rows, chars, row: 0, column: 99), 5, "stays before the wrapped space")
        XCTAssertEqual(TextLayout.offset(rows, chars, row: 9, column: 99), chars.count)
    }

    func testVisualUpDownInOneLongLine() {
        var b = TextBuffer("a red star on the beach")
        b.moveTo(line: 0, column: 20)  // the "a" of "beach": row 2, column 6
        XCTAssertEqual(b.cursor, 20)
        b.moveUp(wrapWidth: 10)
        XCTAssertEqual(b.cursor, 12, "row 'star on ', column 6")
        b.moveUp(wrapWidth: 10)
        XCTAssertEqual(b.cursor, 5, "row 'a red ' is shorter: before its wrapped space")
        b.moveUp(wrapWidth: 10)
        XCTAssertEqual(b.cursor, 0)
        b.moveDown(wrapWidth: 10)
        XCTAssertEqual(b.cursor, 6)
        b.moveDown(wrapWidth: 10); b.moveDown(wrapWidth: 10)
        XCTAssertEqual(b.cursor, b.characters.count)
    }
}
