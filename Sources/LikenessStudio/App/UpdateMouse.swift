// Clicks and scrolling: the view says what is under the pointer (StudioView.hit); a click
// focuses that pane and selects the item, scrolling moves the list under it.

import Foundation

extension Studio {
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
