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
// LCM: for an LCM-distilled UNet (time_cond_proj_dim), diffusers' LatentConsistencyModelImg2ImgPipeline
// instead: LCMScheduler.set_timesteps(steps, strength=s) cuts the distillation schedule to its first
// int(original_inference_steps * s) timesteps and picks all `steps` from them (every step runs),
// latents = add_noise(x0, noise, timesteps[0]) (sqrt(ᾱ_t)·x0 + sqrt(1 - ᾱ_t)·ε), the guidance
// embedded as in text-to-image (`lcmImageToImage`). For any other UNet with the LCM sampler (an
// LCM-LoRA), StableDiffusionImg2ImgPipeline with LCMScheduler: the sliced plan above, whose
// boundary-condition scalings are sliced with it (LCMScheduler.step reads them at begin_index + i
// and lands on the full schedule's next timestep, clean latents after its last).
// Limits: when no step is left (strength 0, or steps * strength < 1) diffusers fails; here the
// sampled init latents are the result unchanged (for the LCM pipeline too, at strength 0; a
// strength that keeps fewer distillation timesteps than steps is refused, naming both fixes).

import Foundation

extension SamplingPlan {
    /// diffusers `get_timesteps`: the index of the first step kept for `strength` (0...1).
    public static func imageToImageStart(steps: Int, strength: Float) -> Int {
        let initTimestep = min(truncatedProduct(steps, strength), steps)
        return max(steps - initTimestep, 0)
    }

    /// Python's int(n * strength) with `strength` read as the decimal it is written as.
    static func truncatedProduct(_ n: Int, _ strength: Float) -> Int {
        let s = Double("\(strength)") ?? Double(strength)
        return Int(Double(n) * s)
    }

    /// diffusers LatentConsistencyModelImg2ImgPipeline's schedule for `strength` (0...1):
    /// LCMScheduler.set_timesteps(steps, strength=strength); a plan with no step when the strength
    /// keeps no distillation timestep (strength 0).
    public static func lcmImageToImage(config: SchedulerConfig, steps: Int, strength: Float) throws -> SamplingPlan {
        let full = try makeSamplingPlan(kind: .lcm, config: config, steps: steps)
        guard truncatedProduct(full.settings.originalInferenceSteps, strength) > 0 else { return full.starting(at: full.stepCount) }
        return try planLCM(full.settings, steps, strength: strength)
    }

    /// The plan from step `start` on (diffusers `timesteps[t_start:]` with `set_begin_index`).
    public func starting(at start: Int) -> SamplingPlan {
        let i = min(max(start, 0), stepCount)
        return SamplingPlan(kind: kind, settings: settings, timesteps: Array(timesteps[i...]), sigmas: Array(sigmas[i...]),
                            ddimTargets: ddimTargets.map { Array($0[i...]) }, initNoiseSigma: initNoiseSigma,
                            latentScaling: latentScaling, firstOrderFinalStep: firstOrderFinalStep,
                            consistency: consistency.map { ConsistencyScalings(cSkip: Array($0.cSkip[i...]), cOut: Array($0.cOut[i...])) })
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
