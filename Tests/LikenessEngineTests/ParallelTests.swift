// The engine's thread pool (parallelRun over CLikenessKernels/pool.c): every index runs exactly
// once, whatever the job sizes, nesting and number of submitting threads.

import Dispatch
import Foundation
import XCTest
@testable import LikenessEngine

final class ParallelTests: XCTestCase {
    /// Counts how often each index ran; safe to call from any thread.
    private final class Hits: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [Int]
        init(_ n: Int) { counts = Array(repeating: 0, count: n) }
        func hit(_ i: Int) { lock.lock(); counts[i] += 1; lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return counts }
    }

    func testEveryIndexRunsOnceAcrossManyJobs() {
        for n in [1, 2, 3, 7, 64, 1000] {
            for _ in 0..<200 {
                let hits = Hits(n)
                parallelRun(n, threads: 2) { hits.hit($0) }
                XCTAssertEqual(hits.all, Array(repeating: 1, count: n), "n = \(n)")
            }
        }
    }

    func testMoreThreadsThanCores() {
        let hits = Hits(5000)
        parallelRun(5000, threads: 3) { i in
            var x = Double(i)
            for _ in 0..<100 { x = (x * 1.0000001).squareRoot() + 1 }
            if x > 0 { hits.hit(i) }
        }
        XCTAssertEqual(hits.all, Array(repeating: 1, count: 5000))
    }

    func testNestedCallsRunInline() {
        let outer = 16, inner = 50
        let hits = Hits(outer * inner)
        parallelRun(outer, threads: 2) { o in
            parallelRun(inner, threads: 2) { i in hits.hit(o * inner + i) }
        }
        XCTAssertEqual(hits.all, Array(repeating: 1, count: outer * inner))
    }

    func testConcurrentSubmitters() {
        // Four threads submit jobs at once: one holds the pool, the others run their loops
        // themselves; nothing is lost or run twice.
        let jobs = 4, rounds = 100, n = 97
        let hits = (0..<jobs).map { _ in Hits(rounds * n) }
        DispatchQueue.concurrentPerform(iterations: jobs) { j in
            for r in 0..<rounds {
                parallelRun(n, threads: 2) { i in hits[j].hit(r * n + i) }
            }
        }
        for j in 0..<jobs {
            XCTAssertEqual(hits[j].all, Array(repeating: 1, count: rounds * n), "submitter \(j)")
        }
    }

    func testParallelChunksCoverTheRange() {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        for threads in [1, 2, 3] {
            ComputeThreads.set(threads)
            let hits = Hits(1001)
            parallelChunks(1001) { range in for i in range { hits.hit(i) } }
            XCTAssertEqual(hits.all, Array(repeating: 1, count: 1001), "\(threads) threads")
        }
    }

    func testLargeChunksAreSplitBeyondOnePerThread() {
        // A loop worth many chunks gets several per thread (handed out as threads come free),
        // each index still exactly once.
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(2)
        let n = 100_000, lock = NSLock()
        var ranges: [Range<Int>] = []
        let hits = Hits(n)
        parallelChunks(n, minChunk: 1000) { r in
            lock.lock(); ranges.append(r); lock.unlock()
            for i in r { hits.hit(i) }
        }
        XCTAssertEqual(ranges.count, 2 * chunksPerThread)
        XCTAssertEqual(hits.all, Array(repeating: 1, count: n))
    }

    func testThreadedConcatAndChunkCopyExactly() {
        // Copies above the threaded size (64 channels of 48x48 per image): concatChannels and
        // chunkChannels on 2 threads against index-by-index expectations, and against 1 thread.
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        var g = TorchGenerator(seed: 3)
        let a = Tensor(shape: [2, 64, 48, 48], storage: g.randn(2 * 64 * 48 * 48))!
        let b = Tensor(shape: [2, 32, 48, 48], storage: g.randn(2 * 32 * 48 * 48))!
        var results: [Tensor] = []
        for threads in [2, 1] {
            ComputeThreads.set(threads)
            let cat = Ops.concatChannels([a, b])
            XCTAssertEqual(cat.shape, [2, 96, 48, 48])
            for (bi, c, y, x) in [(0, 0, 0, 0), (1, 63, 47, 47), (1, 64, 0, 5), (0, 95, 20, 30), (1, 10, 33, 1)] {
                let want = c < 64 ? a[bi, c, y, x] : b[bi, c - 64, y, x]
                XCTAssertEqual(cat[bi, c, y, x], want, "cat[\(bi), \(c), \(y), \(x)], \(threads) threads")
            }
            let (lo, hi) = Ops.chunkChannels(Ops.concatChannels([a, a]))
            XCTAssertEqual(lo, a, "\(threads) threads")
            XCTAssertEqual(hi, a, "\(threads) threads")
            results.append(cat)
        }
        XCTAssertEqual(results[0], results[1])
    }
}
