// Runs TerminalDetect on a real terminal: the input descriptor goes to raw mode (no echo, no
// line buffering, no signal keys, reads return at once) for the query, poll() waits for answers with the time
// left, and the saved termios is put back on every path. Call it before curses starts. When
// the terminal does not report its cell size, TIOCGWINSZ's pixel size divided by its cells is used.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum TerminalTTY {
    /// Detects on `input`/`output` (both must be the terminal; stdin and stdout by default).
    /// When either is not a terminal, returns the environment's guess without writing anything.
    public static func detect(input: Int32 = 0, output: Int32 = 1,
                              env: [String: String] = ProcessInfo.processInfo.environment,
                              timeoutMs: Int = 200, kitty: Bool = false)
        -> (capabilities: TerminalCapabilities, unconsumed: [UInt8]) {
        guard isatty(input) == 1, isatty(output) == 1 else { return (TerminalDetect.fromEnvironment(env), []) }
        var saved = termios()
        guard tcgetattr(input, &saved) == 0 else { return (TerminalDetect.fromEnvironment(env), []) }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)  // Ctrl-C arrives as a byte (in `unconsumed`)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSANOW, &raw) == 0 else { return (TerminalDetect.fromEnvironment(env), []) }
        defer { _ = tcsetattr(input, TCSANOW, &saved) }
        var result = TerminalDetect.detectWithInput(
            env: env, write: { writeAll(output, $0) }, read: { readAvailable(input, timeoutMs: $0) }, timeoutMs: timeoutMs,
            kitty: kitty)
        if result.capabilities.cellPixelWidth == nil, let cell = cellSizeFromWindow(output) {
            result.capabilities.cellPixelWidth = cell.width
            result.capabilities.cellPixelHeight = cell.height
        }
        return result
    }

    /// Cell size in pixels from TIOCGWINSZ, when the terminal fills in ws_xpixel/ws_ypixel.
    public static func cellSizeFromWindow(_ fd: Int32) -> (width: Int, height: Int)? {
        var ws = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0, ws.ws_xpixel > 0, ws.ws_ypixel > 0
        else { return nil }
        let w = Int(ws.ws_xpixel) / Int(ws.ws_col), h = Int(ws.ws_ypixel) / Int(ws.ws_row)
        return w > 0 && h > 0 ? (w, h) : nil
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 { off += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }

    /// Waits up to `timeoutMs` for input, then reads what is there; nil on timeout or error.
    static func readAvailable(_ fd: Int32, timeoutMs: Int) -> [UInt8]? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var r: Int32
        repeat { r = poll(&p, 1, Int32(clamping: timeoutMs)) } while r < 0 && errno == EINTR
        guard r > 0, p.revents & Int16(POLLIN) != 0 else { return nil }
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buf[0..<n]) : nil
    }
}
