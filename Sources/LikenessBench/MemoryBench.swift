// Memory rows of `make bench` (scripts/bench.py, bench_memory): where the resident memory of one
// image goes, phase by phase, and how long the model takes to load and reach its first step.
//
//   memory FOLDER SIZE STEPS fp32|bf16 [keep|denoiser|release]
//                                          one SIZExSIZE image (DDIM, guidance 5, seed 0) from a
//                                          cold start; per phase the peak resident memory (VmHWM,
//                                          reset between phases through /proc/self/clear_refs);
//                                          the pipeline's WeightResidency (default keep; the
//                                          studio runs `denoiser`, `likeness generate` `release`)
//   weights FOLDER fp32|bf16               resident memory added by loading the text encoder, the
//                                          UNet and the VAE one after the other (VmRSS deltas)

import Foundation
import LikenessEngine

/// This process's resident memory now (VmRSS of /proc/self/status), in bytes; 0 when unreadable.
func currentRSS() -> Int { procStatusBytes("VmRSS:") }

/// A "Vm...:  N kB" line of /proc/self/status, in bytes; 0 when absent.
func procStatusBytes(_ field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}

/// Starts a new peak: the kernel sets VmHWM back to the current VmRSS (writing 5 to clear_refs).
/// Returns whether it could.
@discardableResult
func resetPeakRSS() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
    return true
}

/// Argument `i` as a WeightResidency (keep when absent).
func residencyArgument(_ i: Int) throws -> WeightResidency {
    guard i < args.count else { return .keepAll }
    guard let r = WeightResidency(rawValue: args[i]) else {
        let names = WeightResidency.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("likeness-bench: residency must be one of \(names), got \(args[i])\n".utf8))
        exit(2)
    }
    return r
}

func benchMemory(folder: URL, size: Int, steps: Int, precision: ComputePrecision, residency: WeightResidency) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    func since() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    let baseline = currentRSS()
    let pipe = try LikenessPipeline(model: folder, precision: precision)
    pipe.weightResidency = residency
    let loadS = since()
    let loadPeak = peakRSS(), loaded = currentRSS()
    let canReset = resetPeakRSS()
    let request = imageRequest(size: size, steps: steps)
    var firstStepS = 0.0, stepsPeak = 0, afterSteps = 0
    _ = try pipe.generate(request, onStep: { event in
        if event.step == 1 { firstStepS = since() }
        if event.step == event.total {
            stepsPeak = peakRSS()
            afterSteps = currentRSS()
            resetPeakRSS()
        }
    })
    let total = since()
    let decodePeak = canReset ? peakRSS() : 0, overallPeak = canReset ? max(loadPeak, stepsPeak, peakRSS()) : peakRSS()
    // A new prompt after the job: with `denoiser` or `release` the text encoder is read again first.
    func encodeSeconds(_ text: String) throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try pipe.promptEncoder.encode(text, objectTokens: nil, allowTruncation: true)
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    let newPromptS = try encodeSeconds("a blue square in the snow")
    let residentPromptS = try encodeSeconds("a green circle in the city")
    report("memory", [total - loadS], extra: [
        "new_prompt_encode_s": newPromptS, "resident_prompt_encode_s": residentPromptS,
        "precision": pipe.unet.precision.rawValue, "text_precision": pipe.textEncoder.precision.rawValue,
        "vae_precision": pipe.vae.precision.rawValue,
        "load_s": loadS, "first_step_s": firstStepS, "baseline_rss_bytes": baseline,
        "loaded_rss_bytes": loaded, "load_peak_rss_bytes": loadPeak,
        "steps_peak_rss_bytes": canReset ? stepsPeak : 0, "after_steps_rss_bytes": afterSteps,
        "decode_peak_rss_bytes": decodePeak, "peak_rss_bytes": overallPeak,
        "phase_peaks": canReset, "residency": residency.rawValue,
    ])
}

func benchWeights(folder: URL, precision: ComputePrecision) throws {
    let r0 = currentRSS()
    let text = try CLIPTextModel(folder: folder.appendingPathComponent("text_encoder"), precision: precision)
    let r1 = currentRSS()
    let unet = try UNet2DConditionModel(folder: folder.appendingPathComponent("unet"), precision: precision)
    let r2 = currentRSS()
    let vae = try AutoencoderKL(folder: folder.appendingPathComponent("vae"), precision: precision)
    let r3 = currentRSS()
    withExtendedLifetime((text, unet, vae)) {
        report("weights", [0], extra: ["baseline_rss_bytes": r0, "text_encoder_bytes": r1 - r0, "unet_bytes": r2 - r1,
                                       "vae_bytes": r3 - r2, "peak_rss_bytes": peakRSS()])
    }
}
