// Matches diffusers 0.42 DDIMScheduler.step with eta = 0 (use_clipped_model_output False),
// rewritten in VE coordinates, where deterministic DDIM is an Euler step in σ (k-diffusion's
// observation): ε = (x - x0) / σ, x0 optionally clamped (clip_sample), x' = x0_clamped + σ_to·ε.
// diffusers' DDIM steps from t to t - num_train_timesteps // steps, which need not be the next
// listed timestep; the latents it keeps (x / sqrt(σ² + 1)) are then read at the next timestep,
// so here x is rescaled by sqrt(σ_next² + 1) / sqrt(σ_to² + 1) between such steps.
// Agrees with diffusers' VP arithmetic to float32 rounding (≤ 1e-5 relative, measured in
// SamplingLoopTests). Limits: eta > 0 is not offered.

public enum DDIMSampler {
    /// One step from σ to σ_to; `clip` clamps x0 to ±clip (diffusers clip_sample_range).
    public static func step(x: [Float], denoised: [Float], sigma: Float, sigmaTo: Float, clip: Float?) -> (x: [Float], x0: [Float]) {
        var out = [Float](repeating: 0, count: x.count)
        var x0 = denoised
        for i in out.indices {
            let eps = (x[i] - denoised[i]) / sigma
            var d = denoised[i]
            if let clip { d = Swift.min(Swift.max(d, -clip), clip) }
            x0[i] = d
            out[i] = d + sigmaTo * eps
        }
        return (out, x0)
    }

    /// Runs all steps. `sigmas` has steps + 1 entries (the last is the final level) and
    /// `targets[i]` is where step i lands (equal to sigmas[i + 1] unless diffusers skips ahead).
    public static func sample(denoiser: Denoiser, x initial: [Float], sigmas: [Float], targets: [Float],
                              clip: Float? = nil, callback: SamplerCallback? = nil) throws -> [Float] {
        var x = initial
        let n = sigmas.count - 1
        for i in 0..<max(n, 0) {
            let denoised = try denoiser(x, sigmas[i], i)
            let result = step(x: x, denoised: denoised, sigma: sigmas[i], sigmaTo: targets[i], clip: clip)
            x = result.x
            try callback?(SamplerStep(index: i, count: n, x: x, sigma: targets[i], denoised: result.x0))
            if i + 1 < n && targets[i] != sigmas[i + 1] {
                let scale = (sigmas[i + 1] * sigmas[i + 1] + 1).squareRoot() / (targets[i] * targets[i] + 1).squareRoot()
                for k in x.indices { x[k] *= scale }
            }
        }
        return x
    }
}
