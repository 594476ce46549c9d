// The help overlay (F1, or ? outside text fields): every binding of the keymap, grouped by
// where it works; in a small window it takes pages (PgDn, PgUp).

import Foundation

enum HelpOverlay {
    /// Every binding of the keymap, grouped by where it works.
    static var sections: [(String, [(String, String)])] { Keymap.helpSections() }

    static var lines: [(String, String, Bool)] {
        sections.flatMap { title, keys in [(title, "", true)] + keys.map { ($0.0, $0.1, false) } }
    }

    /// The box, its columns and how many lines fit on one page, for a w x h terminal.
    static func geometry(width: Int, height: Int) -> (box: Rect, columns: Int, perPage: Int) {
        let count = lines.count
        let w = min(width - 2, 84), h = min(height - 2, count + 2)
        let r = Rect(x: (width - w) / 2, y: max(0, (height - h) / 2), width: w, height: h)
        let inner = r.inset(1)
        let columns = inner.height < count && inner.width >= 56 ? 2 : 1
        return (r, columns, max(1, columns * inner.height))
    }

    /// Pages the help takes at this size (PgDn turns them; small windows only).
    static func pageCount(width: Int, height: Int) -> Int {
        let g = geometry(width: width, height: height)
        return (lines.count + g.perPage - 1) / g.perPage
    }

    /// Draws the help box (page `s.helpPage`); returns its rectangle.
    static func draw(_ c: inout Canvas, _ s: StudioState) -> Rect {
        let all = lines
        let (r, columns, perPage) = geometry(width: s.width, height: s.height)
        let pages = (all.count + perPage - 1) / perPage
        let page = min(max(0, s.helpPage), pages - 1)
        let title = pages > 1 ? "Help \(page + 1)/\(pages) · PgDn more · any key closes" : "Help · any key closes"
        c.pane(r, title: title, focused: true)
        let inner = r.inset(1)
        let shown = Array(all.dropFirst(page * perPage).prefix(perPage))
        let colW = inner.width / columns
        let perCol = min(inner.height, (shown.count + columns - 1) / columns)
        for (i, line) in shown.enumerated() {
            let col = i / max(1, perCol), row = i % max(1, perCol)
            guard row < inner.height, col < columns else { continue }
            let x = inner.x + col * colW, y = inner.y + row
            let clip = Rect(x: x, y: y, width: colW - 1, height: 1)
            if line.2 {
                _ = c.put(line.0, x: x, y: y, .title, clip: clip)
            } else {
                let kx = c.put(" " + line.0, x: x, y: y, .footerKey, clip: clip)
                _ = c.put(" " + line.1, x: max(kx, x + 12), y: y, .text, clip: clip)
            }
        }
        return r
    }
}
