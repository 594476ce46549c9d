// The view: state -> frame. Pure; the same state at the same size always draws the same grid.

import Foundation

public enum StudioView {
    public static func render(_ s: StudioState, theme: Theme) -> Frame {
        var c = Canvas(grid: CellGrid(width: s.width, height: s.height, fill: Cell(" ", theme.style(.text))),
                       theme: theme, ascii: s.asciiBoxes, mode: s.previewMode)
        let layout = Layout(width: s.width, height: s.height)
        if layout.tooSmall {
            Chrome.tooSmall(&c, s)
            return Frame(grid: c.grid, images: [], cursor: nil)
        }
        Chrome.title(&c, s, layout.title)
        switch s.screen {
        case .studio:
            GalleryPane.draw(&c, s, layout.gallery)
            PromptPane.draw(&c, s, layout.prompt, field: .prompt)
            PromptPane.draw(&c, s, layout.negative, field: .negative)
            SettingsPane.draw(&c, s, layout.settings)
            PreviewPane.draw(&c, s, layout.preview)
        case .history:
            HistoryPane.draw(&c, s, layout)
        }
        Chrome.status(&c, s, layout.status)
        Chrome.footer(&c, s, layout.footer)
        if let overlay = s.overlay {
            c.cursor = nil
            let covered = Dialogs.draw(&c, s, overlay)
            // Images written after the text would cover the overlay: graphics that meet it are dropped
            // while it shows, 24-bit cells are rewritten only outside it.
            c.images.removeAll { $0.rect.intersects(covered) }
            c.trueColorRects = c.trueColorRects.flatMap { $0.subtracting(covered) }
        }
        return Frame(grid: c.grid, images: c.images, kitty: s.previewMode == .kitty, cursor: c.cursor, trueColorRects: c.trueColorRects)
    }
}
