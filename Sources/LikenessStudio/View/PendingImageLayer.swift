// Temporary: image -> cells until Components/ImageLayer.swift lands (then this file goes).

import LikenessImaging

enum PendingImageLayer {
    static func draw(_ img: RGBImage, into grid: inout CellGrid, rect: Rect, mode: PreviewMode) {
        guard rect.width > 0, rect.height > 0 else { return }
        let perCellY = mode == .ascii ? 1 : 2
        // Fit keeping aspect: a cell is about twice as tall as wide.
        let pxW = Double(rect.width), pxH = Double(rect.height * 2)
        let scale = min(pxW / Double(img.width), pxH / Double(img.height))
        let cols = max(1, min(rect.width, Int((Double(img.width) * scale).rounded())))
        let rows = max(1, min(rect.height, Int((Double(img.height) * scale / 2).rounded())))
        let x0 = rect.x + (rect.width - cols) / 2, y0 = rect.y + (rect.height - rows) / 2
        func sample(_ fx: Double, _ fy: Double) -> LikenessStudio.RGB {
            let x = min(img.width - 1, max(0, Int(fx * Double(img.width))))
            let y = min(img.height - 1, max(0, Int(fy * Double(img.height))))
            let p = img[x, y]
            return LikenessStudio.RGB(p.r, p.g, p.b)
        }
        let ramp = Array(" .:-=+*#%@")
        for r in 0..<rows {
            for c in 0..<cols {
                let fx = (Double(c) + 0.5) / Double(cols)
                if perCellY == 2 {
                    let top = sample(fx, (Double(r) + 0.25) / Double(rows))
                    let bottom = sample(fx, (Double(r) + 0.75) / Double(rows))
                    grid[x0 + c, y0 + r] = Cell("▀", Style(fg: top, bg: bottom))
                } else {
                    let p = sample(fx, (Double(r) + 0.5) / Double(rows))
                    let l = (0.299 * Double(p.r) + 0.587 * Double(p.g) + 0.114 * Double(p.b)) / 255
                    grid[x0 + c, y0 + r] = Cell(String(ramp[min(ramp.count - 1, Int(l * Double(ramp.count - 1) + 0.5))]), .plain)
                }
            }
        }
    }
}
