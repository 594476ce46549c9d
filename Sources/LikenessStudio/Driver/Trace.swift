// Timing trace for `make bench` (scripts/studio_bench.py): with LIKENESS_STUDIO_TRACE=/path/file
// the driver records keys as read from curses, frames once they are on screen, the first frame
// showing each preview step, and the frame showing a run's final images, each with a monotonic
// timestamp in nanoseconds. Events stay in memory; the file is written when the studio exits
// (normally or on a termination signal), as a temporary file renamed into place. One line each:
//     key <ns> <name> | frame <ns> | preview <ns> <step> | finished <ns>
// Without the variable `StudioTrace.shared` is nil and each call site costs one nil check.

import Foundation

final class StudioTrace {
    enum Event: Equatable {
        case key(UInt64, String)
        case frame(UInt64)
        case preview(UInt64, step: Int)
        case finished(UInt64)
    }

    /// Set once at start, before curses; read on the UI thread and by the exit paths.
    nonisolated(unsafe) static var shared: StudioTrace?

    let path: String
    private(set) var events: [Event] = []
    /// Per run: the highest preview step already shown, and whether its final images were.
    private var shownStep: (run: Int, step: Int, finished: Bool) = (-1, 0, false)
    private var written = false

    init(path: String) {
        self.path = path
        events.reserveCapacity(1 << 16)
    }

    static func start(environment env: [String: String]) {
        guard let p = env["LIKENESS_STUDIO_TRACE"], !p.isEmpty else { return }
        shared = StudioTrace(path: p)
    }

    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    func key(_ k: Key, at ns: UInt64 = StudioTrace.now) { events.append(.key(ns, Self.name(k))) }

    /// A frame is on screen; `state` is what it shows.
    func frame(_ state: StudioState, at ns: UInt64 = StudioTrace.now) {
        events.append(.frame(ns))
        guard let r = state.run else { return }
        if r.plan.runID != shownStep.run { shownStep = (r.plan.runID, 0, false) }
        let step = r.cells.filter { $0.image != nil && !$0.done }.map(\.step).max() ?? 0
        if step > shownStep.step {
            shownStep.step = step
            events.append(.preview(ns, step: step))
        }
        if !shownStep.finished, !r.cells.isEmpty, r.cells.allSatisfy({ $0.done && $0.image != nil }) {
            shownStep.finished = true
            events.append(.finished(ns))
        }
    }

    /// One word: the key's label without spaces ("a", "Ctrl-G", "Enter", "U+0020" for a space).
    static func name(_ k: Key) -> String {
        if case .paste(let s) = k { return "paste:\(s.unicodeScalars.count)" }
        let label = k.label
        if label.isEmpty || label.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 32 || $0.value == 127 }) {
            return label.unicodeScalars.map { String(format: "U+%04X", $0.value) }.joined(separator: ",")
        }
        return label
    }

    static func line(_ e: Event) -> String {
        switch e {
        case let .key(ns, name): return "key \(ns) \(name)"
        case .frame(let ns): return "frame \(ns)"
        case let .preview(ns, step): return "preview \(ns) \(step)"
        case .finished(let ns): return "finished \(ns)"
        }
    }

    var text: String { events.map { Self.line($0) + "\n" }.joined() }

    /// Writes the events to a temporary file beside `path` and renames it into place (once).
    @discardableResult
    func write() -> Bool {
        guard !written else { return true }
        written = true
        let tmp = "\(path).tmp.\(getpid())"
        let bytes = Array(text.utf8)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { close(fd); unlink(tmp); return false }
            off += n
        }
        guard fsync(fd) == 0 || errno == EINVAL, close(fd) == 0 else { unlink(tmp); return false }
        guard rename(tmp, path) == 0 else { unlink(tmp); return false }
        return true
    }

    /// At exit (normal or a termination signal): writes the trace if there is one.
    static func finish() {
        if let t = shared { _ = t.write() }
    }
}
