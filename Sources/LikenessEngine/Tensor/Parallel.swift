// Thread control for the engine's CPU work. All parallelism is the engine's own, through a
// small spinning pool (parallelRun, CLikenessKernels/pool.c): large sgemms are split into
// per-thread blocks (OpenBLAS itself runs single-threaded, see BLASCore), as are elementwise,
// normalisation and im2col loops and attention units. Limits: one process-wide setting.

import CLikenessKernels
import Dispatch
import Foundation

/// Number of threads the engine uses for sgemm and its own loops.
public enum ComputeThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _count: Int = {
        // The affinity mask (taskset, cgroup cpusets) when known, else the online CPUs.
        let online = ProcessInfo.processInfo.activeProcessorCount
        let allowed = Int(lk_available_cpus())
        return max(1, allowed > 0 ? min(allowed, online) : online)
    }()

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

/// Chunks per thread of a `parallelChunks` loop that is large enough: the pool hands chunks out
/// as threads come free, so a thread the OS has preempted (other programs on the same cores) or
/// one with slower chunks no longer holds up the op by a whole thread's share.
let chunksPerThread = 4

/// Runs `body(range)` over `0..<n` split into contiguous chunks, in parallel when
/// the work is large enough. `minChunk` is the smallest number of items worth a chunk.
@inline(__always)
func parallelChunks(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard n > 0 else { return }
    let worth = max(1, n / max(1, minChunk))
    let threads = min(ComputeThreads.count, worth)
    if threads <= 1 {
        body(0..<n)
        return
    }
    let chunks = min(worth, threads * chunksPerThread)
    parallelRun(chunks, threads: threads) { c in
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

/// Runs `body(i)` for each `i` in `0..<n` on `threads` threads: the engine's spinning pool
/// (CLikenessKernels/pool.c) when it is free, else in turn on the calling thread (a nested call
/// from inside a pool job, or another thread's job in progress). LIKENESS_POOL=dispatch uses
/// Dispatch's concurrentPerform instead (no spinning between ops).
func parallelRun(_ n: Int, threads: Int, _ body: (Int) -> Void) {
    guard n > 0 else { return }
    if threads <= 1 || n == 1 {
        for i in 0..<n { body(i) }
        return
    }
    if !spinningPool {
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
        return
    }
    let ran = withoutActuallyEscaping(body) { escaping -> Int32 in
        let box = PoolTask(escaping)
        return withExtendedLifetime(box) {
            lk_pool_run(n, Int32(threads), { ctx, i in
                Unmanaged<PoolTask>.fromOpaque(ctx!).takeUnretainedValue().body(i)
            }, Unmanaged.passUnretained(box).toOpaque())
        }
    }
    if ran == 0 {
        for i in 0..<n { body(i) }
    }
}

private let spinningPool = ProcessInfo.processInfo.environment["LIKENESS_POOL"] != "dispatch"

private final class PoolTask {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}
