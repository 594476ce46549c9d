// The object gallery: a thumbnail and the name per row (a ThumbnailList), the active object
// marked, stale objects flagged.

import Foundation

enum GalleryPane {
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
        ThumbnailList.draw(&c, in: inner, count: g.items.count, selected: g.selected, selection: focused ? .selection : .highlight,
                           thumb: { g.items[$0].thumb }, placeholder: "[ ? ]") { c, row in
            let item = g.items[row.index]
            let selected = row.selected, y = row.y
            let active = g.active == item.name
            let textX = row.text.x, textW = row.text.width
            let nameRole: ThemeRole = selected ? (focused ? .selection : .highlight) : (active ? .accent : .text)
            var nameStyle = c.style(nameRole)
            if active { nameStyle.bold = true }
            var mark: (String, ThemeRole)?
            if item.stale { mark = (item.note ?? staleMark(textW), .warning) } else if active {
                mark = ("active", selected ? nameRole : .ok)
            } else if let note = item.note { mark = (note, selected ? nameRole : .dim) }
            let nameLines = wrapName((active ? "● " : "") + item.name, textW, maxLines: ThumbnailList.rowHeight - (mark == nil ? 0 : 1))
            for (k, line) in nameLines.enumerated() {
                _ = c.put(line, x: textX, y: y + k, style: nameStyle, clip: inner)
            }
            if let (text, role) = mark {
                _ = c.put(clipped(text, textW), x: textX, y: y + nameLines.count, role, clip: inner)
            }
        }
        if g.items.count > ThumbnailList.visible(in: inner) {
            c.bottomNote(r, "\(g.selected + 1)/\(g.items.count)", .dim)
        }
    }

    /// The stale flag in the longest wording that fits `width` (a narrow gallery keeps the key).
    static func staleMark(_ width: Int) -> String {
        ["stale: e re-encodes", "stale: e", "stale"].first { $0.count <= width } ?? "stale"
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
