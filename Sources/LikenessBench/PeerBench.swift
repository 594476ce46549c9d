// The native peer's rows of `make bench` (scripts/bench.py, bench_peer): one image from a single
// file in a fresh process, with its load time, the time of each sampling step and the peak resident
// memory, the same quantities the bench reads from stable-diffusion.cpp in its own fresh process.

import Foundation
import LikenessEngine

/// Loads MODEL (a single file or a folder) at `precision` and generates one SIZExSIZE image with
/// `steps` Euler steps (guidance 5, seed 0). Reports the seconds of each step (from one step event
/// to the next; the first from the start of the request, so it includes the text encode), load and
/// generation seconds, and this process's peak RSS (`peakRSS`); `cpu_times`: the process's CPU
/// seconds (all threads, user and system) over each step, which a busy machine changes less than
/// the wall time.
func benchPeerImage(model: URL, size: Int, steps: Int, precision: ComputePrecision) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let pipe = try LikenessPipeline(model: model, precision: precision)
    let loaded = DispatchTime.now().uptimeNanoseconds
    var request = GenerationRequest(prompt: "a red star on the beach, at the left")
    request.steps = steps
    request.sampler = .euler
    request.width = size
    request.height = size
    request.allowUnknownWords = true
    request.preview = .none
    request.previewEvery = 0
    var marks: [UInt64] = [loaded], cpu: [Double] = [processCPUSeconds()]
    _ = try pipe.generate(request, onStep: { _ in
        marks.append(DispatchTime.now().uptimeNanoseconds)
        cpu.append(processCPUSeconds())
    })
    let done = DispatchTime.now().uptimeNanoseconds
    let stepTimes = zip(marks.dropFirst(), marks).map { Double($0 - $1) / 1e9 }
    report("peer", stepTimes, extra: [
        "cpu_times": zip(cpu.dropFirst(), cpu).map { $0 - $1 }, "load_s": Double(loaded - start) / 1e9, "generate_s": Double(done - loaded) / 1e9,
        "peak_rss_bytes": peakRSS(), "precision": pipe.unet.precision.rawValue, "threads": ComputeThreads.count,
    ])
}

/// CPU seconds this process has used so far, all threads (CLOCK_PROCESS_CPUTIME_ID).
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
