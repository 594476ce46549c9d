// Keys and clicks of the preview / compare grid and of the history screen, and mouse focus.

import Foundation

extension Studio {
    static func handlePreviewKey(_ s: inout StudioState, _ command: Command) -> [Effect] {
        guard let r = s.run, !r.cells.isEmpty else {
            if command == .zoom { setStatus(&s, "nothing here yet: Ctrl-G makes an image") }
            return []
        }
        let cols = r.columns, n = r.cells.count
        var i = min(max(0, s.preview.selected), n - 1)
        switch command {
        case .left: i = max(0, i - 1)
        case .right: i = min(n - 1, i + 1)
        case .up: i = i - cols >= 0 ? i - cols : i
        case .down: i = i + cols < n ? i + cols : i
        case .zoom:
            s.preview.zoomed = s.preview.zoomed == nil ? i : nil
        case .saveCell:
            s.preview.selected = i
            return beginSave(&s)
        case .baseSeed:
            s.settings.generation.seed = r.cells[i].seed
            s.settings.seedMode = .fixed
            if case .identityGuidance(let v)? = r.cells[i].axisValue { s.settings.generation.identityGuidance = Float(v) }
            setStatus(&s, "base seed is now \(r.cells[i].seed) (seed mode fixed)", .ok)
        default:
            break
        }
        s.preview.selected = i
        if s.preview.zoomed != nil && command != .zoom { s.preview.zoomed = i }
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
        guard let hit = StudioView.hit(s, x: x, y: y) else { return [] }
        if let pane = hit.pane {
            s.focus = pane
            s.settingsPane.edit = nil
        }
        switch hit {
        case .history(let row?): s.history.selected = row
        case .gallery(let row?): s.gallery.selected = row
        case .text(.prompt, let offset?): s.prompt.moveTo(offset)
        case .text(.negative, let offset?): s.negative.moveTo(offset)
        case .settings(let row?): s.settingsPane.row = row
        case .preview(let cell?): s.preview.selected = cell
        default: break
        }
        return []
    }

    static func handleScroll(_ s: inout StudioState, x: Int, y: Int, delta: Int) -> [Effect] {
        if s.screen == .history {
            s.history.selected = clampedRow(s.history.selected + delta, count: s.history.items.count)
        } else if case .gallery? = StudioView.hit(s, x: x, y: y) {
            s.gallery.selected = clampedRow(s.gallery.selected + delta, count: s.gallery.items.count)
        }
        return []
    }
}
