// The help overlay (F1, or ? outside text fields): every key, grouped by pane.

import Foundation

enum HelpOverlay {
    static let sections: [(String, [(String, String)])] = [
        ("Anywhere", [("Ctrl-G", "generate"), ("Esc", "cancel running images"), ("Tab S-Tab", "next/previous pane"),
                      ("Ctrl-S", "save selected image as…"), ("F2  H", "history"), ("F4  v", "preview mode"),
                      ("F1  ?", "this help"), ("Ctrl-Q  q", "quit"), ("Ctrl-C", "cancel, or quit if idle")]),
        ("Prompt", [("Ctrl-O", "insert <obj>"), ("Ctrl-P/N", "older/newer prompt"), ("Ctrl-A/E", "line start/end"),
                    ("Alt-B/F", "word left/right"), ("Ctrl-W", "delete word"), ("Ctrl-U/K", "delete to start/end"),
                    ("Ctrl-Z/Y", "undo/redo")]),
        ("Objects", [("Enter", "use / stop using"), ("x", "no object"), ("a", "add from image file"),
                     ("r", "rename"), ("d", "delete (asks)"), ("e", "re-encode if stale")]),
        ("Settings", [("Up Down", "choose"), ("Left Right", "change (or - +)"), ("0-9 Enter", "type a value")]),
        ("Preview", [("arrows", "choose an image"), ("Enter", "open large"), ("s", "save as…"), ("b", "seed as base seed")]),
        ("History", [("Enter  r", "recall all settings"), ("o", "open any PNG"), ("Esc", "back")]),
    ]

    /// Draws the help box; returns its rectangle.
    static func draw(_ c: inout Canvas, _ s: StudioState) -> Rect {
        let lines: [(String, String, Bool)] = sections.flatMap { title, keys in
            [(title, "", true)] + keys.map { ($0.0, $0.1, false) }
        }
        let w = min(s.width - 2, 84), h = min(s.height - 2, lines.count + 2)
        let r = Rect(x: (s.width - w) / 2, y: max(0, (s.height - h) / 2), width: w, height: h)
        c.pane(r, title: "Help · any key closes", focused: true)
        let inner = r.inset(1)
        let columns = inner.height < lines.count && inner.width >= 56 ? 2 : 1
        let colW = inner.width / columns
        let perCol = (lines.count + columns - 1) / columns
        for (i, line) in lines.enumerated() {
            let col = i / perCol, row = i % perCol
            guard row < inner.height else { continue }
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
