// The LoRA list (F5) over the studio: one row per LoRA of the folder, a mark when the prompt holds
// its tag, its weight; tags naming a file the folder lacks are listed in the error colour.

import Foundation

enum LoRAOverlay {
    static func draw(_ c: inout Canvas, _ s: StudioState) -> Rect {
        let list = s.loras
        let names = list.entries.map { cellWidth(of: $0.name) }.max() ?? 0
        let w = min(s.width - 4, max(52, names + 24))
        let rows = max(1, list.entries.count)
        let h = min(s.height - 4, rows + 4)
        let r = Rect(x: (s.width - w) / 2, y: max(0, (s.height - h) / 2), width: w, height: h)
        let on = list.entries.filter { Studio.loraIsOn($0.name, in: s.prompt.text) }.count
        c.pane(r, title: "LoRAs · \(on) in the prompt", focused: true)
        let inner = r.inset(1)
        guard inner.width > 0, inner.height > 2 else { return r }
        _ = c.put(clipped(list.folder.isEmpty ? "LoRA folder" : list.folder, inner.width - 2), x: inner.x + 1, y: inner.y, .dim, clip: inner)
        let listRect = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 2)
        if list.entries.isEmpty {
            let text = list.loaded ? "no .safetensors files here: put LoRAs in this folder or start with --loras DIR" : "reading the folder…"
            _ = c.put(clipped(text, listRect.width - 2), x: listRect.x + 1, y: listRect.y, .dim, clip: listRect)
        }
        let top = max(0, min(list.selected - listRect.height + 1, list.entries.count - listRect.height))
        for (k, entry) in list.entries.enumerated().dropFirst(top).prefix(listRect.height) {
            let y = listRect.y + k - top
            let selected = k == list.selected
            let mark = Studio.loraIsOn(entry.name, in: s.prompt.text) ? "[x]" : "[ ]"
            let weight = String(format: "%5.2f", entry.weight)
            let role: ThemeRole = selected ? .selection : entry.missing ? .error : .text
            let row = Rect(x: listRect.x, y: y, width: listRect.width, height: 1)
            if selected { c.grid.fill(row, with: Cell(" ", c.style(.selection))) }
            let nameWidth = listRect.width - 14
            let label = clipped(entry.name + (entry.missing ? " (not in the folder)" : ""), nameWidth)
            _ = c.put(" \(mark) " + label, x: row.x, y: y, role, clip: row)
            _ = c.put(weight, x: row.maxX - 6, y: y, selected ? .selection : .accent, clip: row)
        }
        let help = "Enter on/off · ←→ weight · Esc close"
        _ = c.put(clipped(help, inner.width - 2), x: inner.x + 1, y: inner.maxY - 1, .dim, clip: inner)
        return r
    }
}
