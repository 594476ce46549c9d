// Small centred dialogs: quit confirmation, delete confirmation, one-line inputs (path, name).

import Foundation

enum Dialogs {
    static func box(_ c: inout Canvas, _ s: StudioState, title: String, lines: [String], height extra: Int = 0) -> Rect {
        let w = min(s.width - 4, max(44, (lines.map { cellWidth(of: $0) }.max() ?? 0) + 4))
        let h = lines.count + 2 + extra
        let r = Rect(x: (s.width - w) / 2, y: max(0, (s.height - h) / 2), width: w, height: h)
        c.pane(r, title: title, focused: true)
        for (k, line) in lines.enumerated() {
            _ = c.put(clipped(line, w - 4), x: r.x + 2, y: r.y + 1 + k, .text, clip: r.inset(1))
        }
        return r
    }

    /// Draws `overlay`; returns the rectangle it covers.
    static func draw(_ c: inout Canvas, _ s: StudioState, _ overlay: Overlay) -> Rect {
        switch overlay {
        case .help:
            return HelpOverlay.draw(&c, s)
        case .loras:
            return LoRAOverlay.draw(&c, s)
        case .confirmQuit:
            return box(&c, s, title: "Quit?", lines: ["Images are still being made.", "y / Enter: stop them and quit · any other key: stay"])
        case .confirmDelete(let name):
            return box(&c, s, title: "Delete object?", lines: ["Delete \(name) from the gallery?", "y: delete · any other key: keep"])
        case .input(let p):
            let r = box(&c, s, title: p.title, lines: [""], height: 2)
            let field = Rect(x: r.x + 2, y: r.y + 1, width: r.width - 4, height: 1)
            let text = p.buffer.text
            let cursor = min(p.buffer.cursor, text.count)
            let start = max(0, cursor - field.width + 1)
            let shown = String(Array(text).dropFirst(start).prefix(field.width))
            c.grid.fill(field, with: Cell(" ", c.style(.selection)))
            _ = c.put(shown, x: field.x, y: field.y, .selection, clip: field)
            c.cursor = (field.x + cursor - start, field.y)
            var cell = c.grid[field.x + cursor - start, field.y]
            cell.style.reverse.toggle()
            c.grid[field.x + cursor - start, field.y] = cell
            let note: String
            let role: ThemeRole
            if let e = p.error { note = e; role = .error } else if !p.candidates.isEmpty {
                note = p.candidates.prefix(6).joined(separator: "  ") + (p.candidates.count > 6 ? "  …" : ""); role = .dim
            } else { note = "Enter accepts · Esc cancels"; role = .dim }
            _ = c.put(clipped(note, field.width), x: field.x, y: field.y + 1, role, clip: r.inset(1))
            return r
        }
    }
}
