// The bytes the driver writes after curses has painted a frame, to put images on top:
// synchronized output (CSI ? 2026 h ... l: terminals that know it show the frame at once,
// others ignore it), cursor saved (ESC 7) and restored (ESC 8) so curses' idea of the cursor
// stays true, and each image at its cell (CSI row;col H, 1-based). `erase` blanks cells by
// writing spaces, for terminals that keep sixels through a clear (Konsole, Contour).
// `tmuxPassthrough` wraps a sequence for tmux's passthrough (allow-passthrough on), for a user
// who forces sixel inside tmux.

public enum SixelOutput {
    public static let beginSynchronized: [UInt8] = Array("\u{1b}[?2026h".utf8)
    public static let endSynchronized: [UInt8] = Array("\u{1b}[?2026l".utf8)
    static let saveCursor: [UInt8] = [0x1B, UInt8(ascii: "7")]
    static let restoreCursor: [UInt8] = [0x1B, UInt8(ascii: "8")]

    /// Moves the cursor to 0-based cell (x, y): `ESC [ y+1 ; x+1 H`.
    public static func cursorTo(x: Int, y: Int) -> [UInt8] {
        Array("\u{1b}[\(max(0, y) + 1);\(max(0, x) + 1)H".utf8)
    }

    /// Everything to write after painting: each placement's sixel at its rectangle's origin.
    /// `passthrough` wraps each image for tmux.
    public static func frame(_ images: [SixelPlacement], synchronized: Bool = true, passthrough: Bool = false) -> [UInt8] {
        guard !images.isEmpty else { return [] }
        var out: [UInt8] = []
        if synchronized { out += beginSynchronized }
        out += saveCursor
        for img in images {
            // Through tmux the cursor move goes along: tmux moves the outer terminal's cursor only
            // when it next draws, so the pane must sit at the window's top-left (one pane).
            let seq = cursorTo(x: img.rect.x, y: img.rect.y) + img.bytes
            out += passthrough ? tmuxPassthrough(seq) : seq
        }
        out += restoreCursor
        if synchronized { out += endSynchronized }
        return out
    }

    /// Spaces in default colours over `rect`, cursor saved and restored.
    public static func erase(_ rect: Rect) -> [UInt8] {
        guard rect.width > 0, rect.height > 0 else { return [] }
        var out = saveCursor + Array("\u{1b}[0m".utf8)
        let blank = [UInt8](repeating: 0x20, count: rect.width)
        for y in rect.y..<rect.maxY {
            out += cursorTo(x: rect.x, y: y)
            out += blank
        }
        return out + restoreCursor
    }

    /// `ESC P tmux; <sequence with every ESC doubled> ESC \`.
    public static func tmuxPassthrough(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = Array("\u{1b}Ptmux;".utf8)
        out.reserveCapacity(bytes.count + bytes.count / 64 + 16)
        for b in bytes {
            if b == 0x1B { out.append(0x1B) }
            out.append(b)
        }
        return out + [0x1B, UInt8(ascii: "\\")]
    }
}
