// Keys of the preview / compare grid: moving the selection, zoom, save, taking a cell's seed.

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
        case .useAsInit:
            s.preview.selected = i
            guard let image = r.cells[i].image, r.cells[i].done else {
                setStatus(&s, "that image is not finished yet", .warning)
                return []
            }
            useAsInit(&s, InitImageChoice(image: image, label: "seed \(r.cells[i].seed)"))
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
}
