// What the panes draw with: the Canvas (grid, theme, images placed, cursor) and the text helpers
// for clipping and wrapping to cell widths.

import LikenessImaging

/// Drawing context shared by the panes.
struct Canvas {
    var grid: CellGrid
    var images: [ImagePlacement] = []
    var cursor: (x: Int, y: Int)?
    var trueColorRects: [Rect] = []
    let theme: Theme
    let ascii: Bool
    let mode: PreviewMode

    func style(_ role: ThemeRole) -> Style { theme.style(role) }

    mutating func put(_ text: String, x: Int, y: Int, _ role: ThemeRole, clip: Rect? = nil) -> Int {
        grid.put(ascii ? asciiOnly(text) : text, x: x, y: y, style: theme.style(role), clip: clip)
    }

    mutating func put(_ text: String, x: Int, y: Int, style: Style, clip: Rect? = nil) -> Int {
        grid.put(ascii ? asciiOnly(text) : text, x: x, y: y, style: style, clip: clip)
    }

    /// A pane frame: border (accented when focused) and title.
    mutating func pane(_ r: Rect, title: String, focused: Bool) {
        grid.fill(r, with: Cell(" ", theme.style(.text)))
        grid.box(r, style: theme.style(focused ? .focusBorder : .border), title: ascii ? asciiOnly(title) : title,
                 titleStyle: theme.style(focused ? .focusBorder : .title), ascii: ascii)
    }

    /// Text on a box's bottom edge, right-aligned.
    mutating func bottomNote(_ r: Rect, _ text: String, _ role: ThemeRole) {
        guard r.width > 6, !text.isEmpty else { return }
        let t = " " + clipped(text, r.width - 4) + " "
        _ = put(t, x: r.maxX - 2 - cellWidth(of: t), y: r.maxY - 1, role)
    }

    /// An image into `rect`: blocks or ASCII into the grid, or a sixel placement (grid left blank).
    mutating func image(_ img: RGBImage, in rect: Rect) {
        guard rect.width > 0, rect.height > 0 else { return }
        if mode.isGraphics {
            ImageLayer.draw(img, into: &grid, rect: rect, mode: mode, background: theme.style(.text))
            images.append(ImagePlacement(rect: rect, image: img))
            return
        }
        let covered = ImageLayer.draw(img, into: &grid, rect: rect, mode: mode, background: theme.style(.text))
        if mode == .halfblockTruecolor && covered.width > 0 { trueColorRects.append(covered) }
    }
}

/// `s` cut to `width` cells, with … when cut.
func clipped(_ s: String, _ width: Int) -> String {
    guard width > 0 else { return "" }
    if cellWidth(of: s) <= width { return s }
    var out = "", w = 0
    for ch in s {
        let cw = cellWidth(of: ch)
        if w + cw > width - 1 { break }
        out.append(ch); w += cw
    }
    return out + "…"
}

/// Splits text into lines of at most `width` cells, at spaces where possible.
func wrapWords(_ s: String, _ width: Int) -> [String] {
    guard width > 0 else { return [] }
    var lines: [String] = []
    for para in s.split(separator: "\n", omittingEmptySubsequences: false) {
        var line = ""
        for word in para.split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            if line.isEmpty { line = w } else if cellWidth(of: line) + 1 + cellWidth(of: w) <= width { line += " " + w } else {
                lines.append(line); line = w
            }
            while cellWidth(of: line) > width {
                lines.append(String(line.prefix(width))); line = String(line.dropFirst(width))
            }
        }
        lines.append(line)
    }
    return lines
}

/// The interface's own symbols in ASCII, for locales without UTF-8 (user text passes through).
func asciiOnly(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: { $0.value > 0x7E }) else { return s }
    var out = ""
    for ch in s {
        switch ch {
        case "…": out += "..."
        case "·": out += "-"
        case "●": out += "*"
        case "▸", "›": out += ">"
        case "‹": out += "<"
        case "█": out += "#"
        case "░": out += "."
        case "←": out += "<"
        case "→": out += ">"
        case "↑": out += "^"
        case "↓": out += "v"
        case "×": out += "x"
        default: out.append(ch.isASCII ? ch : "?")
        }
    }
    return out
}
