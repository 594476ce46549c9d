// A list with a thumbnail at the left of each row and text beside it: the object gallery and the
// history draw through it, and clicks find their row through it. Only the visible rows are drawn,
// so hundreds of items cost nothing extra.

import Foundation
import LikenessImaging

enum ThumbnailList {
    static let rowHeight = 3
    static let thumbWidth = 6

    /// One visible row: the item's index, its top line, the rectangle beside the thumbnail.
    struct Row {
        var index: Int
        var y: Int
        var text: Rect
        var selected: Bool
    }

    /// Rows that fit in `inner` (at least one).
    static func visible(in inner: Rect) -> Int { max(1, inner.height / rowHeight) }

    /// First visible row for a selection (keeps the selection in view, centred when scrolling).
    static func top(selected: Int, count: Int, visible: Int) -> Int {
        guard count > visible, visible > 0 else { return 0 }
        return max(0, min(count - visible, selected - visible / 2))
    }

    /// The rows drawn in `inner` for `count` items with `selected` selected.
    static func rows(in inner: Rect, count: Int, selected: Int) -> [Row] {
        let visible = visible(in: inner)
        let top = top(selected: selected, count: count, visible: visible)
        let textX = inner.x + thumbWidth + 1
        return (top..<min(count, top + visible)).map { k in
            let y = inner.y + (k - top) * rowHeight
            return Row(index: k, y: y, text: Rect(x: textX, y: y, width: inner.maxX - textX, height: min(rowHeight, inner.maxY - y)),
                       selected: k == selected)
        }
    }

    /// The item under (x, y), nil outside the rows.
    static func index(atX x: Int, y: Int, in inner: Rect, count: Int, selected: Int) -> Int? {
        guard inner.contains(x: x, y: y) else { return nil }
        return rows(in: inner, count: count, selected: selected).first { y >= $0.y && y < $0.y + rowHeight }?.index
    }

    /// Draws the rows: the selection's background in `selection`, each thumbnail (or
    /// `placeholder` where an item has none), then `text` draws the row's text part.
    static func draw(_ c: inout Canvas, in inner: Rect, count: Int, selected: Int, selection: ThemeRole,
                     thumb: (Int) -> RGBImage?, placeholder: String? = nil, text: (inout Canvas, Row) -> Void) {
        for row in rows(in: inner, count: count, selected: selected) {
            if row.selected {
                c.grid.fill(Rect(x: row.text.x - 1, y: row.y, width: row.text.width + 1, height: row.text.height),
                            with: Cell(" ", c.style(selection)))
            }
            if let t = thumb(row.index) {
                c.image(t, in: Rect(x: inner.x, y: row.y, width: thumbWidth, height: row.text.height))
            } else if let placeholder {
                _ = c.put(placeholder, x: inner.x, y: row.y + 1, .dim, clip: inner)
            }
            text(&c, row)
        }
    }
}
