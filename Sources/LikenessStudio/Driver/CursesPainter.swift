// Paints a Frame with curses: the text grid, then sixel or kitty images on top (never text over
// image cells), then the 24-bit cells with their exact colours. Colours: extended pairs
// (alloc_pair) of xterm-256 (or 8) colours; none on terminals without colour. NO_COLOR is the
// theme's business (a colourless theme paints default-colour text), so image cells keep their
// colours. The CursesDriver sets curses up and tells the painter the screen size.

import CCurses
import Foundation
import LikenessImaging

final class CursesPainter {
    private let useColor: Bool
    private let colors: Int32
    private var pairs: [Int64: Int32] = [:]
    private var lastImages: [ImagePlacement] = []
    /// Whether `lastImages` went out through kitty's protocol.
    private var lastKitty = false
    private var lastTrueColor: [[Cell]] = []
    private var needImageRedraw = true
    /// The screen size in cells.
    var width: Int32
    var height: Int32

    // attr_t bits (NCURSES_BITS(1, n) = 1 << (n + 8)); the macros are not visible to Swift.
    private static let aUnderline: UInt32 = 1 << 17
    private static let aReverse: UInt32 = 1 << 18
    private static let aDim: UInt32 = 1 << 20
    private static let aBold: UInt32 = 1 << 21

    /// Cell size in pixels for sixel images.
    private let cellPixels: (width: Int, height: Int)

    /// Graphics go through tmux's passthrough.
    private let passthrough: Bool

    init(colors: Int32, width: Int32, height: Int32, cellPixels: (width: Int, height: Int), passthrough: Bool) {
        self.colors = colors
        useColor = colors >= 8
        self.width = width
        self.height = height
        self.cellPixels = cellPixels
        self.passthrough = passthrough
    }

    /// The next paint rewrites every cell and image (after a resize, or when the screen may be stale).
    func forceFullRedraw() {
        _ = clearok(stdscr, true)
        needImageRedraw = true
    }

