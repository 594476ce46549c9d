// The object gallery: a thumbnail and the name per row, the active object marked, stale objects
// flagged. Only the visible rows are drawn, so hundreds of objects cost nothing extra.

import Foundation

enum GalleryPane {
    static let rowHeight = 3
    static let thumbWidth = 6

    /// First visible row for a selection (keeps the selection in view, centred when scrolling).
    static func top(selected: Int, count: Int, visible: Int) -> Int {
        guard count > visible, visible > 0 else { return 0 }
        return max(0, min(count - visible, selected - visible / 2))
    }

    static func draw(_ c: inout Canvas, _ s: StudioState, _ r: Rect) {
        let focused = s.focus == .gallery && s.overlay == nil
        let g = s.gallery
        c.pane(r, title: "Objects (\(g.items.count))", focused: focused)
        let inner = r.inset(1)
        guard inner.width > 2, inner.height > 0 else { return }
        if let busy = g.busy { c.bottomNote(r, busy, .warning) }
        if g.items.isEmpty {
            let msg = !g.loaded ? "loading…" : (g.busy != nil ? "adding the sample objects…" : "no objects yet: a adds one from an image")
            for (k, line) in wrapWords(msg, inner.width).prefix(inner.height).enumerated() {
                _ = c.put(line, x: inner.x, y: inner.y + k, .dim, clip: inner)
            }
            return
        }
        let visible = max(1, inner.height / rowHeight)
        let top = top(selected: g.selected, count: g.items.count, visible: visible)
        for (k, item) in g.items.enumerated().dropFirst(top).prefix(visible) {
            let y = inner.y + (k - top) * rowHeight
            let selected = k == g.selected
            let active = g.active == item.name
            let textX = inner.x + thumbWidth + 1
            let textW = inner.maxX - textX
            if selected {
                let sel = c.style(focused ? .selection : .highlight)
                c.grid.fill(Rect(x: textX - 1, y: y, width: textW + 1, height: min(rowHeight, inner.maxY - y)), with: Cell(" ", sel))
            }
            if let thumb = item.thumb {
                c.image(thumb, in: Rect(x: inner.x, y: y, width: thumbWidth, height: min(rowHeight, inner.maxY - y)))
            } else {
                _ = c.put("[ ? ]", x: inner.x, y: y + 1, .dim, clip: inner)
            }
            let nameRole: ThemeRole = selected ? (focused ? .selection : .highlight) : (active ? .accent : .text)
            var nameStyle = c.style(nameRole)
            if active { nameStyle.bold = true }
            var mark: (String, ThemeRole)?
            if item.stale { mark = (item.note ?? "stale: e re-encodes", .warning) } else if active {
                mark = ("active", selected ? nameRole : .ok)
            } else if let note = item.note { mark = (note, selected ? nameRole : .dim) }
            let nameLines = wrapName((active ? "● " : "") + item.name, textW, maxLines: rowHeight - (mark == nil ? 0 : 1))
            for (k, line) in nameLines.enumerated() {
                _ = c.put(line, x: textX, y: y + k, style: nameStyle, clip: inner)
            }
            if let (text, role) = mark {
                _ = c.put(clipped(text, textW), x: textX, y: y + nameLines.count, role, clip: inner)
            }
        }
        if g.items.count > visible {
            c.bottomNote(r, "\(g.selected + 1)/\(g.items.count)", .dim)
        }
    }

    /// A name over up to `maxLines` lines of `width`, broken after "-" or "_" where possible.
    static func wrapName(_ name: String, _ width: Int, maxLines: Int) -> [String] {
        guard width > 0, maxLines > 0 else { return [] }
        var lines: [String] = []
        var rest = Array(name)
        while !rest.isEmpty && lines.count < maxLines {
            if rest.count <= width || lines.count == maxLines - 1 {
                lines.append(clipped(String(rest), width))
                break
            }
            var cut = width
            if width > 3, let b = rest[3..<width].lastIndex(where: { $0 == "-" || $0 == "_" }) { cut = b + 1 }
            lines.append(String(rest[..<cut]))
            rest = Array(rest[cut...])
        }
        return lines
    }
}
