// Plain ASCII rendering for dumb terminals: one character per cell, chosen from a ramp by
// Rec. 601 luma (0.299 R + 0.587 G + 0.114 B). Lines are joined by "\n", no trailing newline,
// no escape codes.

extension TerminalRender {
    /// Ramp from dark to bright, for light text on a dark background.
    public static let defaultASCIIRamp = " .:-=+*#%@"

    /// The image as ASCII art fitting `maxColumns` x `maxRows` cells. Every line has the same
    /// number of characters. Pass a reversed ramp for dark text on a light background.
    public static func ascii(_ image: RGBImage, maxColumns: Int, maxRows: Int,
                             ramp: String = defaultASCIIRamp, cellAspect: Double = 2) throws -> String {
        try checkBox(maxColumns, maxRows, cellAspect)
        let chars = Array(ramp)
        guard !chars.isEmpty else { throw ImageError.invalidArgument("ASCII ramp is empty") }
        let g = sampleGrid(imageWidth: image.width, imageHeight: image.height, maxColumns: maxColumns,
                           maxRows: maxRows, cellAspect: cellAspect, perCellY: 1)
        let img = try displayScaled(image, g.width, g.height)
        var lines: [String] = []
        lines.reserveCapacity(img.height)
        for y in 0..<img.height {
            var line = ""
            line.reserveCapacity(img.width)
            for x in 0..<img.width {
                let c = img[x, y]
                let luma = (0.299 * Double(c.r) + 0.587 * Double(c.g) + 0.114 * Double(c.b)) / 255
                let i = min(chars.count - 1, max(0, Int((luma * Double(chars.count - 1)).rounded())))
                line.append(chars[i])
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