    /// xterm's 16 standard colours (8 on terminals with 8).
    private static let basic: [RGB] = [
        RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0), RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205),
        RGB(229, 229, 229), RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0), RGB(255, 255, 0), RGB(92, 92, 255),
        RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255),
    ]

    private func colorIndex(_ c: RGB?) -> Int32 {
        guard let c else { return -1 }
        if colors >= 256 { return Int32(ImageLayer.xterm256Index(c)) }
        let n = colors >= 16 ? 16 : 8
        func d(_ p: RGB) -> Int {
            let r = Int(p.r) - Int(c.r), g = Int(p.g) - Int(c.g), b = Int(p.b) - Int(c.b)
            return r * r + g * g + b * b
        }
        return Int32(Self.basic.prefix(n).enumerated().min { d($0.element) < d($1.element) }?.offset ?? 7)
    }

    private static func luma(_ c: RGB) -> Int { (299 * Int(c.r) + 587 * Int(c.g) + 114 * Int(c.b)) / 1000 }

    private func pair(_ style: Style) -> Int32 {
        guard useColor else { return 0 }
        var fg = colorIndex(style.fg)
        let bg = colorIndex(style.bg)
        // With few colours, text and its background can land on the same one: keep it readable.
        if colors < 256, fg >= 0, fg == bg, let f = style.fg, let b = style.bg, f != b {
            fg = Self.luma(f) < Self.luma(b) ? 0 : (colors >= 16 ? 15 : 7)
        }
        if fg < 0 && bg < 0 { return 0 }
        let key = Int64(fg) << 32 | Int64(UInt32(bitPattern: bg))
        if let p = pairs[key] { return p }
        let p = alloc_pair(fg, bg)
        if p < 0 { return 0 }
        if pairs.count > 30000 { pairs.removeAll() }
        pairs[key] = p
        return p
    }

    private func apply(_ style: Style) {
        var attrs: UInt32 = 0
        if style.bold { attrs |= Self.aBold }
        if style.underline { attrs |= Self.aUnderline }
        if style.reverse { attrs |= Self.aReverse }
        if style.dim { attrs |= Self.aDim }
        var p = pair(style)
        _ = wattr_set(stdscr, attr_t(attrs), Int16(truncatingIfNeeded: min(p, 32767)), &p)
    }

    func paint(_ frame: Frame) {
        let g = frame.grid
        for y in 0..<min(g.height, Int(height)) {
            var x = 0
            while x < min(g.width, Int(width)) {
                let style = g[x, y].style
                var run = ""
                let start = x
                while x < min(g.width, Int(width)), g[x, y].style == style {
                    // The last cell of the screen is left alone (writing it would scroll).
                    if !(y == Int(height) - 1 && x == Int(width) - 1) { run += g[x, y].text }
                    x += 1
                }
                apply(style)
                _ = wmove(stdscr, Int32(y), Int32(start))
                _ = waddstr(stdscr, run)
            }
        }
        // The last cell is inserted instead (no cursor advance, so no scroll); left as it was, it
        // kept whatever the previous frame had there (seen after shrinking the window).
        let lx = Int(width) - 1, ly = Int(height) - 1
        if lx >= 0, ly >= 0, lx < g.width, ly < g.height, let ch = g[lx, ly].text.unicodeScalars.first,
           g[lx, ly].text.unicodeScalars.count == 1, ch.isASCII, ch.value >= 0x20, ch.value < 0x7F {
            apply(g[lx, ly].style)
            _ = wmove(stdscr, Int32(ly), Int32(lx))
            _ = winsch(stdscr, chtype(ch.value))
        }
        apply(.plain)
        if let c = frame.cursor {
            _ = wmove(stdscr, Int32(c.y), Int32(c.x))
            _ = curs_set(1)
        } else {
            _ = curs_set(0)
        }
        // A sixel that is gone (an overlay opened, the layout changed) still shows: curses thinks
        // its cells are blank and would not rewrite them. Its lines are repainted in full, which
        // also erases the other images on them, so then every image is written again.
        // Kitty's images are a layer of their own that text never erases: they are deleted by id.
        let gone = lastKitty ? [] : Self.removedImages(from: lastImages, to: frame.kitty ? [] : frame.images)
        for r in gone { _ = wredrawln(stdscr, Int32(r.y), Int32(r.height)) }
        _ = wrefresh(stdscr)
        let trueColor = frame.trueColorRects.map { r in (r.y..<r.maxY).flatMap { y in (r.x..<r.maxX).map { frame.grid[$0, y] } } }
        if frame.images != lastImages || frame.kitty != lastKitty || trueColor != lastTrueColor || needImageRedraw {
            if lastKitty || frame.kitty {
                writeKitty(old: lastKitty ? lastImages : [], new: frame.kitty ? frame.images : [], all: needImageRedraw)
            }
            // A sixel replaced in the same place is covered by its successor: only changed ones are written.
            if !frame.kitty {
                writeImages(needImageRedraw || !gone.isEmpty || lastKitty ? frame.images : frame.images.filter { !lastImages.contains($0) })
            }
            lastKitty = frame.kitty
            writeTrueColor(frame.grid, frame.trueColorRects)
            lastImages = frame.images
            lastTrueColor = trueColor
            needImageRedraw = false
            if let c = frame.cursor { _ = wmove(stdscr, Int32(c.y), Int32(c.x)); _ = wrefresh(stdscr) }
        }
    }

    /// The rectangles of `old` images that no image of `new` takes over (same place, same size).
    static func removedImages(from old: [ImagePlacement], to new: [ImagePlacement]) -> [Rect] {
        let kept = Set(new.map { Placed(rect: $0.rect, width: $0.image.width, height: $0.image.height) })
        return old.filter { !kept.contains(Placed(rect: $0.rect, width: $0.image.width, height: $0.image.height)) }.map(\.rect)
    }

    private struct Placed: Hashable { var rect: Rect; var width: Int; var height: Int }

    /// Kitty images: placement k has image id k + 1; a changed or gone one is deleted, a new or
    /// changed one sent. `all` starts from a clean slate (after a full repaint).
    private func writeKitty(old: [ImagePlacement], new: [ImagePlacement], all: Bool) {
        var out = Array("\u{1b}7".utf8)
        if all { out += wrap(KittyGraphics.deleteAll) }
        for i in 0..<max(old.count, new.count) {
            let changed = all || i >= old.count || i >= new.count || old[i] != new[i]
            guard changed else { continue }
            if !all && i < old.count { out += wrap(KittyGraphics.delete(id: i + 1)) }
            if i < new.count, let p = KittyGraphics.placement(new[i].image, in: new[i].rect, cellWidth: cellPixels.width,
                                                              cellHeight: cellPixels.height, id: i + 1) {
                out += wrap(p.cursor + p.image)
            }
        }
        out += Array("\u{1b}8".utf8)
        if !new.isEmpty && TerminalGuard.kittyCleanup.isEmpty { TerminalGuard.kittyCleanup = wrap(KittyGraphics.deleteAll) }
        FileHandle.standardOutput.write(Data(out))
    }

    /// A graphics sequence as the terminal must get it: inside tmux (the user asked for graphics
    /// there), in tmux's passthrough, which needs `set -g allow-passthrough on`.
    private func wrap(_ bytes: [UInt8]) -> [UInt8] { passthrough ? SixelOutput.tmuxPassthrough(bytes) : bytes }

    /// Sixel images at their cells, after the text (the grid leaves their cells blank).
    private func writeImages(_ images: [ImagePlacement]) {
        let placements = images.compactMap {
            try? ImageLayer.sixelPlacement($0.image, in: $0.rect, cellWidth: cellPixels.width, cellHeight: cellPixels.height)
        }
        let out = SixelOutput.frame(placements, passthrough: passthrough)
        if !out.isEmpty { FileHandle.standardOutput.write(Data(out)) }
    }

    /// Rewrites 24-bit cells with their exact colours. ESC 7 / ESC 8 save and restore the cursor
    /// and the SGR state, so curses' idea of the terminal stays true.
    private func writeTrueColor(_ g: CellGrid, _ rects: [Rect]) {
        guard useColor, !rects.isEmpty else { return }
        var out = "\u{1b}7"
        for r in rects {
            for y in max(0, r.y)..<min(r.maxY, Int(height)) {
                out += "\u{1b}[\(y + 1);\(r.x + 1)H"
                var last: Style?
                for x in max(0, r.x)..<min(r.maxX, Int(width)) {
                    let cell = g[x, y]
                    if y == Int(height) - 1 && x == Int(width) - 1 { break }
                    if cell.style != last {
                        out += "\u{1b}[0"
                        if let f = cell.style.fg { out += ";38;2;\(f.r);\(f.g);\(f.b)" }
                        if let b = cell.style.bg { out += ";48;2;\(b.r);\(b.g);\(b.b)" }
                        out += "m"
                        last = cell.style
                    }
                    out += cell.text.isEmpty ? "" : cell.text
                }
            }
        }
        out += "\u{1b}[0m\u{1b}8"
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
