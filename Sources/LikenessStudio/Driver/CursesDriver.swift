// The only code that talks to curses directly, with CursesPainter (painting a Frame) and
// CursesInput (reading keys and mouse events): sets the terminal up, follows its size and
// restores it at the end.

import CCurses
import Foundation

final class CursesDriver {
    let painter: CursesPainter
    private(set) var width: Int32 = 0
    private(set) var height: Int32 = 0

    init(cellPixels: (width: Int, height: Int) = (10, 20), passthrough: Bool = false) {
        setlocale(LC_ALL, "")
        _ = initscr()
        TerminalGuard.install()
        _ = raw()
        _ = noecho()
        _ = nonl()
        _ = keypad(stdscr, true)
        _ = set_escdelay(25)
        _ = curs_set(0)
        _ = mousemask(mmask_t(CursesInput.mouseMask), nil)
        _ = mouseinterval(0)
        var colors: Int32 = 0
        if has_colors() {
            _ = start_color()
            _ = use_default_colors()
            colors = COLORS
        }
        width = getmaxx(stdscr)
        height = getmaxy(stdscr)
        painter = CursesPainter(colors: colors, width: width, height: height, cellPixels: cellPixels, passthrough: passthrough)
    }

    func end() {
        TerminalGuard.restore()
    }

    func paint(_ frame: Frame) { painter.paint(frame) }

    /// Keys and mouse events waiting now (never blocks); a resize repaints everything next.
    func readInput() -> [Msg] {
        CursesInput.read { [self] in
            width = getmaxx(stdscr)
            height = getmaxy(stdscr)
            painter.width = width
            painter.height = height
            painter.forceFullRedraw()
            return (Int(width), Int(height))
        }
    }
}
