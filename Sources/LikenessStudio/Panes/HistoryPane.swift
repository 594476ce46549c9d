// The history screen: finished images newest first (thumbnail, prompt, seed), and the selected
// one large with its parameters. Enter recalls all of its settings into the editor.

import Foundation

enum HistoryPane {
    static func draw(_ c: inout Canvas, _ s: StudioState, _ layout: Layout) {
        let list = layout.historyList, detail = layout.historyDetail
        let h = s.history
        c.pane(list, title: "History (\(h.items.count))", focused: s.overlay == nil)
        c.pane(detail, title: "Parameters", focused: false)
        let inner = list.inset(1)
        guard inner.width > 8, inner.height > 0 else { return }
        if h.items.isEmpty {
            let msg = h.loaded ? "no images yet: finished images are kept in the outputs folder" : "loading…"
            for (k, line) in wrapWords(msg, inner.width).prefix(inner.height).enumerated() {
                _ = c.put(line, x: inner.x, y: inner.y + k, .dim, clip: inner)
            }
        }
        ThumbnailList.draw(&c, in: inner, count: h.items.count, selected: h.selected, selection: .selection,
                           thumb: { h.items[$0].thumb }) { c, row in
            let item = h.items[row.index], t = row.text
            _ = c.put(clipped(item.title, t.width), x: t.x, y: t.y, row.selected ? .selection : .text, clip: inner)
            _ = c.put(clipped(item.detail, t.width), x: t.x, y: t.y + 1, row.selected ? .selection : .dim, clip: inner)
        }
        let dInner = detail.inset(1)
        guard h.items.indices.contains(h.selected), dInner.width > 4, dInner.height > 2 else { return }
        let item = h.items[h.selected]
        let imgH = min(dInner.height / 2, dInner.width / 2)
        // The full image once it is loaded; the thumbnail meanwhile.
        let full = h.image.flatMap { $0.path == item.path ? $0.image : nil }
        if let t = full ?? item.thumb, imgH > 0 {
            c.image(t, in: Rect(x: dInner.x, y: dInner.y, width: dInner.width, height: imgH))
        }
        var y = dInner.y + imgH + (imgH > 0 ? 1 : 0)
        var lines = [(item.path as NSString).lastPathComponent]
        if let r = item.recall {
            lines.append(r.prompt)
            if !r.negative.isEmpty { lines.append("Negative: \(r.negative)") }
            // Unrecorded values shown as the defaults recall leaves in place.
            var st = StudioSettings()
            st.apply(r.spec)
            let q = st.request
            lines.append("\(q.sampler)\(q.karras == true ? " karras" : "") · \(q.steps) steps · seed \(q.seed) · \(q.width ?? 0)x\(q.height ?? 0)")
            lines.append("text \(fmt(Double(q.textGuidance))) · identity \(fmt(Double(q.identityGuidance)))" + (r.object.map { " · object \($0)" } ?? ""))
            lines += r.notes
        } else {
            lines.append("no parameters Likeness can read")
        }
        for line in lines.flatMap({ wrapWords($0, dInner.width) }) where y < dInner.maxY {
            _ = c.put(line, x: dInner.x, y: y, .text, clip: dInner); y += 1
        }
    }
}
