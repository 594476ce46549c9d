// The xterm 256-colour palette: the nearest entry to a colour, for terminals without 24-bit
// colour (the studio's half-block cells in 256-colour mode are drawn by its ImageLayer).

extension TerminalRender {
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
