// Line and word geometry of a TextBuffer: line starts and ends, the cursor's line and display
// column (wide characters such as CJK and emoji count two cells, as in CellGrid), and the word
// boundaries Alt-B/F and Ctrl-W use (a word is letters, digits and "_").

extension TextBuffer {
    /// The text split at line breaks (always at least one line).
    public var lines: [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Character offsets where each line starts.
    public var lineStarts: [Int] {
        var starts = [0]
        for (i, c) in characters.enumerated() where c == "\n" { starts.append(i + 1) }
        return starts
    }

    /// 0-based line of the cursor.
    public var cursorLine: Int { characters[..<cursor].reduce(0) { $0 + ($1 == "\n" ? 1 : 0) } }

    /// Display column of the cursor within its line, in terminal cells.
    public var cursorColumn: Int { characters[lineStart(of: cursor)..<cursor].reduce(0) { $0 + cellWidth(of: $1) } }

    func lineStart(of offset: Int) -> Int {
        var i = offset
        while i > 0 && characters[i - 1] != "\n" { i -= 1 }
        return i
    }

    func lineEnd(of offset: Int) -> Int {
        var i = offset
        while i < characters.count && characters[i] != "\n" { i += 1 }
        return i
    }

    /// The offset in the line starting at `start` whose display column is the largest not past `column`.
    func offset(inLineStartingAt start: Int, displayColumn column: Int) -> Int {
        var i = start, col = 0
        while i < characters.count && characters[i] != "\n" {
            let w = cellWidth(of: characters[i])
            if col + w > column { break }
            col += w
            i += 1
        }
        return i
    }

    static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    func wordStart(before offset: Int) -> Int {
        var i = offset
        while i > 0 && !TextBuffer.isWordCharacter(characters[i - 1]) { i -= 1 }
        while i > 0 && TextBuffer.isWordCharacter(characters[i - 1]) { i -= 1 }
        return i
    }

    func wordEnd(after offset: Int) -> Int {
        var i = offset
        while i < characters.count && !TextBuffer.isWordCharacter(characters[i]) { i += 1 }
        while i < characters.count && TextBuffer.isWordCharacter(characters[i]) { i += 1 }
        return i
    }
}
