// Matches diffusers 0.42 StableDiffusionImg2ImgPipeline's start: get_timesteps and
// scheduler.add_noise, for every sampler of SamplerKind.
//   init_timestep = min(int(num_inference_steps * strength), num_inference_steps)
//   t_start = max(num_inference_steps - init_timestep, 0)
//   timesteps = scheduler.timesteps[t_start * order:]      (order is 1 for all our schedulers)
//   scheduler.set_begin_index(t_start)                      (Euler / DPM-Solver read σ from there)
//   latents = add_noise(x0, noise, timesteps[0])
// add_noise is, in every scheduler, x0 + σ·ε in VE coordinates at the first kept step's noise level
// (DDIM: sqrt(ᾱ_t)·x0 + sqrt(1 - ᾱ_t)·ε; DPM-Solver: α_t·x0 + σ_t·ε from its σ, Karras included;
// Euler: x0 + σ·ε), i.e. in diffusers' representation (x0 + σ·ε) / sqrt(σ² + 1) for the VP
// schedulers. init_noise_sigma is not applied (diffusers' img2img does not). The sliced plan keeps
// the full run's properties that diffusers takes from the whole schedule (DPM-Solver's first-order
// last step, decided from len(scheduler.timesteps)); its first step is first order, as diffusers'
// solver starts its history empty.
// `strength` is read as the decimal it is written as (0.7, not Float(0.7) = 0.69999998...) so that
// int(steps * strength) truncates as Python does with the same text.
// Limits: when no step is left (strength 0, or steps * strength < 1) diffusers fails; here the
// sampled init latents are the result unchanged.

import Foundation

extension SamplingPlan {
    /// diffusers `get_timesteps`: the index of the first step kept for `strength` (0...1).
    public static func imageToImageStart(steps: Int, strength: Float) -> Int {
        let s = Double("\(strength)") ?? Double(strength)
        let initTimestep = min(Int(Double(steps) * s), steps)
        return max(steps - initTimestep, 0)
    }

    /// The plan from step `start` on (diffusers `timesteps[t_start:]` with `set_begin_index`).
    public func starting(at start: Int) -> SamplingPlan {
        let i = min(max(start, 0), stepCount)
        return SamplingPlan(kind: kind, settings: settings, timesteps: Array(timesteps[i...]), sigmas: Array(sigmas[i...]),
                            ddimTargets: ddimTargets.map { Array($0[i...]) }, initNoiseSigma: initNoiseSigma,
                            latentScaling: latentScaling, firstOrderFinalStep: firstOrderFinalStep)
    }

    /// diffusers `scheduler.add_noise(x0, noise, timesteps[:1])` for this (sliced) plan, in the
    /// representation the sampling loop takes; `x0` itself when no step is left.
    public func noised(_ x0: [Float], noise: [Float]) -> [Float] {
        guard let sigma = sigmas.first, stepCount > 0 else { return x0 }
        precondition(noise.count == x0.count, "noise \(noise.count) != latents \(x0.count)")
        var out = [Float](repeating: 0, count: x0.count)
        switch latentScaling {
        case .varianceExploding:
            for i in out.indices { out[i] = x0[i] + noise[i] * sigma }
        case .variancePreserving:
            let alpha = 1 / (sigma * sigma + 1).squareRoot(), sigmaVP = sigma * alpha
            for i in out.indices { out[i] = alpha * x0[i] + sigmaVP * noise[i] }
        }
        return out
    }
}
