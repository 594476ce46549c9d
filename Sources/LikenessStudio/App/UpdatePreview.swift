// Keys and clicks of the preview / compare grid and of the history screen, and mouse focus.

import Foundation

extension Studio {
    static func handlePreviewKey(_ s: inout StudioState, _ command: Command) -> [Effect] {
        guard let r = s.run, !r.cells.isEmpty else {
            if command == .zoom { setStatus(&s, "nothing here yet: Ctrl-G makes an image") }
            return []
        }
        let cols = r.columns, n = r.cells.count
        var i = min(max(0, s.selectedCell), n - 1)
        switch command {
        case .left: i = max(0, i - 1)
        case .right: i = min(n - 1, i + 1)
        case .up: i = i - cols >= 0 ? i - cols : i
        case .down: i = i + cols < n ? i + cols : i
        case .zoom:
            s.zoomed = s.zoomed == nil ? i : nil
        case .saveCell:
            s.selectedCell = i
            return beginSave(&s)
        case .baseSeed:
            s.settings.generation.seed = r.cells[i].seed
            s.settings.seedMode = .fixed
            if case .identityGuidance(let v)? = r.cells[i].axisValue { s.settings.generation.identityGuidance = Float(v) }
            setStatus(&s, "base seed is now \(r.cells[i].seed) (seed mode fixed)", .ok)
        default:
            break
        }
        s.selectedCell = i
        if s.zoomed != nil && command != .zoom { s.zoomed = i }
        return []
    }

    static func handleHistoryKey(_ s: inout StudioState, _ command: Command) -> [Effect] {
        let n = s.history.items.count
        func move(_ d: Int) { s.history.selected = clampedRow(s.history.selected + d, count: n) }
        switch command {
        case .back: s.screen = .studio
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-10)
        case .pageDown: move(10)
        case .first: move(-n)
        case .last: move(n)
        case .recall:
            guard n > 0 else { return [] }
            let item = s.history.items[s.history.selected]
            guard let recall = item.recall else {
                setStatus(&s, "\(item.title) has no Likeness parameters to recall", .warning)
                return []
            }
            return applyRecall(&s, recall, from: item.path)
        case .openPNG:
            openInput(&s, .openPNG, title: "Open a PNG with parameters (Tab completes)", text: "")
        case .refresh:
            return [.loadHistory]
        case .showHelp:
            s.overlay = .help
            s.helpPage = 0
        default:
            break
        }
        return []
    }

    static func handleClick(_ s: inout StudioState, x: Int, y: Int) -> [Effect] {
        if s.overlay != nil { if s.overlay == .help { s.overlay = nil }; return [] }
        let layout = Layout(width: s.width, height: s.height)
        guard !layout.tooSmall else { return [] }
        if s.screen == .history {
            if let i = ThumbnailList.index(atX: x, y: y, in: layout.historyList.inset(1), count: s.history.items.count,
                                           selected: s.history.selected) { s.history.selected = i }
            return []
        }
        guard let pane = layout.pane(atX: x, y: y) else { return [] }
        s.focus = pane
        s.settingsEdit = nil
        switch pane {
        case .gallery:
            if let i = ThumbnailList.index(atX: x, y: y, in: layout.gallery.inset(1), count: s.gallery.items.count,
                                           selected: s.gallery.selected) { s.gallery.selected = i }
        case .prompt, .negative:
            let r = layout.rect(of: pane), field: WritableKeyPath<StudioState, TextBuffer> = pane == .prompt ? \.prompt : \.negative
            if r.inset(1).contains(x: x, y: y) { s[keyPath: field].moveTo(PromptPane.offset(at: x, y, in: r, s[keyPath: field])) }
        case .settings:
            let row = y - layout.settings.y - 1
            if row >= 0 && row < settingRows.count { s.settingsRow = row }
        case .preview:
            if let r = s.run, s.zoomed == nil {
                let rects = PreviewPane.cellRects(PreviewPane.gridArea(layout.preview), rows: r.rows, columns: r.columns, labels: r.rows > 1)
                if let i = rects.firstIndex(where: { $0.contains(x: x, y: y) }) { s.selectedCell = i }
            }
        }
        return []
    }

    static func handleScroll(_ s: inout StudioState, x: Int, y: Int, delta: Int) -> [Effect] {
        let layout = Layout(width: s.width, height: s.height)
        if s.screen == .history {
            s.history.selected = clampedRow(s.history.selected + delta, count: s.history.items.count)
        } else if layout.gallery.contains(x: x, y: y) {
            s.gallery.selected = clampedRow(s.gallery.selected + delta, count: s.gallery.items.count)
        }
        return []
    }
}
