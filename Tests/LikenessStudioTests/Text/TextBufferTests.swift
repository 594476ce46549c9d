// TextBuffer: editing keys, grapheme clusters, display columns with wide characters, undo
// grouping, paste cleaning and single-line mode.

import XCTest
@testable import LikenessStudio

final class TextBufferTests: XCTestCase {
    private func typed(_ s: String, into b: inout TextBuffer) { for c in s { b.insert(String(c)) } }

    func testTypingAndCursorMoves() {
        var b = TextBuffer()
        typed("hello", into: &b)
        XCTAssertEqual(b.text, "hello")
        XCTAssertEqual(b.cursor, 5)
        b.moveLeft(); b.moveLeft()
        b.insert("X")
        XCTAssertEqual(b.text, "helXlo")
        b.moveHome(); XCTAssertEqual(b.cursor, 0)
        b.moveLeft(); XCTAssertEqual(b.cursor, 0)
        b.moveEnd(); XCTAssertEqual(b.cursor, 6)
        b.moveRight(); XCTAssertEqual(b.cursor, 6)
    }

    func testBackspaceAndDeleteForward() {
        var b = TextBuffer("abc")
        b.backspace()
        XCTAssertEqual(b.text, "ab")
        b.moveHome(); b.deleteForward()
        XCTAssertEqual(b.text, "b")
        XCTAssertEqual(b.cursor, 0)
        b.backspace()
        XCTAssertEqual(b.text, "b")
    }

    func testGraphemeClustersAreOneStep() {
        var b = TextBuffer("a👩‍👩‍👧e\u{301}🇫🇷")
        XCTAssertEqual(b.characters.count, 4)
        b.backspace()
        XCTAssertEqual(b.text, "a👩‍👩‍👧e\u{301}")
        b.backspace()
        XCTAssertEqual(b.text, "a👩‍👩‍👧")
        b.moveLeft()
        XCTAssertEqual(b.cursor, 1)
        b.deleteForward()
        XCTAssertEqual(b.text, "a")
    }

    func testTypedCombiningMarkJoinsPreviousCharacter() {
        var b = TextBuffer("cafe")
        b.insert("\u{301}")
        XCTAssertEqual(b.characters.count, 4)
        XCTAssertEqual(b.cursor, 4)
        XCTAssertEqual(b.text, "caf\u{E9}")  // canonically equal to e + U+0301
        b.backspace()
        XCTAssertEqual(b.text, "caf")
    }

    func testLinesAndDisplayColumnWithWideCharacters() {
        var b = TextBuffer("ab\n日本x\n🙂!")
        XCTAssertEqual(b.lines, ["ab", "日本x", "🙂!"])
        XCTAssertEqual(b.cursorLine, 2)
        XCTAssertEqual(b.cursorColumn, 3)
        b.moveUp()
        XCTAssertEqual(b.cursorLine, 1)
        XCTAssertEqual(b.cursorColumn, 2, "column 3 falls inside 本, so the cursor stops before it")
        b.moveEnd()
        XCTAssertEqual(b.cursorColumn, 5)
        b.moveUp()
        XCTAssertEqual(b.cursorColumn, 2, "line 0 is shorter")
        b.moveDown()
        XCTAssertEqual(b.cursorColumn, 5, "goal column kept across a shorter line")
        b.moveUp(); b.moveUp()
        XCTAssertEqual(b.cursor, 0, "Up on the first line goes to the start")
        b.moveDown(); b.moveDown(); b.moveDown()
        XCTAssertEqual(b.cursor, b.characters.count, "Down on the last line goes to the end")
    }

    func testHomeEndAreLineWise() {
        var b = TextBuffer("one\ntwo three")
        b.moveHome()
        XCTAssertEqual(b.cursor, 4)
        b.moveLeft(); b.moveHome()
        XCTAssertEqual(b.cursor, 0)
        b.moveEnd()
        XCTAssertEqual(b.cursor, 3)
    }

    func testWordJumps() {
        var b = TextBuffer("a <obj> on  the_beach, now")
        b.moveWordLeft(); XCTAssertEqual(b.cursor, 23)
        b.moveWordLeft(); XCTAssertEqual(b.cursor, 12)
        b.moveWordLeft(); XCTAssertEqual(b.cursor, 8)
        b.moveWordLeft(); XCTAssertEqual(b.cursor, 3)
        b.moveWordRight(); XCTAssertEqual(b.cursor, 6)
        b.moveWordRight(); XCTAssertEqual(b.cursor, 10)
        b.moveToStart(); b.moveWordRight(); XCTAssertEqual(b.cursor, 1)
    }

    func testDeleteWordBackwardAndForward() {
        var b = TextBuffer("a cat  on the mat!! ")
        b.deleteWordBackward()
        XCTAssertEqual(b.text, "a cat  on the ")
        b.deleteWordBackward()
        XCTAssertEqual(b.text, "a cat  on ")
        b.moveToStart(); b.moveWordRight()
        b.deleteWordForward()
        XCTAssertEqual(b.text, "a  on ")
        b.undo()
        XCTAssertEqual(b.text, "a cat  on ")
    }

