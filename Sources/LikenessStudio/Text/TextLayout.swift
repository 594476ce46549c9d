// Soft wrapping of editor text to a width in terminal cells: each line breaks after the last
// space that fits (the space ends the row), or at the width when a word is longer; a wide
// character never straddles the edge. Gives the cursor's row and display column, the offset
// under a row/column (clicks), and Up/Down by visual rows for TextBuffer.

public struct TextRow: Equatable, Sendable {
    /// Character offset of the row's first character.
    public var start: Int
    /// Characters on the row (a line break is not counted).
    public var length: Int
    /// Cells the row's characters take.
    public var width: Int
    public var end: Int { start + length }
}

public enum TextLayout {
    /// Visual rows of `chars` wrapped at `width` cells (at least one row; width < 2 is taken as 2).
    public static func rows(_ chars: [Character], width: Int) -> [TextRow] {
        let w = max(2, width)
        var rows: [TextRow] = []
        var start = 0, i = 0, used = 0
        var lastSpace: (index: Int, used: Int)?
        while i <= chars.count {
            if i == chars.count || chars[i] == "\n" {
                rows.append(TextRow(start: start, length: i - start, width: used))
                i += 1; start = i; used = 0; lastSpace = nil
                continue
            }
            let cw = max(1, cellWidth(of: chars[i]))
            if used + cw > w {
                if let s = lastSpace, s.index + 1 > start, s.index + 1 < i + 1 {
                    rows.append(TextRow(start: start, length: s.index + 1 - start, width: s.used))
                    start = s.index + 1
                    used = used - s.used
                } else {
                    rows.append(TextRow(start: start, length: i - start, width: used))
                    start = i
                    used = 0
                }
                lastSpace = nil
                continue
            }
            used += cw
            if chars[i] == " " { lastSpace = (i, used) }
            i += 1
        }
        return rows
    }

    /// The cursor's visual row and display column: on the last row starting at or before it.
    public static func cursor(_ rows: [TextRow], _ chars: [Character], cursor: Int) -> (row: Int, column: Int) {
        let c = min(max(0, cursor), chars.count)
        let r = rows.lastIndex { $0.start <= c } ?? 0
        guard r < rows.count else { return (0, 0) }
        let col = chars[rows[r].start..<min(c, chars.count)].reduce(0) { $0 + max(1, cellWidth(of: $1)) }
        return (r, col)
    }

    /// The offset at display `column` of visual `row` (clamped): the last one not past it.
    public static func offset(_ rows: [TextRow], _ chars: [Character], row: Int, column: Int) -> Int {
        guard !rows.isEmpty else { return 0 }
        let r = rows[min(max(0, row), rows.count - 1)]
        var i = r.start, col = 0
        // A wrapped row's trailing space belongs to it, but the cursor after it is the next row's start.
        let last = (r.end < chars.count && chars[r.end] != "\n") ? r.end - 1 : r.end
        while i < last {
            let w = max(1, cellWidth(of: chars[i]))
            if col + w > column { break }
            col += w
            i += 1
        }
        return i
    }
}

extension TextBuffer {
    /// Up by one visual row of text wrapped at `wrapWidth` cells; from the first row, the start.
    public mutating func moveUp(wrapWidth: Int) { moveVisually(-1, wrapWidth) }
    /// Down by one visual row; from the last row, the end.
    public mutating func moveDown(wrapWidth: Int) { moveVisually(1, wrapWidth) }

    private mutating func moveVisually(_ delta: Int, _ width: Int) {
        let rows = TextLayout.rows(characters, width: width)
        let here = TextLayout.cursor(rows, characters, cursor: cursor)
        let target = here.row + delta
        if target < 0 { moveToStart(); return }
        if target >= rows.count { moveToEnd(); return }
        moveTo(TextLayout.offset(rows, characters, row: target, column: here.column))
    }
}
