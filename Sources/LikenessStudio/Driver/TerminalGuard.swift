// The terminal is restored on every way out: normal exit (StudioApp calls restore), SIGTERM,
// SIGHUP, SIGINT sent from outside (Ctrl-C itself is a key in raw mode), and crash signals
// (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE), which then re-raise with the default action.

import CCurses
import Foundation

enum TerminalGuard {
    nonisolated(unsafe) private static var active = false
    /// Bytes that delete the kitty images shown (set by the driver once it shows one): they stay
    /// on screen until deleted, so restore writes these.
    nonisolated(unsafe) static var kittyCleanup: [UInt8] = []

    static func install() {
        active = true
        for sig in [SIGTERM, SIGHUP, SIGINT, SIGQUIT] { signal(sig, terminationHandler) }
        for sig in [SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE] { signal(sig, crashHandler) }
    }

    static func restore() {
        guard active else { return }
        active = false
        if !kittyCleanup.isEmpty {
            // write(2) only: this also runs in signal handlers.
            kittyCleanup.withUnsafeBufferPointer { _ = write(1, $0.baseAddress, $0.count) }
        }
        _ = curs_set(1)
        _ = endwin()
    }
}

private func terminationHandler(_ sig: Int32) {
    TerminalGuard.restore()
    StudioTrace.finish()
    _exit(128 + sig)
}

private func crashHandler(_ sig: Int32) {
    TerminalGuard.restore()
    signal(sig, SIG_DFL)
    raise(sig)
}
