// Per-op wall-time accounting for speed work: LIKENESS_PROFILE=1 makes the ops below add up the
// time they take, by name; `OpProfile.report()` returns the totals (likeness-bench prints them
// to stderr). Off by default, when it costs one branch per op.

import Foundation

public enum OpProfile {
    static let enabled = ProcessInfo.processInfo.environment["LIKENESS_PROFILE"] == "1"
    private static let lock = NSLock()
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]

    @inline(__always)
    static func start() -> UInt64 {
        enabled ? DispatchTime.now().uptimeNanoseconds : 0
    }

    @inline(__always)
    static func stop(_ name: String, _ start: UInt64) {
        guard enabled else { return }
        let dt = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.lock()
        let old = totals[name] ?? (0, 0)
        totals[name] = (old.seconds + dt, old.calls + 1)
        lock.unlock()
    }

    /// Totals since the last reset, largest first: one line per op (seconds, calls).
    public static func report() -> String {
        lock.lock(); defer { lock.unlock() }
        let sum = totals.values.reduce(0) { $0 + $1.seconds }
        return totals.sorted { $0.value.seconds > $1.value.seconds }.map { name, v in
            name.padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(format: " %8.3f s %5.1f%% %6d calls", v.seconds, 100 * v.seconds / max(sum, 1e-12), v.calls)
        }.joined(separator: "\n")
    }

    public static func reset() {
        lock.lock(); totals = [:]; lock.unlock()
    }
}
