// Matches the training noise schedule diffusers schedulers build in __init__ (diffusers 0.42):
// betas from "linear" (torch.linspace float32), "scaled_linear" (linspace of square roots,
// squared, float32), "squaredcos_cap_v2" (betas_for_alpha_bar, float64 → float32) or
// trained_betas; optional rescale_zero_terminal_snr; alphas_cumprod = cumprod(1 - betas)
// accumulated in float64 and stored as float32 (as torch.cumprod does on CPU); the
// variance-exploding noise levels sigma_t = sqrt((1 - ᾱ_t) / ᾱ_t) in float32; and
// _sigma_to_t (log-sigma interpolation, float64). Limits: torch.linspace's vectorised rounding
// is not copied bit for bit (≤ 1 ulp per beta), measured against diffusers in
// SamplingScheduleTests.

import Foundation

/// The discrete training schedule: ᾱ_t and σ_t for t = 0 ..< numTrainTimesteps.
public struct NoiseSchedule: Sendable {
    public let alphasCumprod: [Float]
    /// σ_t = sqrt((1 - ᾱ_t) / ᾱ_t), increasing in t.
    public let sigmas: [Float]
    /// log σ_t in float32 (as np.log on the float32 array).
    public let logSigmas: [Float]

    public var count: Int { alphasCumprod.count }

    /// - Parameter zeroTerminalSNRFloor: diffusers' Euler/DPM schedulers set ᾱ_T to 2^-24 after
    ///   zero-SNR rescaling (DDIM keeps the exact 0).
    public init(settings: SchedulerSettings, zeroTerminalSNRFloor: Bool = true) {
        let n = settings.numTrainTimesteps
        var betas: [Float]
        if let trained = settings.trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            switch settings.betaSchedule {
            case .linear:
                betas = Self.torchLinspace(Float(settings.betaStart), Float(settings.betaEnd), n)
            case .scaledLinear:
                betas = Self.torchLinspace(Float(settings.betaStart.squareRoot()), Float(settings.betaEnd.squareRoot()), n)
                    .map { $0 * $0 }
            case .squaredcosCapV2:
                betas = Self.betasForAlphaBar(n)
            }
        }
        if settings.rescaleBetasZeroSnr { betas = Self.rescaleZeroTerminalSNR(betas) }
        var cumprod = [Float](repeating: 0, count: n)
        var acc = 1.0
        for i in 0..<n {
            acc *= Double(1 - betas[i])
            cumprod[i] = Float(acc)
        }
        if settings.rescaleBetasZeroSnr && zeroTerminalSNRFloor { cumprod[n - 1] = 0x1p-24 }
        alphasCumprod = cumprod
        sigmas = cumprod.map { ((1 - $0) / $0).squareRoot() }
        logSigmas = sigmas.map { Foundation.log($0) }
    }

    /// torch.linspace(start, end, steps, dtype=float32), scalar formula.
    static func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        if steps == 1 { return [start] }
        let step = (end - start) / Float(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { i in
            i < halfway ? start + step * Float(i) : end - step * Float(steps - i - 1)
        }
    }

    /// betas_for_alpha_bar(n) with the cosine transform and max_beta 0.999.
    static func betasForAlphaBar(_ n: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<n).map { i in
            let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
            return Float(Swift.min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// rescale_zero_terminal_snr (float32 like the torch code).
    static func rescaleZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var acc = 1.0
        var sqrtBar = betas.map { b -> Float in
            acc *= Double(1 - b)
            return Float(acc).squareRoot()
        }
        guard let first = sqrtBar.first, let last = sqrtBar.last, first != last else { return betas }
        let scale = first / (first - last)
        for i in sqrtBar.indices { sqrtBar[i] = (sqrtBar[i] - last) * scale }
        let bar = sqrtBar.map { $0 * $0 }
        var alphas = [Float](repeating: 0, count: bar.count)
        alphas[0] = bar[0]
        for i in 1..<bar.count { alphas[i] = bar[i] / bar[i - 1] }
        return alphas.map { 1 - $0 }
    }

    /// σ for ᾱ, float32.
    @inline(__always)
    static func sigma(alphaCumprod a: Float) -> Float {
        ((1 - a) / a).squareRoot()
    }

    /// diffusers `_sigma_to_t`: fractional training timestep whose log σ interpolates `sigma`.
    public func timestep(forSigma sigma: Double) -> Double {
        let logSigma = Foundation.log(Swift.max(sigma, 1e-10))
        var low = 0
        for (j, ls) in logSigmas.enumerated() where logSigma - Double(ls) >= 0 { low = j }
        low = Swift.min(low, logSigmas.count - 2)
        let lowValue = Double(logSigmas[low]), highValue = Double(logSigmas[low + 1])
        var w = (lowValue - logSigma) / (lowValue - highValue)
        w = Swift.min(Swift.max(w, 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }
}
