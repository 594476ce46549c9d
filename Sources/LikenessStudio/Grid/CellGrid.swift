// The studio's view target: a grid of terminal cells, each one grapheme with a style. Views
// draw into a CellGrid; the curses driver paints it; tests compare it as text at fixed sizes.
// Wide graphemes (CJK, emoji) take two columns: the second column holds `Cell.continuation`.

import Foundation

/// A 24-bit colour; drivers map it to 256 colours or none as the terminal allows.
public struct RGB: Hashable, Sendable, Codable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
}

public struct Style: Hashable, Sendable {
    public var fg: RGB?
    public var bg: RGB?
    public var bold = false
    public var underline = false
    public var reverse = false
    public var dim = false
    public init(fg: RGB? = nil, bg: RGB? = nil, bold: Bool = false, underline: Bool = false,
                reverse: Bool = false, dim: Bool = false) {
        self.fg = fg; self.bg = bg; self.bold = bold; self.underline = underline; self.reverse = reverse; self.dim = dim
    }
    public static let plain = Style()
}

public struct Cell: Hashable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String = " ", _ style: Style = .plain) { self.text = text; self.style = style }
    /// The right half of a wide grapheme.
    public static let continuation = Cell("", .plain)
}

/// A rectangle of cells: x, y of the top-left corner, width, height.
public struct Rect: Hashable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
    /// This rectangle shrunk by `n` cells on every side.
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }
    /// Whether the two share a cell.
    public func intersects(_ o: Rect) -> Bool {
        width > 0 && height > 0 && o.width > 0 && o.height > 0 && x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY
    }
    /// The cells of this rectangle outside `o`: up to four rectangles (bands above and below, sides between).
    public func subtracting(_ o: Rect) -> [Rect] {
        guard intersects(o) else { return width > 0 && height > 0 ? [self] : [] }
        let top = max(y, o.y), bottom = min(maxY, o.maxY)
        let pieces = [Rect(x: x, y: y, width: width, height: top - y),
                      Rect(x: x, y: bottom, width: width, height: maxY - bottom),
                      Rect(x: x, y: top, width: max(x, o.x) - x, height: bottom - top),
                      Rect(x: min(maxX, o.maxX), y: top, width: maxX - min(maxX, o.maxX), height: bottom - top)]
        return pieces.filter { $0.width > 0 && $0.height > 0 }
    }
}

/// Display width of a grapheme: 2 for East Asian wide and emoji presentation, 0 for controls, else 1.
public func cellWidth(of ch: Character) -> Int {
    guard let s = ch.unicodeScalars.first else { return 0 }
    let v = s.value
    if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
    if ch.unicodeScalars.contains(where: { $0.properties.isEmojiPresentation }) { return 2 }
    switch v {
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
         0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
         0xFFE0...0xFFE6, 0x20000...0x3FFFD:
        return 2
    default:
        return 1
    }
}

/// Display width of a string in cells.
public func cellWidth(of s: String) -> Int { s.reduce(0) { $0 + cellWidth(of: $1) } }

public struct CellGrid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = Cell()) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { (x >= 0 && x < width && y >= 0 && y < height) ? cells[y * width + x] : Cell() }
        set { if x >= 0 && x < width && y >= 0 && y < height { cells[y * width + x] = newValue } }
    }

    /// Writes `text` from (x, y) on one line, clipped to `clip` (default: the grid); returns the
    /// column after the last cell written. Control characters are shown as U+FFFD.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let c = clip ?? bounds
        guard y >= c.y, y < c.maxY, y >= 0, y < height else { return x }
        var col = x
        for ch in text {
            var w = cellWidth(of: ch)
            var shown = String(ch)
            if w == 0 { shown = "\u{FFFD}"; w = 1 }
            if col + w > c.maxX || col + w > width { break }
            if col >= c.x && col >= 0 {
                self[col, y] = Cell(shown, style)
                if w == 2 { self[col + 1, y] = Cell.continuation }
            }
            col += w
        }
        return col
    }

    /// Fills a rectangle (clipped to the grid).
    public mutating func fill(_ r: Rect, with cell: Cell = Cell()) {
        for y in max(0, r.y)..<min(height, r.maxY) where r.maxY > max(0, r.y) {
            for x in max(0, r.x)..<min(width, r.maxX) where r.maxX > max(0, r.x) {
                self[x, y] = cell
            }
        }
    }

    /// Draws a single-line box on the edge of `r`, with an optional title on the top edge.
    /// `ascii` draws with + - | for terminals without line-drawing glyphs.
    public mutating func box(_ r: Rect, style: Style = .plain, title: String? = nil, titleStyle: Style? = nil, ascii: Bool = false) {
        guard r.width >= 2, r.height >= 2 else { return }
        let (h, v, tl, tr, bl, br) = ascii ? ("-", "|", "+", "+", "+", "+") : ("─", "│", "┌", "┐", "└", "┘")
        for x in r.x + 1..<r.maxX - 1 {
            self[x, r.y] = Cell(h, style)
            self[x, r.maxY - 1] = Cell(h, style)
        }
        for y in r.y + 1..<r.maxY - 1 {
            self[r.x, y] = Cell(v, style)
            self[r.maxX - 1, y] = Cell(v, style)
        }
        self[r.x, r.y] = Cell(tl, style); self[r.maxX - 1, r.y] = Cell(tr, style)
        self[r.x, r.maxY - 1] = Cell(bl, style); self[r.maxX - 1, r.maxY - 1] = Cell(br, style)
        if let title, r.width > 4 {
            put(" \(title) ", x: r.x + 2, y: r.y, style: titleStyle ?? style,
                clip: Rect(x: r.x + 1, y: r.y, width: r.width - 2, height: 1))
        }
    }

    /// The grid as plain text, one line per row, trailing spaces kept (for snapshot tests).
    public var text: String {
        (0..<height).map { y in (0..<width).map { self[$0, y].text }.joined() }.joined(separator: "\n")
    }
}
