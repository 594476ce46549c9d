// The preview: the running job's images at every step, then the final ones with captions; with
// several seeds (and a second axis) a compare grid, seeds across and axis values down. The bottom
// line is the progress bar (step, it/s, ETA) or, when idle, what to do next.

import Foundation

enum PreviewPane {
    static let labelWidth = 9

    /// The grid area inside the pane (the last inner line is the progress line).
    static func gridArea(_ pane: Rect) -> Rect {
        let inner = pane.inset(1)
        return Rect(x: inner.x, y: inner.y, width: inner.width, height: inner.height - 1)
    }

    /// One rectangle per result cell, row-major (axis value rows × seed columns).
    static func cellRects(_ area: Rect, rows: Int, columns: Int, labels: Bool) -> [Rect] {
        let x0 = area.x + (labels ? labelWidth : 0)
        let w = area.maxX - x0
        guard rows > 0, columns > 0, w > 0, area.height > 0 else { return [] }
        let cw = w / columns, ch = area.height / rows
        var out: [Rect] = []
        for r in 0..<rows {
            for col in 0..<columns {
                out.append(Rect(x: x0 + col * cw, y: area.y + r * ch, width: cw, height: ch))
            }
        }
        return out
    }

    static func draw(_ c: inout Canvas, _ s: StudioState, _ r: Rect) {
        let focused = s.focus == .preview && s.overlay == nil
        let modeName = s.previewMode.label
        var title = "Preview · \(modeName)"
        if let run = s.run, run.cells.count > 1 {
            title = "Compare · \(run.columns) seed\(run.columns == 1 ? "" : "s")"
            if run.rows > 1 { title += " × \(run.rows) \(run.plan.settings.axis == .prompt ? "prompt" : run.plan.settings.axis.label)" }
            title += " · \(modeName)"
        }
        if s.live.on { title = "LIVE · " + title }
        c.pane(r, title: title, focused: focused)
        let area = gridArea(r)
        guard area.width > 2, area.height > 1 else { return }
        progressLine(&c, s, Rect(x: area.x, y: area.maxY, width: area.width, height: 1))
        guard let run = s.run, !run.cells.isEmpty else {
            let lines = ["Ctrl-G makes an image from the prompt.",
                         s.gallery.active == nil ? "Pick an object in Objects (Enter) and write <obj> in the prompt." : "Object: \(s.gallery.active ?? "")",
                         "Settings › Seeds compares several seeds side by side."]
            let wrapped = lines.flatMap { wrapWords($0, area.width) }
            let y0 = area.y + max(0, (area.height - wrapped.count) / 2)
            for (k, t) in wrapped.enumerated() where k < area.height {
                _ = c.put(t, x: area.x + max(0, (area.width - cellWidth(of: t)) / 2), y: y0 + k, .dim, clip: area)
            }
            return
        }
        if let z = s.preview.zoomed, z < run.cells.count {
            cell(&c, run, z, area, selected: true, focused: focused, zoomed: true)
            return
        }
        let labels = run.rows > 1
        let rects = cellRects(area, rows: run.rows, columns: run.columns, labels: labels)
        for (i, rect) in rects.enumerated() where i < run.cells.count {
            cell(&c, run, i, rect, selected: i == s.preview.selected && run.cells.count > 1, focused: focused, zoomed: false)
            if labels && i % run.columns == 0, let label = run.cells[i].axisValue?.label {
                _ = c.put(clipped(label, labelWidth - 1), x: area.x, y: rect.y + max(0, (rect.height - 1) / 2), .accent, clip: area)
            }
        }
    }