    func testKillToLineStartAndEnd() {
        var b = TextBuffer("first\nsecond line")
        b.moveTo(line: 1, column: 6)
        b.killToLineStart()
        XCTAssertEqual(b.text, "first\n line")
        b.killToLineStart()
        XCTAssertEqual(b.text, "first line", "at a line start Ctrl-U takes the line break")
        b.moveTo(2)
        b.killToLineEnd()
        XCTAssertEqual(b.text, "fi")
        b.insert("\n")
        b.insert("x")
        b.moveTo(2)
        b.killToLineEnd()
        XCTAssertEqual(b.text, "fix", "at a line end Ctrl-K takes the line break")
    }

    func testUndoGroupsTypedWordsAndRedo() {
        var b = TextBuffer()
        typed("hello world", into: &b)
        b.undo()
        XCTAssertEqual(b.text, "hello")
        b.undo()
        XCTAssertEqual(b.text, "")
        XCTAssertFalse(b.canUndo)
        b.redo()
        XCTAssertEqual(b.text, "hello")
        b.redo()
        XCTAssertEqual(b.text, "hello world")
        XCTAssertFalse(b.canRedo)
    }

    func testCursorMoveEndsTypingGroupAndNewEditClearsRedo() {
        var b = TextBuffer()
        typed("ab", into: &b)
        b.moveLeft()
        typed("X", into: &b)
        XCTAssertEqual(b.text, "aXb")
        b.undo()
        XCTAssertEqual(b.text, "ab")
        XCTAssertEqual(b.cursor, 1)
        b.insert("Y")
        XCTAssertFalse(b.canRedo)
        b.undo(); b.undo()
        XCTAssertEqual(b.text, "")
    }

    func testBackspaceRunIsOneUndoStep() {
        var b = TextBuffer()
        typed("abc", into: &b)
        b.moveLeft(); b.moveRight()
        b.backspace(); b.backspace(); b.backspace()
        XCTAssertEqual(b.text, "")
        b.undo()
        XCTAssertEqual(b.text, "abc")
        XCTAssertEqual(b.cursor, 3)
    }

    func testPasteNormalisesAndIsOneUndoStep() {
        var b = TextBuffer("x")
        b.paste("line one\r\nline\ttwo\rthree\u{1b}[31m\u{7}")
        XCTAssertEqual(b.text, "xline one\nline two\nthree[31m")
        XCTAssertEqual(b.cursorLine, 2)
        b.undo()
        XCTAssertEqual(b.text, "x")
        b.insert("a\r\nb")
        XCTAssertEqual(b.text, "xa\nb", "multi-character insert cleans like paste")
    }

    func testSingleLineModeTurnsBreaksIntoSpaces() {
        var b = TextBuffer("a\nb", singleLine: true)
        XCTAssertEqual(b.text, "a b")
        b.paste("c\r\nd")
        b.insertNewline()
        XCTAssertEqual(b.text, "a bc d ")
        XCTAssertEqual(b.lines.count, 1)
    }

    func testSetTextIsUndoableAndEqualityIgnoresHistory() {
        var b = TextBuffer("draft")
        b.setText("from history")
        XCTAssertEqual(b.cursor, 12)
        b.undo()
        XCTAssertEqual(b.text, "draft")
        XCTAssertEqual(TextBuffer("draft"), b)
        XCTAssertNotEqual(TextBuffer("draft", singleLine: true), b)
    }

    func testMoveToLineColumnClamps() {
        var b = TextBuffer("ab\ncd")
        b.moveTo(line: 9, column: 9)
        XCTAssertEqual(b.cursor, 5)
        b.moveTo(line: -1, column: 1)
        XCTAssertEqual(b.cursor, 1)
        b.moveTo(-4)
        XCTAssertEqual(b.cursor, 0)
    }

    func testUndoHistoryIsCapped() {
        var b = TextBuffer()
        for i in 0..<(TextBuffer.undoLimit + 20) { b.paste("\(i % 10)") }
        var undos = 0
        while b.canUndo { b.undo(); undos += 1 }
        XCTAssertEqual(undos, TextBuffer.undoLimit)
        XCTAssertEqual(b.text.count, 20)
    }
}

final class TextBufferMemoryTests: XCTestCase {
    func testUndoSnapshotsStayWithinBudgetAfterHugePaste() {
        var b = TextBuffer()
        let big = String(repeating: "x", count: TextBuffer.undoCharacterBudget / 3)
        for _ in 0..<4 { b.paste(big) }
        var undos = 0
        while b.canUndo { b.undo(); undos += 1 }
        XCTAssertLessThan(undos, 4, "oldest snapshots dropped to stay within the budget")
        XCTAssertGreaterThanOrEqual(undos, 1)
    }
}
