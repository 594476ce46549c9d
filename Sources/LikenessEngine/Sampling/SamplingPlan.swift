// Matches diffusers 0.42 `set_timesteps(num_inference_steps)` + `init_noise_sigma` for
// DDIMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler and
// DPMSolverMultistepScheduler: the timestep handed to the model at each step, the noise level
// of each step, Karras sigmas (rho 7, σ range from the interpolated schedule for Euler, from the
// whole training schedule for DPM, overridable by sigma_min/sigma_max), final_sigmas_type, and
// DDIM's own stepping rule (prev_t = t - num_train_timesteps // steps, which for "linspace" and
// "trailing" spacing lands between the listed timesteps).
// LCMScheduler: the timesteps are taken from the distillation schedule
// (t_k = k · (num_train_timesteps // original_inference_steps) - 1, k = 1 ... original steps),
// evenly spaced by index (np.linspace(0, n, steps, endpoint=False), floored) from the top; each
// step has the boundary-condition scalings c_skip = σ_d² / ((t·s)² + σ_d²) and
// c_out = t·s / sqrt((t·s)² + σ_d²), σ_d = 0.5, s = timestep_scaling, and lands on the next listed
// timestep (the last one on clean latents). With an img2img `strength` (LatentConsistencyModelImg2ImgPipeline:
// set_timesteps(steps, strength=s)) the distillation schedule is cut to its first
// int(original_inference_steps * s) timesteps before the steps are picked from it. Limits: no custom timesteps.
// Everything is expressed as variance-exploding noise levels σ (k-diffusion's convention); the
// latents diffusers keeps for DDIM and DPM-Solver are x / sqrt(σ² + 1) of ours.
// Limits: for DDIM, spacings whose numpy arithmetic yields a timestep outside the training range
// (e.g. "trailing" with 61 steps gives 62 timesteps ending at -1, which diffusers' DDIM silently
// wraps to the last ᾱ) are rejected; Euler and DPM-Solver follow diffusers there (np.interp
// clamps the noise level).

import Foundation

/// Which latents diffusers' scheduler keeps: x0 + σ·ε (Euler) or (x0 + σ·ε) / sqrt(σ² + 1).
public enum LatentScaling: Sendable, Equatable {
    case varianceExploding
    case variancePreserving
}

/// Everything a sampling loop needs, fixed before the first step.
public struct SamplingPlan: Sendable, Equatable {
    public let kind: SamplerKind
    public let settings: SchedulerSettings
    /// The timestep passed to the model at each step (diffusers `scheduler.timesteps`).
    public let timesteps: [Float]
    /// Noise level at the start of each step, plus the final level: steps + 1 values.
    public let sigmas: [Float]
    /// DDIM only: the noise level each step lands on (its prev_timestep); equals sigmas[i + 1]
    /// for "leading" spacing.
    public let ddimTargets: [Float]?
    /// diffusers `init_noise_sigma`: initial latents are torch.randn(...) * this.
    public let initNoiseSigma: Float
    public let latentScaling: LatentScaling
    /// DPM-Solver++: the last step is first order.
    public let firstOrderFinalStep: Bool
    /// LCM only: the boundary-condition scalings of each step.
    public var consistency: ConsistencyScalings? = nil

    public var stepCount: Int { timesteps.count }
    public var predictionType: PredictionType { settings.predictionType }

    /// The noise level the latents sit at after step `i` (before any DDIM re-targeting).
    public func landingSigma(afterStep i: Int) -> Float {
        ddimTargets?[i] ?? sigmas[i + 1]
    }
}

/// LCM's per-step boundary-condition scalings (diffusers get_scalings_for_boundary_condition_discrete).
public struct ConsistencyScalings: Sendable, Equatable {
    public var cSkip: [Float]
    public var cOut: [Float]
}

/// Builds the plan diffusers' scheduler would follow for `steps` inference steps.
/// - Parameter karras: overrides the config's use_karras_sigmas (nil keeps it).
public func makeSamplingPlan(kind: SamplerKind, config: SchedulerConfig, steps: Int, karras: Bool? = nil,
                             configPath: String = "scheduler_config.json") throws -> SamplingPlan {
    var settings = try config.resolved(for: kind, path: configPath)
    if let karras {
        if karras && !kind.supportsKarrasSigmas { throw SamplingError.karrasUnsupported(kind) }
        settings.useKarrasSigmas = karras
    }
    guard steps >= 1, steps <= settings.numTrainTimesteps else {
        throw SamplingError.invalidStepCount(steps: steps, limit: settings.numTrainTimesteps)
    }
    switch kind {
    case .ddim: return try planDDIM(settings, steps)
    case .euler, .eulerAncestral: return try planEuler(kind, settings, steps)
    case .dpmpp2m: return try planDPM(settings, steps)
    case .lcm: return try planLCM(settings, steps)
    }
}

