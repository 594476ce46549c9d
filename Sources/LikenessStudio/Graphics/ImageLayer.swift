// Puts an image into the cell grid, or makes the sixel bytes for it. Half-blocks: each cell is
// "▀" with the upper pixel as foreground and the lower as background; in 256-colour mode both
// are quantised to the xterm palette (the 6x6x6 cube and 24 greys) and stored as that palette
// entry's RGB, so a driver in 256-colour mode maps any Style colour with
// `ImageLayer.xterm256Index` and gets these entries back exactly. ASCII uses LikenessImaging's
// luma ramp and no colour. The image keeps its aspect (cells taken as `cellAspect` times taller
// than wide) and is centred in the rectangle. Sixel: see ImageLayerSixel.swift.

import Foundation
import LikenessImaging

public enum ImageLayer {
    /// Downscaling filter. `.area` averages each cell's footprint (and enlarges with nearest, so
    /// small images stay crisp); `.nearest` samples one pixel (cheapest, for live previews).
    public enum Filter: Sendable, Equatable { case area, nearest }

    /// The cells an image of this size takes in `rect` in `mode` (sixel: use `sixelPlacement`).
    public static func fittedRect(imageWidth: Int, imageHeight: Int, in rect: Rect, mode: PreviewMode,
                                  cellAspect: Double = 2) -> Rect {
        guard rect.width > 0, rect.height > 0, imageWidth > 0, imageHeight > 0 else {
            return Rect(x: rect.x, y: rect.y, width: 0, height: 0)
        }
        let cells = mode == .ascii
            ? TerminalRender.asciiCells(imageWidth: imageWidth, imageHeight: imageHeight, maxColumns: rect.width,
                                        maxRows: rect.height, cellAspect: cellAspect)
            : TerminalRender.halfBlockCells(imageWidth: imageWidth, imageHeight: imageHeight, maxColumns: rect.width,
                                            maxRows: rect.height, cellAspect: cellAspect)
        return Rect(x: rect.x + (rect.width - cells.columns) / 2, y: rect.y + (rect.height - cells.rows) / 2,
                    width: cells.columns, height: cells.rows)
    }

    /// Draws `image` centred in `rect` and returns the cells it covers. Cells of `rect` around
    /// the image are filled with `background`. In `.sixel` mode the whole rect is blanked and
    /// returned: the driver writes the sixel there after painting (`sixelPlacement` gives the
    /// exact cells, which depend on the cell size in pixels). Pass the terminal's
    /// `TerminalCapabilities.cellAspect` as `cellAspect` when known.
    @discardableResult
    public static func draw(_ image: RGBImage, into grid: inout CellGrid, rect: Rect, mode: PreviewMode,
                            filter: Filter = .area, cellAspect: Double = 2, background: Style = .plain,
                            ramp: String = TerminalRender.defaultASCIIRamp) -> Rect {
        grid.fill(rect, with: Cell(" ", background))
        guard rect.width > 0, rect.height > 0, cellAspect.isFinite, cellAspect > 0 else {
            return Rect(x: rect.x, y: rect.y, width: 0, height: 0)
        }
        switch mode {
        case .sixel, .kitty:
            return rect
        case .ascii:
            return drawASCII(image, into: &grid, rect: rect, cellAspect: cellAspect, background: background, ramp: ramp)
        case .halfblockTruecolor, .halfblock256:
            return drawHalfBlocks(image, into: &grid, rect: rect, palette256: mode == .halfblock256, filter: filter,
                                  cellAspect: cellAspect, background: background)
        }
    }

    private static func drawHalfBlocks(_ image: RGBImage, into grid: inout CellGrid, rect: Rect, palette256: Bool,
                                       filter: Filter, cellAspect: Double, background: Style) -> Rect {
        // Pixel rows per cell are 2, so the sample grid is the ASCII one at half the cell aspect
        // and twice the rows: the arithmetic of TerminalRender.halfBlockCells.
        let px = TerminalRender.asciiCells(imageWidth: image.width, imageHeight: image.height, maxColumns: rect.width,
                                           maxRows: rect.height * 2, cellAspect: cellAspect / 2)
        let target = fittedRect(imageWidth: image.width, imageHeight: image.height, in: rect, mode: .halfblockTruecolor,
                                cellAspect: cellAspect)
        guard px.columns > 0, px.rows > 0, let img = scaled(image, px.columns, px.rows, filter) else { return target }
        let p = img.pixels
        func colour(_ x: Int, _ y: Int) -> RGB {
            let i = (y * img.width + x) * 3
            let c = RGB(p[i], p[i + 1], p[i + 2])
            return palette256 ? xterm256Color(xterm256Index(c)) : c
        }
        for row in 0..<target.height {
            for col in 0..<target.width where col < img.width {
                let top = 2 * row, bottom = 2 * row + 1
                guard top < img.height else { continue }
                let bg = bottom < img.height ? colour(col, bottom) : background.bg
                grid[target.x + col, target.y + row] = Cell("\u{2580}", Style(fg: colour(col, top), bg: bg))
            }
        }
        return target
    }

    private static func drawASCII(_ image: RGBImage, into grid: inout CellGrid, rect: Rect, cellAspect: Double,
                                  background: Style, ramp: String) -> Rect {
        let target = fittedRect(imageWidth: image.width, imageHeight: image.height, in: rect, mode: .ascii, cellAspect: cellAspect)
        guard let art = try? TerminalRender.ascii(image, maxColumns: rect.width, maxRows: rect.height, ramp: ramp,
                                                  cellAspect: cellAspect) else { return target }
        for (i, line) in art.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            grid.put(String(line), x: target.x, y: target.y + i, style: background, clip: rect)
        }
        return target
    }

    static func scaled(_ image: RGBImage, _ w: Int, _ h: Int, _ filter: Filter) -> RGBImage? {
        let shrink = w <= image.width && h <= image.height
        return try? image.resized(width: w, height: h, filter: filter == .area && shrink ? .area : .nearest)
    }

    /// The xterm-256 palette index nearest to `c` (16...255), as LikenessImaging computes it.
    public static func xterm256Index(_ c: RGB) -> Int {
        TerminalRender.xterm256Index(LikenessImaging.RGB(c.r, c.g, c.b))
    }

    /// The colour of xterm-256 palette entry `index` (16...231 cube, 232...255 greys; 0...15,
    /// whose colours the user's theme sets, as xterm's defaults).
    public static func xterm256Color(_ index: Int) -> RGB {
        let i = min(max(index, 0), 255)
        if i >= 232 { let v = UInt8(8 + 10 * (i - 232)); return RGB(v, v, v) }
        if i >= 16 {
            let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
            let k = i - 16
            return RGB(levels[k / 36], levels[k / 6 % 6], levels[k % 6])
        }
        let basic: [RGB] = [RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0), RGB(0, 0, 238),
                            RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229), RGB(127, 127, 127), RGB(255, 0, 0),
                            RGB(0, 255, 0), RGB(255, 255, 0), RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255),
                            RGB(255, 255, 255)]
        return basic[i]
    }
}
