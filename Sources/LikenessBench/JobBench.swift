// Job-layer benchmarks for `make bench` (scripts/bench.py prints them as ratios and percentiles):
//   seeds FOLDER STEPS N SIZE      N seeds in one batched job against N one-seed jobs
//   cancel FOLDER STEPS SAMPLES SIZE   time from cancel() to the .cancelled event, cancelling at
//                                  evenly spread points inside the second step
//   wakeup FOLDER STEPS SIZE       how late a thread sleeping 5 ms wakes while a job runs, against
//                                  the same loop with the engine idle (the front end's UI thread)
//   encode FOLDER REPEATS          one object encoder pass (reference pixels drawn with seed 0)
// Every job uses the engine's defaults (niced worker and pool threads, all cores).

import Foundation
import LikenessEngine

final class Events: @unchecked Sendable {
    let lock = NSLock()
    var cancelledAt: UInt64?
    var firstStepAt: UInt64?
    var stepStarts: [UInt64] = []
    func mark(_ body: (Events) -> Void) { lock.lock(); body(self); lock.unlock() }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func benchRequest(_ pipe: LikenessPipeline, steps: Int, size: Int) -> GenerationRequest {
    var r = GenerationRequest(prompt: "a red star on the beach, at the left")
    r.steps = steps
    r.allowUnknownWords = true
    r.preview = .none
    r.width = size == 0 ? nil : size
    r.height = size == 0 ? nil : size
    return r
}

func benchSeeds(folder: URL, steps: Int, n: Int, size: Int) throws {
    let pipe = try LikenessPipeline(folder: folder)
    var r = benchRequest(pipe, steps: steps, size: size)
    r.seeds = [0]
    _ = try pipe.generate(r) // warm-up (also caches the prompt encoding for both sides)
    r.seeds = (0..<n).map(UInt64.init)
    let batched = try seconds { _ = try pipe.generate(r) }
    let single = try seconds {
        for s in 0..<n {
            var one = r
            one.seed = UInt64(s)
            _ = try pipe.generate(one)
        }
    }
    report("seeds", [batched], extra: ["batched_s": batched, "single_s": single, "seeds": n, "steps": steps])
}

func benchCancel(folder: URL, steps: Int, samples: Int, size: Int) throws {
    let pipe = try LikenessPipeline(folder: folder)
    let engine = GenerationEngine(pipeline: pipe)
    let r = benchRequest(pipe, steps: steps, size: size)
    // One full step's duration, to place the cancellations inside a step.
    let probe = Events()
    var timing = r
    timing.steps = 2
    engine.submit(timing) { e in
        if case .step = e { probe.mark { $0.stepStarts.append(now()) } }
    }.wait()
    let stepNs = probe.stepStarts.count == 2 ? probe.stepStarts[1] - probe.stepStarts[0] : 1_000_000_000
    var latencies: [Double] = []
    for i in 0..<samples {
        let ev = Events()
        let firstStep = DispatchSemaphore(value: 0)
        let job = engine.submit(r) { e in
            switch e {
            case .step(let s) where s.step == 1: ev.mark { $0.firstStepAt = now() }; firstStep.signal()
            case .cancelled: ev.mark { $0.cancelledAt = now() }
            default: break
            }
        }
        firstStep.wait()
        // Spread the cancellation points over the second step.
        let offset = stepNs * UInt64(i + 1) / UInt64(samples + 1)
        Thread.sleep(forTimeInterval: Double(offset) / 1e9)
        let t0 = now()
        job.cancel()
        job.wait()
        if let t1 = ev.cancelledAt { latencies.append(Double(t1 - t0) / 1e9) }
    }
    report("cancel", latencies, extra: ["step_s": Double(stepNs) / 1e9, "max": latencies.max() ?? 0])
}

/// Oversleep of a 5 ms sleep, repeated for `duration` seconds.
func oversleeps(for duration: Double) -> [Double] {
    var out: [Double] = []
    let end = now() + UInt64(duration * 1e9)
    while now() < end {
        let t0 = now()
        usleep(5000)
        out.append(max(0, Double(now() - t0) / 1e9 - 0.005))
    }
    return out.sorted()
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func benchWakeup(folder: URL, steps: Int, size: Int) throws {
    let pipe = try LikenessPipeline(folder: folder)
    let engine = GenerationEngine(pipeline: pipe)
    let idle = oversleeps(for: 2)
    let started = DispatchSemaphore(value: 0)
    let job = engine.submit(benchRequest(pipe, steps: steps, size: size)) { e in
        if case .started = e { started.signal() }
    }
    started.wait()
    var busy: [Double] = []
    let end = now() + 4_000_000_000
    while now() < end { busy += oversleeps(for: 0.25) }
    job.cancel()
    job.wait()
    busy.sort()
    report("wakeup", busy, extra: ["idle_p50": percentile(idle, 0.5), "idle_p99": percentile(idle, 0.99),
                                   "busy_p50": percentile(busy, 0.5), "busy_p99": percentile(busy, 0.99),
                                   "samples": busy.count])
}

func benchEncode(folder: URL, repeats: Int) throws {
    let pipe = try LikenessPipeline(folder: folder)
    guard let size = pipe.objectImageSize else {
        throw GenerationError.noObjectEncoder(model: folder.path)
    }
    var g = TorchGenerator(seed: 0)
    let pixels = Tensor(shape: [1, 3, size, size], storage: g.rand(3 * size * size))!
    let t = try measure(repeats) { _ = try pipe.encodeObject(pixels: pixels) }
    report("encode", t)
}