/// diffusers LCMScheduler.set_timesteps(steps, strength=strength): `strength` (0...1, read as the
/// decimal it is written as, like `SamplingPlan.imageToImageStart`) keeps the first
/// int(originalSteps * strength) distillation timesteps, which must be at least `steps`.
public func lcmTimesteps(numTrainTimesteps T: Int, originalSteps: Int, steps: Int, strength: Float = 1) throws -> [Int] {
    guard originalSteps >= 1, originalSteps <= T else {
        throw SamplingError.invalidSchedule("original_inference_steps \(originalSteps) must be between 1 and num_train_timesteps \(T)")
    }
    guard steps >= 1, steps <= originalSteps else {
        throw SamplingError.invalidSchedule(
            "the LCM sampler takes at most original_inference_steps (\(originalSteps)) steps, got \(steps)")
    }
    let kept = SamplingPlan.truncatedProduct(originalSteps, strength)
    guard kept >= steps else {
        let least = (Double(steps) / Double(originalSteps) * 1000).rounded(.up) / 1000
        throw SamplingError.invalidSchedule(
            "LCM image-to-image at strength \(strength) keeps \(kept) of the \(originalSteps) distillation timesteps "
            + "(original_inference_steps x strength), fewer than the \(steps) steps asked for: use at most \(max(kept, 1)) "
            + "step\(kept == 1 ? "" : "s") or a strength of at least \(least)")
    }
    let k = T / originalSteps
    let origin = (1...kept).map { $0 * k - 1 }.reversed() as [Int]
    // np.floor(np.linspace(0, n, steps, endpoint=False)): i * n / steps in float64.
    return (0..<steps).map { i in origin[Int((Double(i) * (Double(origin.count) / Double(steps))).rounded(.down))] }
}

func planLCM(_ s: SchedulerSettings, _ steps: Int, strength: Float = 1) throws -> SamplingPlan {
    let schedule = NoiseSchedule(settings: s, zeroTerminalSNRFloor: false)
    let timesteps = try lcmTimesteps(numTrainTimesteps: s.numTrainTimesteps, originalSteps: s.originalInferenceSteps,
                                     steps: steps, strength: strength)
    let sigmas = timesteps.map { NoiseSchedule.sigma(alphaCumprod: schedule.alphasCumprod[$0]) } + [0]
    let sigmaData: Float = 0.5
    var cSkip: [Float] = [], cOut: [Float] = []
    for t in timesteps {
        let scaled = Float(t) * Float(s.timestepScaling)  // float32, as the int64 tensor times a float
        let d = scaled * scaled + sigmaData * sigmaData
        cSkip.append(sigmaData * sigmaData / d)
        cOut.append(scaled / d.squareRoot())
    }
    return SamplingPlan(kind: .lcm, settings: s, timesteps: timesteps.map { Float($0) }, sigmas: sigmas,
                        ddimTargets: nil, initNoiseSigma: 1, latentScaling: .variancePreserving,
                        firstOrderFinalStep: true, consistency: ConsistencyScalings(cSkip: cSkip, cOut: cOut))
}

private func checkTimesteps(_ values: [Double], _ settings: SchedulerSettings, _ steps: Int) throws {
    let limit = Double(settings.numTrainTimesteps - 1)
    if let bad = values.first(where: { $0 < 0 || $0 > limit }) {
        throw SamplingError.invalidSchedule(
            "timestep_spacing \"\(settings.timestepSpacing.rawValue)\" with steps_offset \(settings.stepsOffset) gives timestep \(bad) for \(steps) steps, outside 0...\(Int(limit)); choose another step count")
    }
}

private func planDDIM(_ s: SchedulerSettings, _ steps: Int) throws -> SamplingPlan {
    let schedule = NoiseSchedule(settings: s, zeroTerminalSNRFloor: false)
    let T = s.numTrainTimesteps
    var timesteps: [Double]
    switch s.timestepSpacing {
    case .linspace:
        timesteps = NumpyCompat.linspace(0, Double(T - 1), steps).map(NumpyCompat.round).reversed()
    case .leading:
        let ratio = T / steps
        timesteps = (0..<steps).map { Double($0 * ratio + s.stepsOffset) }.reversed()
    case .trailing:
        let ratio = Double(T) / Double(steps)
        timesteps = NumpyCompat.arange(Double(T), 0, -ratio).map { NumpyCompat.round($0) - 1 }
    }
    try checkTimesteps(timesteps, s, steps)
    let ratio = T / steps
    let finalAlpha: Float = s.setAlphaToOne ? 1 : schedule.alphasCumprod[0]
    var sigmas: [Float] = []
    var targets: [Float] = []
    for t in timesteps {
        let ti = Int(t)
        sigmas.append(NoiseSchedule.sigma(alphaCumprod: schedule.alphasCumprod[ti]))
        let prev = ti - ratio
        targets.append(NoiseSchedule.sigma(alphaCumprod: prev >= 0 ? schedule.alphasCumprod[prev] : finalAlpha))
    }
    sigmas.append(targets[targets.count - 1])
    return SamplingPlan(kind: .ddim, settings: s, timesteps: timesteps.map { Float($0) }, sigmas: sigmas,
                        ddimTargets: targets, initNoiseSigma: 1, latentScaling: .variancePreserving,
                        firstOrderFinalStep: true)
}