    static func cell(_ c: inout Canvas, _ run: RunState, _ i: Int, _ rect: Rect, selected: Bool, focused: Bool, zoomed: Bool) {
        let cell = run.cells[i]
        let imgRect = Rect(x: rect.x, y: rect.y, width: rect.width - (zoomed ? 0 : 1), height: rect.height - 1)
        if let img = cell.image {
            c.image(img, in: imgRect)
        } else {
            let t = cell.total > 0 ? "waiting…" : ""
            _ = c.put(clipped(t, imgRect.width), x: imgRect.x + max(0, (imgRect.width - cellWidth(of: t)) / 2), y: imgRect.y + imgRect.height / 2, .dim, clip: imgRect)
        }
        // The longest caption that fits: seed, steps, time (seed and progress while running).
        let seed = "seed \(cell.seed)"
        var options: [String]
        if cell.done {
            let t = String(format: "%.1f s", cell.elapsed)
            options = ["\(seed) · \(cell.total) steps · \(t)", "\(seed) · \(t)", seed]
            if zoomed, let label = cell.axisValue?.label { options.insert("\(seed) · \(label) · \(cell.total) steps · \(t)", at: 0) }
            if zoomed, let path = cell.savedPath { options.insert(options[0] + " · " + (path as NSString).lastPathComponent, at: 0) }
        } else if cell.step > 0 {
            options = ["\(seed) · \(cell.step)/\(cell.total)", seed]
        } else {
            options = [seed]
        }
        // The selected cell is marked in text too (visible without colour).
        let mark = selected ? (c.ascii ? "> " : "▸ ") : ""
        let room = rect.width - 1 - cellWidth(of: mark)
        let caption = mark + clipped(options.first { cellWidth(of: $0) <= room } ?? seed, room)
        let role: ThemeRole = selected ? (focused ? .selection : .highlight) : .caption
        _ = c.put(caption, x: rect.x + max(0, (rect.width - 1 - cellWidth(of: caption)) / 2), y: rect.maxY - 1, role, clip: rect)
    }

    /// The init image in use, at the right end of the progress line (it wins over the progress text).
    static func initTag(_ c: inout Canvas, _ s: StudioState, _ line: Rect) -> Rect {
        guard let choice = s.initImage else { return line }
        let tag = clipped(" init \(choice.label) @\(fmt(Double(s.settings.strength))) · I clears", max(0, line.width - 8))
        let w = cellWidth(of: tag)
        _ = c.put(tag, x: line.maxX - w, y: line.y, .accent, clip: line)
        return Rect(x: line.x, y: line.y, width: max(0, line.width - w), height: 1)
    }

    static func progressLine(_ c: inout Canvas, _ s: StudioState, _ full: Rect) {
        let line = initTag(&c, s, full)
        guard let run = s.run else {
            _ = c.put(clipped("idle · Ctrl-G generates · F4 preview mode", line.width), x: line.x, y: line.y, .dim, clip: line)
            return
        }
        let steps = run.plan.settings.request.steps
        let total = max(1, steps * run.jobs.count)
        let done = run.jobs.reduce(0) { acc, j in acc + ((j.phase == .finished) ? steps : min(steps, j.step)) }
        let current = run.jobs.first { $0.phase == .running } ?? run.jobs.last { $0.step > 0 } ?? JobProgress()
        var text: String
        let waiting = run.jobs.contains { if case .queued(let n) = $0.phase { return n > 0 }; return false }
        if run.active && waiting && !run.jobs.contains(where: { $0.phase == .running }) {
            // A live draft only ever waits for the draft it cancelled to stop (a full-quality run
            // keeps it in `queued` instead), so nothing is queued behind other images.
            text = run.plan.live ? " live: stopping the previous draft…" : " waiting for the engine to finish the previous images…"
        } else if run.active {
            let itps = current.itPerSec
            let eta = itps > 0 ? Double(total - done) / itps : 0
            text = " step \(current.step)/\(steps)"
            if run.jobs.count > 1 { text += " (\(done)/\(total))" }
            text += String(format: " · %.1f it/s · ETA %.1f s", itps, eta)
            if s.queued != nil { text += " · 1 queued" }
        } else if run.jobs.allSatisfy({ $0.phase == .finished }) {
            text = String(format: " done · %d/%d · %.1f s", total, total, run.jobs.map(\.elapsed).reduce(0, +))
        } else if run.jobs.contains(where: { $0.phase == .cancelled }) {
            text = " cancelled at step \(current.step)/\(steps)"
        } else {
            text = " failed"
        }
        let barW = max(4, min(30, line.width / 4))
        let filled = barW * done / total
        let bar = String(repeating: c.ascii ? "#" : "█", count: filled)
        let rest = String(repeating: c.ascii ? "." : "░", count: barW - filled)
        var x = c.put(bar, x: line.x, y: line.y, .progress, clip: line)
        x = c.put(rest, x: x, y: line.y, .progressTrack, clip: line)
        _ = c.put(clipped(text, line.maxX - x), x: x, y: line.y, .text, clip: line)
    }
}
