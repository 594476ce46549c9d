// The editing model of the prompt editor and one-line fields: text as grapheme clusters
// (Characters, so an emoji or "e" + combining acute is one step), a cursor between them, and the
// keys people expect (emacs/readline names: Ctrl-A/E line start/end, Alt-B/F words, Ctrl-W and
// Alt-Backspace delete a word, Ctrl-U/K kill to line start/end, which at a line edge take the
// line break, as emacs does). Undo groups typed runs (a new group at each word after a space),
// runs of Backspace or Delete, and each other edit; any cursor move ends a group.
// Inserted text is cleaned: CRLF and CR become LF, tabs become a space, other control
// characters are dropped; in single-line mode line breaks become spaces.

import Foundation

public struct TextBuffer: Equatable, Sendable {
    public private(set) var characters: [Character] = []
    /// Cursor as a Character offset into `text` (0...characters.count).
    public private(set) var cursor: Int = 0
    public let singleLine: Bool
    /// Display column kept across Up/Down moves through shorter lines.
    private var goalColumn: Int?
    private var undoStack: [Snapshot] = []
    private var redoStack: [Snapshot] = []
    private var group: EditGroup?
    public static let undoLimit = 500
    /// Characters kept across all undo snapshots (the newest snapshot is always kept).
    public static let undoCharacterBudget = 4_000_000

    struct Snapshot: Sendable { var characters: [Character]; var cursor: Int }
    enum EditGroup: Sendable, Equatable { case typing(afterSpace: Bool, at: Int), deletingBack(at: Int), deletingForward(at: Int) }

    /// A buffer holding `text` (cleaned as for `insert`), cursor at the end, no undo history.
    public init(_ text: String = "", singleLine: Bool = false) {
        self.singleLine = singleLine
        characters = Array(TextBuffer.clean(text, singleLine: singleLine))
        cursor = characters.count
    }

    /// Equal when the text, cursor and mode are; undo history is not compared.
    public static func == (a: TextBuffer, b: TextBuffer) -> Bool {
        a.characters == b.characters && a.cursor == b.cursor && a.singleLine == b.singleLine
    }

    public var text: String { String(characters) }
    public var isEmpty: Bool { characters.isEmpty }
    public var canUndo: Bool { !undoStack.isEmpty }
    public var canRedo: Bool { !redoStack.isEmpty }

    // MARK: editing

    /// Inserts typed or pasted text at the cursor. A single Character continues a typed run for
    /// undo; longer text is one undo step.
    public mutating func insert(_ s: String) {
        let cleaned = TextBuffer.clean(s, singleLine: singleLine)
        guard !cleaned.isEmpty else { return }
        if cleaned.count == 1, let c = cleaned.first {
            let space = c.isWhitespace
            var continues = false
            if case .typing(let afterSpace, let at)? = group, at == cursor { continues = !(space && !afterSpace) }
            if !continues { pushUndo() }
            replace(cursor..<cursor, with: cleaned)
            group = .typing(afterSpace: space, at: cursor)
        } else {
            pushUndo()
            replace(cursor..<cursor, with: cleaned)
            group = nil
        }
    }

    /// Bracketed-paste text: like `insert`, always its own undo step.
    public mutating func paste(_ s: String) {
        let cleaned = TextBuffer.clean(s, singleLine: singleLine)
        guard !cleaned.isEmpty else { return }
        pushUndo()
        replace(cursor..<cursor, with: cleaned)
        group = nil
    }

