// The title bar, the status line, the footer with the focused pane's keys, and the message shown
// when the terminal is below the minimum size.

import Foundation

enum Chrome {
    static func title(_ c: inout Canvas, _ s: StudioState, _ r: Rect) {
        c.grid.fill(r, with: Cell(" ", c.style(.statusBar)))
        let help = "F1 help "
        var right = help
        if s.jobRunning, let run = s.run {
            let done = run.jobs.reduce(0) { $0 + $1.step }, total = max(1, run.plan.settings.request.steps * run.jobs.count)
            right = "● \(done * 100 / total)%  " + help
        }
        var parts = [s.model.name, "object: \(s.gallery.active ?? "none")", s.previewMode.label]
        if s.screen == .history { parts.insert("HISTORY", at: 0) }
        let left = " Likeness · " + parts.joined(separator: " · ")
        _ = c.put(clipped(left, r.width - cellWidth(of: right) - 1), x: r.x, y: r.y, .statusBar, clip: r)
        _ = c.put(right, x: r.maxX - cellWidth(of: right), y: r.y, .statusBar, clip: r)
    }

    static func status(_ c: inout Canvas, _ s: StudioState, _ r: Rect) {
        let role: ThemeRole
        switch s.statusKind {
        case .info: role = .text
        case .ok: role = .ok
        case .warning: role = .warning
        case .error: role = .error
        }
        var right = ""
        if let busy = s.gallery.busy { right = busy }
        let rw = cellWidth(of: right)
        _ = c.put(clipped(" " + s.status, r.width - rw - 1), x: r.x, y: r.y, role, clip: r)
        if !right.isEmpty { _ = c.put(right + " ", x: r.maxX - rw - 1, y: r.y, .dim, clip: r) }
    }

    /// The focused context's keys, from the keymap.
    static func keys(for s: StudioState) -> [(String, String)] { Keymap.footer(for: s) }

    static func footer(_ c: inout Canvas, _ s: StudioState, _ r: Rect) {
        c.grid.fill(r, with: Cell(" ", c.style(.footerText)))
        var x = r.x
        for (key, what) in keys(for: s) {
            let need = cellWidth(of: key) + cellWidth(of: what) + 3
            if x + need > r.maxX { break }
            x = c.put(" " + key, x: x, y: r.y, .footerKey, clip: r)
            x = c.put(" " + what + " ", x: x, y: r.y, .footerText, clip: r)
        }
    }

    static func tooSmall(_ c: inout Canvas, _ s: StudioState) {
        let lines = ["The terminal is \(s.width)x\(s.height).",
                     "Likeness studio needs at least \(Layout.minWidth)x\(Layout.minHeight).",
                     "Make the window larger (Ctrl-Q quits)."]
        let top = max(0, (s.height - lines.count) / 2)
        for (k, line) in lines.enumerated() {
            let t = clipped(line, s.width)
            _ = c.put(t, x: max(0, (s.width - cellWidth(of: t)) / 2), y: top + k, k == 1 ? .warning : .text)
        }
    }
}
