// Compute precision rows of `make bench` (scripts/bench.py, bench_precision): the precision
// argument, and one whole image from a cold start with its peak resident memory.

import Foundation
import LikenessEngine

/// Argument `i` as a ComputePrecision (fp32 when absent).
func precisionArgument(_ i: Int) throws -> ComputePrecision {
    guard i < args.count else { return .fp32 }
    guard let p = ComputePrecision(name: args[i]) else {
        FileHandle.standardError.write(Data("likeness-bench: precision must be fp32 or bf16, got \(args[i])\n".utf8))
        exit(2)
    }
    return p
}

/// Loads the pipeline at `precision` and generates one SIZExSIZE image (DDIM, guidance 5, seed 0),
/// reporting load and generation seconds and this process's peak RSS (bytes; `peakRSS`).
func benchImage(folder: URL, size: Int, steps: Int, precision: ComputePrecision) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let pipe = try LikenessPipeline(model: folder, precision: precision)
    let loaded = DispatchTime.now().uptimeNanoseconds
    let loadPeak = peakRSS()
    _ = try pipe.generate(imageRequest(size: size, steps: steps))
    let done = DispatchTime.now().uptimeNanoseconds
    report("image", [Double(done - loaded) / 1e9], extra: [
        "load_s": Double(loaded - start) / 1e9, "peak_rss_bytes": peakRSS(), "load_peak_rss_bytes": loadPeak,
        "precision": pipe.unet.precision.rawValue,
    ])
}

/// This process's peak resident memory so far, in bytes: VmHWM of /proc/self/status, the high-water
/// mark of this program's own memory. (getrusage's ru_maxrss is not used: Linux carries it over
/// exec from the process that forked, so a child of a large Python process would report that.)
func peakRSS() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
        return kb * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// The one-image request of the precision and memory rows: the bench prompt at SIZE x SIZE, no previews.
func imageRequest(size: Int, steps: Int) -> GenerationRequest {
    var request = GenerationRequest(prompt: "a red star on the beach, at the left")
    request.steps = steps
    request.width = size
    request.height = size
    request.allowUnknownWords = true
    request.previewEvery = 0
    return request
}
