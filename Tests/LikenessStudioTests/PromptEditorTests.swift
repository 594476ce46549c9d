// The prompt editor with text wider than one cell a character (CJK, emoji) and wrapped rows:
// what the pane draws, where the cursor shows, and Up/Down and clicks by visual rows.

import XCTest
@testable import LikenessStudio

final class PromptEditorTests: XCTestCase {
    let theme = Theme.builtinDark

    /// The prompt pane's inner rows as text, with the continuation half of wide cells left out.
    func promptRows(_ frame: Frame, _ s: StudioState) -> [String] {
        let inner = Layout(width: s.width, height: s.height).prompt.inset(1)
        return (inner.y..<inner.maxY).map { y in
            var line = ""
            for x in inner.x..<inner.maxX where frame.grid[x, y] != Cell.continuation { line += frame.grid[x, y].text }
            return line
        }
    }

    func testWideCharactersTakeTwoCellsAndTheCursorFollowsThem() throws {
        var s = Fixture.state(80, 24)
        s.prompt.setText("a 猫 on the beach")
        s.prompt.moveTo(4)  // after "a 猫 "
        let frame = StudioView.render(s, theme: theme)
        let inner = Layout(width: 80, height: 24).prompt.inset(1)
        XCTAssertEqual(frame.grid[inner.x + 2, inner.y].text, "猫")
        XCTAssertEqual(frame.grid[inner.x + 3, inner.y], Cell.continuation)
        XCTAssertEqual(frame.grid[inner.x + 5, inner.y].text, "o", "the text after the wide character is not shifted onto it")
        let cursor = try XCTUnwrap(frame.cursor)
        XCTAssertEqual(cursor.x, inner.x + 5, "a, space, 猫 (two cells), space: five cells before the cursor")
        XCTAssertEqual(cursor.y, inner.y)
    }

    func testRowsWrapByCellsAndUpDownMoveByVisualRows() throws {
        var s = Fixture.state(80, 24)
        let inner = Layout(width: 80, height: 24).prompt.inset(1)
        // Two words of wide characters that fit one row only by cell count, not by character count.
        let word = String(repeating: "猫", count: inner.width / 2 - 1)
        s.prompt.setText("\(word) \(word) end")
        let rows = promptRows(StudioView.render(s, theme: theme), s)
        XCTAssertEqual(rows[0].trimmingCharacters(in: .whitespaces), word)
        XCTAssertEqual(rows[1].trimmingCharacters(in: .whitespaces), word)
        XCTAssertEqual(rows[2].trimmingCharacters(in: .whitespaces), "end")
        // The cursor at the end of "end", then Up twice: one visual row each, at the same cell column or before.
        s.prompt.moveToEnd()
        send(&s, .up)
        XCTAssertEqual(s.prompt.cursor, word.count + 1 + 1, "row 2, column 3: past the first wide character of the second word")
        send(&s, .up)
        XCTAssertEqual(s.prompt.cursor, 1)
        send(&s, .down, .down)
        XCTAssertEqual(s.prompt.cursor, 2 * word.count + 2 + 2, "back on the last row at cell column 2")
        let frame = StudioView.render(s, theme: theme)
        XCTAssertEqual(try XCTUnwrap(frame.cursor).y, inner.y + 2)
    }

    func testClickPlacesTheCursorUnderThePointer() {
        var s = Fixture.state(80, 24)
        s.focus = .settings
        s.prompt.setText("a 猫 on the beach")
        let inner = Layout(width: 80, height: 24).prompt.inset(1)
        _ = Studio.update(&s, .click(x: inner.x + 6, y: inner.y))
        XCTAssertEqual(s.focus, .prompt)
        XCTAssertEqual(s.prompt.cursor, 5, "cell 6 is the 'n' of 'on' (猫 takes cells 2 and 3)")
        _ = Studio.update(&s, .click(x: inner.x + 3, y: inner.y))
        XCTAssertEqual(s.prompt.cursor, 2, "the right half of 猫 is the wide character itself")
        _ = Studio.update(&s, .click(x: inner.maxX - 1, y: inner.y + 2))
        XCTAssertEqual(s.prompt.cursor, s.prompt.characters.count, "past the text: its end")
    }
}
