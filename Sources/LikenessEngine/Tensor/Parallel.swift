// Thread control for the engine's CPU work. All parallelism is the engine's own, through
// DispatchQueue.concurrentPerform: large sgemms are split into per-thread blocks (OpenBLAS
// itself runs single-threaded, see BLASCore), as are elementwise, normalisation and im2col
// loops and attention heads. Limits: one process-wide setting.

import Dispatch
import Foundation

/// Number of threads the engine uses for sgemm and its own loops.
public enum ComputeThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _count: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Current thread count.
    public static var count: Int {
        lock.lock(); defer { lock.unlock() }
        return _count
    }

    /// Sets the number of threads the engine's loops and sgemm splits use (clamped to >= 1).
    public static func set(_ n: Int) {
        let value = max(1, n)
        lock.lock()
        _count = value
        lock.unlock()
    }
}

/// Runs `body(range)` over `0..<n` split into contiguous chunks, in parallel when
/// the work is large enough. `minChunk` is the smallest number of items worth a thread.
@inline(__always)
func parallelChunks(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard n > 0 else { return }
    let threads = min(ComputeThreads.count, max(1, n / max(1, minChunk)))
    if threads <= 1 {
        body(0..<n)
        return
    }
    let chunks = threads
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = n * c / chunks
        let hi = n * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}

/// Runs `body(i)` for each `i` in `0..<n`, spread over the engine's threads.
@inline(__always)
func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
    parallelChunks(n, minChunk: minChunk) { range in
        for i in range { body(i) }
    }
}
