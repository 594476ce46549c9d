// A 3x5 bitmap font for digits (and `-`), enough to label grid cells with their seeds.

import LikenessImaging

enum DigitFont {
    static let width = 3, height = 5
    /// Rows top to bottom, bit 2 = left column.
    private static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7],
        "4": [5, 5, 7, 1, 1], "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 2, 2, 2],
        "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7], "-": [0, 0, 7, 0, 0],
    ]

    /// Pixel width of `text` at `scale` (1 px gap between glyphs).
    static func measure(_ text: String, scale: Int) -> Int {
        text.isEmpty ? 0 : (text.count * (width + 1) - 1) * scale
    }

    /// Draws `text` with its top-left corner at (x, y); characters without a glyph are skipped
    /// (left blank); pixels outside the image are clipped.
    static func draw(_ text: String, into image: inout RGBImage, x: Int, y: Int, scale: Int, color: RGB) {
        var cx = x
        for ch in text {
            if let rows = glyphs[ch] {
                for (r, bits) in rows.enumerated() {
                    for c in 0..<width where bits & (1 << (width - 1 - c)) != 0 {
                        for dy in 0..<scale {
                            for dx in 0..<scale {
                                let px = cx + c * scale + dx, py = y + r * scale + dy
                                if px >= 0, py >= 0, px < image.width, py < image.height { image[px, py] = color }
                            }
                        }
                    }
                }
            }
            cx += (width + 1) * scale
        }
    }
}
