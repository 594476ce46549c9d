// Reads keys and mouse events from curses without blocking: escape sequences and Alt-keys,
// control keys, function keys, clicks and the wheel; printable characters arriving together
// become one paste. Bench traces get each key's arrival time.

import CCurses
import Foundation

enum CursesInput {
    // Mouse masks (NCURSES_MOUSE_MASK(b, m) = m << ((b - 1) * 5)).
    static let button1Pressed: UInt = 0o2
    static let button1Clicked: UInt = 0o4
    static let button4Pressed: UInt = 0o2 << 15
    static let button5Pressed: UInt = 0o2 << 20
    /// The events the studio asks curses for.
    static let mouseMask = button1Pressed | button1Clicked | button4Pressed | button5Pressed

    /// Keys and mouse events waiting now (never blocks).
    /// `resized` is called on a terminal resize and returns the new size.
    static func read(resized: () -> (Int, Int)) -> [Msg] {
        wtimeout(stdscr, 0)
        var raw: [Msg] = []
        var ch: wint_t = 0
        while true {
            let r = wget_wch(stdscr, &ch)
            if r == ERR { break }
            let before = raw.count, readAt = StudioTrace.shared == nil ? 0 : StudioTrace.now
            defer {
                if let trace = StudioTrace.shared {
                    for case .key(let k) in raw[before...] { trace.key(k, at: readAt) }
                }
            }
            if r == KEY_CODE_YES {
                if let m = functionKey(Int32(ch), resized) { raw.append(m) }
                continue
            }
            if ch == 27 {
                // Alt-x arrives as ESC x; a lone ESC is Escape.
                wtimeout(stdscr, 15)
                var next: wint_t = 0
                let r2 = wget_wch(stdscr, &next)
                wtimeout(stdscr, 0)
                if r2 == OK, let s = Unicode.Scalar(next) {
                    if next == 127 || next == 8 { raw.append(.key(.altBackspace)) } else { raw.append(.key(.alt(Character(s)))) }
                } else if r2 == KEY_CODE_YES {
                    raw.append(.key(.escape))
                    if let m = functionKey(Int32(next), resized) { raw.append(m) }
                } else {
                    raw.append(.key(.escape))
                }
                continue
            }
            if let k = Self.controlKey(UInt32(ch)) { raw.append(.key(k)); continue }
            if let s = Unicode.Scalar(UInt32(ch)) { raw.append(.key(.char(Character(s)))) }
        }
        return Self.coalescePaste(raw)
    }

    static func controlKey(_ c: UInt32) -> Key? {
        switch c {
        case 9: return .tab
        case 10, 13: return .enter
        case 8, 127: return .backspace
        case 31: return .ctrl("_")
        case 0: return .ctrl(" ")
        case 1...26:
            guard let s = Unicode.Scalar(c + 96) else { return nil }
            return .ctrl(Character(s))
        case 28...30: return .ctrl("\\")
        default: return nil
        }
    }

    /// Printable characters arriving together (a paste, or tmux send-keys) become one paste.
    static func coalescePaste(_ msgs: [Msg]) -> [Msg] {
        var out: [Msg] = []
        var run = ""
        var count = 0
        func flush() {
            if count >= 4 { out.append(.key(.paste(run))) } else { out += run.map { .key(.char($0)) } }
            run = ""; count = 0
        }
        for m in msgs {
            if case .key(.char(let c)) = m { run.append(c); count += 1; continue }
            flush()
            out.append(m)
        }
        flush()
        return out
    }

    private static func functionKey(_ k: Int32, _ resized: () -> (Int, Int)) -> Msg? {
        switch k {
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_BTAB: return .key(.backTab)
        case KEY_ENTER: return .key(.enter)
        case KEY_RESIZE:
            let (w, h) = resized()
            return .resize(width: w, height: h)
        case KEY_MOUSE:
            var ev = MEVENT()
            guard getmouse(&ev) == OK else { return nil }
            let b = UInt(ev.bstate)
            if b & button4Pressed != 0 { return .scroll(x: Int(ev.x), y: Int(ev.y), delta: -1) }
            if b & button5Pressed != 0 { return .scroll(x: Int(ev.x), y: Int(ev.y), delta: 1) }
            if b & (button1Pressed | button1Clicked) != 0 { return .click(x: Int(ev.x), y: Int(ev.y)) }
            return nil
        default:
            if k >= KEY_F0 + 1 && k <= KEY_F0 + 12 { return .key(.function(Int(k - KEY_F0))) }
            return nil
        }
    }
}
