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
}