    /// A line break (a space in single-line mode).
    public mutating func insertNewline() { paste("\n") }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        if case .deletingBack(let at)? = group, at == cursor {} else { pushUndo() }
        replace(cursor - 1..<cursor, with: "")
        group = .deletingBack(at: cursor)
    }

    public mutating func deleteForward() {
        guard cursor < characters.count else { return }
        if case .deletingForward(let at)? = group, at == cursor {} else { pushUndo() }
        replace(cursor..<cursor + 1, with: "")
        group = .deletingForward(at: cursor)
    }

    /// Ctrl-W, Alt-Backspace: deletes back to the start of the word before the cursor.
    public mutating func deleteWordBackward() { edit(wordStart(before: cursor)..<cursor) }

    /// Alt-D: deletes forward to the end of the word after the cursor.
    public mutating func deleteWordForward() { edit(cursor..<wordEnd(after: cursor)) }

    /// Ctrl-U: deletes from the start of the line to the cursor; at a line start, the line break before.
    public mutating func killToLineStart() {
        let start = lineStart(of: cursor)
        edit(start == cursor ? max(0, cursor - 1)..<cursor : start..<cursor)
    }

    /// Ctrl-K: deletes from the cursor to the end of the line; at a line end, the line break after.
    public mutating func killToLineEnd() {
        let end = lineEnd(of: cursor)
        edit(end == cursor ? cursor..<min(characters.count, cursor + 1) : cursor..<end)
    }

    /// Replaces all text (one undo step), cursor at the end.
    public mutating func setText(_ s: String) {
        let cleaned = TextBuffer.clean(s, singleLine: singleLine)
        guard cleaned != text else { moveToEnd(); return }
        pushUndo()
        characters = Array(cleaned)
        cursor = characters.count
        group = nil
        goalColumn = nil
    }

    public mutating func undo() {
        guard let snap = undoStack.popLast() else { return }
        redoStack.append(Snapshot(characters: characters, cursor: cursor))
        restore(snap)
    }

    public mutating func redo() {
        guard let snap = redoStack.popLast() else { return }
        undoStack.append(Snapshot(characters: characters, cursor: cursor))
        restore(snap)
    }

    // MARK: moving

    public mutating func moveLeft() { moveTo(cursor - 1) }
    public mutating func moveRight() { moveTo(cursor + 1) }
    /// Home, Ctrl-A: start of the line.
    public mutating func moveHome() { moveTo(lineStart(of: cursor)) }
    /// End, Ctrl-E: end of the line.
    public mutating func moveEnd() { moveTo(lineEnd(of: cursor)) }
    public mutating func moveToStart() { moveTo(0) }
    public mutating func moveToEnd() { moveTo(characters.count) }
    /// Alt-B: to the start of the word before the cursor.
    public mutating func moveWordLeft() { moveTo(wordStart(before: cursor)) }
    /// Alt-F: to the end of the word after the cursor.
    public mutating func moveWordRight() { moveTo(wordEnd(after: cursor)) }

    /// Up: the same display column on the line above (or the nearest before it); on the first
    /// line, the start of the text.
    public mutating func moveUp() { moveVertically(-1) }
    /// Down: as Up, on the line below; on the last line, the end of the text.
    public mutating func moveDown() { moveVertically(1) }

    /// Puts the cursor at a Character offset (clamped), e.g. from a mouse click.
    public mutating func moveTo(_ offset: Int) {
        cursor = min(max(0, offset), characters.count)
        group = nil
        goalColumn = nil
    }

    /// Puts the cursor on `line` at display column `column` (clamped to the line).
    public mutating func moveTo(line: Int, column: Int) {
        let starts = lineStarts
        let l = min(max(0, line), starts.count - 1)
        moveTo(offset(inLineStartingAt: starts[l], displayColumn: column))
    }

    // MARK: internals

    private mutating func moveVertically(_ delta: Int) {
        let goal = goalColumn ?? cursorColumn
        let starts = lineStarts
        let target = cursorLine + delta
        if target < 0 { moveTo(0) } else if target >= starts.count { moveTo(characters.count) } else {
            moveTo(offset(inLineStartingAt: starts[target], displayColumn: goal))
        }
        goalColumn = goal
    }

    /// Deletes `range` as one undo step.
    private mutating func edit(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        pushUndo()
        replace(range, with: "")
        group = nil
    }

    private mutating func pushUndo() {
        undoStack.append(Snapshot(characters: characters, cursor: cursor))
        if undoStack.count > TextBuffer.undoLimit { undoStack.removeFirst(undoStack.count - TextBuffer.undoLimit) }
        // Snapshots are whole texts: after a huge paste keep fewer, not gigabytes.
        var total = undoStack.reduce(0) { $0 + $1.characters.count }
        while total > TextBuffer.undoCharacterBudget && undoStack.count > 1 {
            total -= undoStack.removeFirst().characters.count
        }
        redoStack.removeAll()
    }

    private mutating func restore(_ s: Snapshot) {
        characters = s.characters
        cursor = min(s.cursor, characters.count)
        group = nil
        goalColumn = nil
    }

    /// Replaces a range and re-segments, so an inserted combining mark joins the Character
    /// before it; the cursor goes after the inserted text.
    private mutating func replace(_ range: Range<Int>, with s: String) {
        let before = String(characters[..<range.lowerBound]) + s
        let after = String(characters[range.upperBound...])
        let joined = before + after
        characters = Array(joined)
        cursor = min(before.count, characters.count)
        goalColumn = nil
    }

    static func clean(_ s: String, singleLine: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            if ch == "\r\n" || ch == "\r" || ch == "\n" {
                out.append(singleLine ? " " : "\n")
            } else if ch == "\t" {
                out.append(" ")
            } else if let v = ch.unicodeScalars.first?.value, ch.unicodeScalars.count == 1, v < 0x20 || (v >= 0x7F && v < 0xA0) {
                continue
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
