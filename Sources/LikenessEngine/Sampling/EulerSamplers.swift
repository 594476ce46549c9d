// Matches diffusers 0.42 EulerDiscreteScheduler.step (s_churn = 0, so σ_hat = σ) and
// EulerAncestralDiscreteScheduler.step, which are k-diffusion's sample_euler and
// sample_euler_ancestral (eta 1): plain functions of (denoiser, x, sigmas) in VE coordinates,
// Float32 in diffusers' order of operations. The ancestral sampler draws its noise through
// `noise(count)` once per step — also on the last step, where σ_up is 0 — exactly as diffusers
// calls randn_tensor with the pipeline's generator. Limits: no churn (s_churn > 0).

/// Progress of a sampler after one step.
public struct SamplerStep: Sendable {
    /// 0-based index of the step just taken.
    public let index: Int
    public let count: Int
    /// Latents after the step, VE coordinates.
    public let x: [Float]
    /// Noise level `x` sits at now.
    public let sigma: Float
    /// The x0 estimate this step used.
    public let denoised: [Float]
}

/// Called after every step; may throw (e.g. to cancel).
public typealias SamplerCallback = (SamplerStep) throws -> Void

public enum EulerSampler {
    /// One Euler step from σ to σ_next.
    public static func step(x: [Float], denoised: [Float], sigma: Float, sigmaNext: Float) -> [Float] {
        let dt = sigmaNext - sigma
        var out = [Float](repeating: 0, count: x.count)
        for i in out.indices {
            let derivative = (x[i] - denoised[i]) / sigma
            out[i] = x[i] + derivative * dt
        }
        return out
    }

    /// Runs all steps: sigmas has steps + 1 entries.
    public static func sample(denoiser: Denoiser, x initial: [Float], sigmas: [Float],
                              callback: SamplerCallback? = nil) throws -> [Float] {
        var x = initial
        let n = sigmas.count - 1
        for i in 0..<max(n, 0) {
            let denoised = try denoiser(x, sigmas[i], i)
            x = step(x: x, denoised: denoised, sigma: sigmas[i], sigmaNext: sigmas[i + 1])
            try callback?(SamplerStep(index: i, count: n, x: x, sigma: sigmas[i + 1], denoised: denoised))
        }
        return x
    }
}

public enum EulerAncestralSampler {
    /// (σ_down, σ_up) for a step from σ to σ_next (eta 1).
    public static func ancestralSigmas(sigma: Float, sigmaNext: Float) -> (down: Float, up: Float) {
        let up = (sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext) / (sigma * sigma)).squareRoot()
        let down = (sigmaNext * sigmaNext - up * up).squareRoot()
        return (down, up)
    }

    /// One ancestral step given the step's noise draw.
    public static func step(x: [Float], denoised: [Float], sigma: Float, sigmaNext: Float, noise: [Float]) -> [Float] {
        let (down, up) = ancestralSigmas(sigma: sigma, sigmaNext: sigmaNext)
        let dt = down - sigma
        var out = [Float](repeating: 0, count: x.count)
        for i in out.indices {
            let derivative = (x[i] - denoised[i]) / sigma
            out[i] = (x[i] + derivative * dt) + noise[i] * up
        }
        return out
    }

    /// Runs all steps, drawing `noise(x.count)` once per step.
    public static func sample(denoiser: Denoiser, x initial: [Float], sigmas: [Float],
                              noise: (Int) throws -> [Float], callback: SamplerCallback? = nil) throws -> [Float] {
        var x = initial
        let n = sigmas.count - 1
        for i in 0..<max(n, 0) {
            let denoised = try denoiser(x, sigmas[i], i)
            let draw = try noise(x.count)
            x = step(x: x, denoised: denoised, sigma: sigmas[i], sigmaNext: sigmas[i + 1], noise: draw)
            try callback?(SamplerStep(index: i, count: n, x: x, sigma: sigmas[i + 1], denoised: denoised))
        }
        return x
    }
}
