// ANSI half-block rendering: each cell shows two pixels stacked, the upper one as the
// foreground colour of U+2580 UPPER HALF BLOCK and the lower one as the background colour.
// Output format (exact, tests depend on it): per row, for each cell the SGR codes that changed
// since the previous cell of that row (foreground first, then background), then "▀"; each row
// ends with ESC[0m; rows are joined by "\n" with no trailing newline. When the image has an odd
// number of pixel rows the last row's lower halves use the default background (ESC[49m).

extension TerminalRender {
    /// The image as half-block text fitting `maxColumns` x `maxRows` cells (see type docs).
    public static func halfBlocks(_ image: RGBImage, maxColumns: Int, maxRows: Int,
                                  colors: TerminalColorMode = .trueColor, cellAspect: Double = 2) throws -> String {
        try checkBox(maxColumns, maxRows, cellAspect)
        let g = sampleGrid(imageWidth: image.width, imageHeight: image.height, maxColumns: maxColumns,
                           maxRows: maxRows, cellAspect: cellAspect, perCellY: 2)
        let img = try displayScaled(image, g.width, g.height)
        var out = ""
        out.reserveCapacity(g.width * ((g.height + 1) / 2) * 40)
        var y = 0
        while y < img.height {
            if y > 0 { out += "\n" }
            var lastFg = "", lastBg = ""
            for x in 0..<img.width {
                let fg = sgr(img[x, y], foreground: true, colors)
                let bg = y + 1 < img.height ? sgr(img[x, y + 1], foreground: false, colors) : "\u{1b}[49m"
                if fg != lastFg { out += fg; lastFg = fg }
                if bg != lastBg { out += bg; lastBg = bg }
                out += "\u{2580}"
            }
            out += "\u{1b}[0m"
            y += 2
        }
        return out
    }

    private static func sgr(_ c: RGB, foreground: Bool, _ mode: TerminalColorMode) -> String {
        let base = foreground ? 38 : 48
        switch mode {
        case .trueColor: return "\u{1b}[\(base);2;\(c.r);\(c.g);\(c.b)m"
        case .palette256: return "\u{1b}[\(base);5;\(xterm256Index(c))m"
        }
    }

    /// The nearest xterm-256 colour index (16...255: the 6x6x6 cube with levels
    /// 0, 95, 135, 175, 215, 255, or the 24 greys 8, 18, ..., 238), by squared RGB distance.
    public static func xterm256Index(_ c: RGB) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func cubeIndex(_ v: Int) -> Int { v < 48 ? 0 : (v < 115 ? 1 : (v - 35) / 40) }
        let r = Int(c.r), g = Int(c.g), b = Int(c.b)
        let ci = (cubeIndex(r), cubeIndex(g), cubeIndex(b))
        let cube = (levels[ci.0], levels[ci.1], levels[ci.2])
        let avg = (r + g + b) / 3
        let gi = avg > 238 ? 23 : max(0, (avg - 3) / 10)
        let grey = 8 + 10 * gi
        func d2(_ a: (Int, Int, Int)) -> Int {
            (a.0 - r) * (a.0 - r) + (a.1 - g) * (a.1 - g) + (a.2 - b) * (a.2 - b)
        }
        let cubeDist = d2(cube), greyDist = d2((grey, grey, grey))
        return greyDist < cubeDist ? 232 + gi : 16 + 36 * ci.0 + 6 * ci.1 + ci.2
    }
}
