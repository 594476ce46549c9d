// Matches diffusers 0.42 LCMScheduler.step (multistep latent consistency sampling), rewritten in
// variance-exploding coordinates (x = x_vp · sqrt(σ² + 1)):
//   x0 = D(x, σ_i), optionally clamped (clip_sample)
//   denoised = c_out · x0 + c_skip · x_vp          (the consistency function's boundary condition)
//   x' = denoised + σ_{i+1} · noise                 (= sqrt(ᾱ_prev)·denoised + sqrt(1-ᾱ_prev)·noise, in VE)
// and the last step returns `denoised` without noise. The noise is torch.randn continuing the
// generator the initial latents came from, as diffusers' step(generator=...) draws it.
// Agrees with diffusers' VP arithmetic to float32 rounding (measured in FewStepParityTests).

public enum LCMSampler {
    public static func sample(denoiser: Denoiser, x initial: [Float], sigmas: [Float], scalings: ConsistencyScalings,
                              clip: Float? = nil, noise: (Int) throws -> [Float],
                              callback: SamplerCallback? = nil) throws -> [Float] {
        var x = initial
        let n = sigmas.count - 1
        for i in 0..<max(n, 0) {
            let sigma = sigmas[i]
            var x0 = try denoiser(x, sigma, i)
            if let clip { for k in x0.indices { x0[k] = Swift.min(Swift.max(x0[k], -clip), clip) } }
            let cSkip = scalings.cSkip[i], cOut = scalings.cOut[i]
            let toVP = 1 / (sigma * sigma + 1).squareRoot()
            var denoised = [Float](repeating: 0, count: x.count)
            for k in denoised.indices { denoised[k] = cOut * x0[k] + cSkip * (x[k] * toVP) }
            if i < n - 1 {
                let z = try noise(x.count)
                let next = sigmas[i + 1]
                for k in x.indices { x[k] = denoised[k] + next * z[k] }
            } else {
                x = denoised
            }
            try callback?(SamplerStep(index: i, count: n, x: x, sigma: sigmas[i + 1], denoised: denoised))
        }
        return x
    }
}
