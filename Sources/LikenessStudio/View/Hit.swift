// What the view draws where, for update code: what is under a screen cell and how many rows a
// page of a list holds, computed from the layout and list geometry the panes draw with. Update
// code asks here instead of reading pane geometry.

import Foundation

/// What is under a screen cell; the index is nil where the cell is in the pane but on no item.
enum Hit: Equatable {
    case history(row: Int?)
    case gallery(row: Int?)
    case text(Pane, offset: Int?)
    case settings(row: Int?)
    case preview(cell: Int?)

    /// The studio pane hit (nil on the history screen).
    var pane: Pane? {
        switch self {
        case .history: return nil
        case .gallery: return .gallery
        case .text(let pane, _): return pane
        case .settings: return .settings
        case .preview: return .preview
        }
    }
}

extension StudioView {
    /// What the frame drawn for `s` shows at (x, y): nil outside every pane and on a window too
    /// small to draw.
    static func hit(_ s: StudioState, x: Int, y: Int) -> Hit? {
        let layout = Layout(width: s.width, height: s.height)
        guard !layout.tooSmall else { return nil }
        if s.screen == .history {
            let list = layout.historyList
            guard list.contains(x: x, y: y) else { return nil }
            return .history(row: ThumbnailList.index(atX: x, y: y, in: list.inset(1), count: s.history.items.count,
                                                     selected: s.history.selected))
        }
        guard let pane = layout.pane(atX: x, y: y) else { return nil }
        let r = layout.rect(of: pane)
        switch pane {
        case .gallery:
            return .gallery(row: ThumbnailList.index(atX: x, y: y, in: r.inset(1), count: s.gallery.items.count,
                                                     selected: s.gallery.selected))
        case .prompt, .negative:
            let buffer = pane == .prompt ? s.prompt : s.negative
            return .text(pane, offset: r.inset(1).contains(x: x, y: y) ? PromptPane.offset(at: x, y, in: r, buffer) : nil)
        case .settings:
            let row = y - r.y - 1
            return .settings(row: row >= 0 && row < SettingField.allCases.count ? row : nil)
        case .preview:
            guard let run = s.run, s.preview.zoomed == nil else { return .preview(cell: nil) }
            let rects = PreviewPane.cellRects(PreviewPane.gridArea(r), rows: run.rows, columns: run.columns, labels: run.rows > 1)
            return .preview(cell: rects.firstIndex { $0.contains(x: x, y: y) })
        }
    }

    /// Gallery rows one page holds (PgUp/PgDn).
    static func galleryPageSize(_ s: StudioState) -> Int {
        ThumbnailList.visible(in: Layout(width: s.width, height: s.height).gallery.inset(1))
    }
}