private func karrasSigmas(_ s: SchedulerSettings, sigmaMin: Double, sigmaMax: Double, steps: Int) -> [Double] {
    let lo = s.sigmaMin ?? sigmaMin, hi = s.sigmaMax ?? sigmaMax
    let rho = 7.0
    let minInvRho = Foundation.pow(lo, 1 / rho), maxInvRho = Foundation.pow(hi, 1 / rho)
    return NumpyCompat.linspace(0, 1, steps).map { Foundation.pow(maxInvRho + $0 * (minInvRho - maxInvRho), rho) }
}

private func planEuler(_ kind: SamplerKind, _ s: SchedulerSettings, _ steps: Int) throws -> SamplingPlan {
    let schedule = NoiseSchedule(settings: s)
    let T = s.numTrainTimesteps
    var timesteps: [Double]
    switch s.timestepSpacing {
    case .linspace:
        timesteps = NumpyCompat.linspace(0, Double(T - 1), steps).map { Double(Float($0)) }.reversed()
    case .leading:
        let ratio = T / steps
        timesteps = (0..<steps).map { Double($0 * ratio + s.stepsOffset) }.reversed()
    case .trailing:
        let ratio = Double(T) / Double(steps)
        timesteps = NumpyCompat.arange(Double(T), 0, -ratio).map { NumpyCompat.round($0) - 1 }
    }
    var sigmas = timesteps.map { NumpyCompat.interp($0, schedule.sigmas) }
    if s.useKarrasSigmas, let first = sigmas.first, let last = sigmas.last {
        sigmas = karrasSigmas(s, sigmaMin: last, sigmaMax: first, steps: steps)
        timesteps = sigmas.map { schedule.timestep(forSigma: $0) }
    }
    let final: Float = s.finalSigmasType == .sigmaMin ? NoiseSchedule.sigma(alphaCumprod: schedule.alphasCumprod[0]) : 0
    let sigmas32 = sigmas.map { Float($0) } + [final]
    let maxSigma = sigmas32.max() ?? 0
    let initSigma: Float
    switch s.timestepSpacing {
    case .linspace, .trailing: initSigma = maxSigma
    case .leading: initSigma = (maxSigma * maxSigma + 1).squareRoot()
    }
    return SamplingPlan(kind: kind, settings: s, timesteps: timesteps.map { Float($0) }, sigmas: sigmas32,
                        ddimTargets: nil, initNoiseSigma: initSigma, latentScaling: .varianceExploding,
                        firstOrderFinalStep: true)
}

private func planDPM(_ s: SchedulerSettings, _ steps: Int) throws -> SamplingPlan {
    let schedule = NoiseSchedule(settings: s)
    let T = s.numTrainTimesteps
    let last = Double(T)  // lambda_min_clipped = -inf clips nothing
    var timesteps: [Double]
    switch s.timestepSpacing {
    case .linspace:
        timesteps = Array(NumpyCompat.linspace(0, last - 1, steps + 1).map(NumpyCompat.round).reversed().dropLast())
    case .leading:
        let ratio = Int(last) / (steps + 1)
        timesteps = Array((0...steps).map { Double($0 * ratio) }.reversed().dropLast()).map { $0 + Double(s.stepsOffset) }
    case .trailing:
        let ratio = Double(T) / Double(steps)
        timesteps = NumpyCompat.arange(last, 0, -ratio).map { NumpyCompat.round($0) - 1 }
    }
    var sigmas: [Double]
    if s.useKarrasSigmas, let lo = schedule.sigmas.first, let hi = schedule.sigmas.last {
        sigmas = karrasSigmas(s, sigmaMin: Double(lo), sigmaMax: Double(hi), steps: steps)
        // diffusers rounds these, except for squaredcos_cap_v2 where .to(int64) truncates.
        timesteps = sigmas.map { t -> Double in
            let t = schedule.timestep(forSigma: t)
            return s.betaSchedule == .squaredcosCapV2 ? t.rounded(.towardZero) : NumpyCompat.round(t)
        }
    } else {
        sigmas = timesteps.map { NumpyCompat.interp($0, schedule.sigmas) }
    }
    let final: Float = s.finalSigmasType == .sigmaMin ? NoiseSchedule.sigma(alphaCumprod: schedule.alphasCumprod[0]) : 0
    let n = timesteps.count
    let firstOrderFinal = s.eulerAtFinal || (s.lowerOrderFinal && n < 15) || s.finalSigmasType == .zero
    return SamplingPlan(kind: .dpmpp2m, settings: s, timesteps: timesteps.map { Float($0) },
                        sigmas: sigmas.map { Float($0) } + [final], ddimTargets: nil, initNoiseSigma: 1,
                        latentScaling: .variancePreserving, firstOrderFinalStep: firstOrderFinal)
}
