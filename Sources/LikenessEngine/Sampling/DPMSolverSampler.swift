// Matches diffusers 0.42 DPMSolverMultistepScheduler.step with algorithm_type "dpmsolver++",
// solver_order 2, solver_type "midpoint" (k-diffusion's sample_dpmpp_2m), in VE coordinates:
// with α = 1/sqrt(σ²+1), σ_vp = σ·α and λ = log α - log σ_vp (float32, as diffusers computes
// them), h = λ_next - λ,
//   first order:  x' = (σ_next/σ)·x - (e^{-h} - 1)·D0
//   second order: x' = (σ_next/σ)·x - (e^{-h} - 1)·D0 - 0.5·(e^{-h} - 1)·D1,
//                 D1 = (D0 - D_prev) / r0,  r0 = (λ - λ_prev) / h
// (diffusers' VP update divided by α_next). The first step is first order, and so is the last
// when `firstOrderFinalStep` (diffusers: final_sigmas_type "zero", euler_at_final, or
// lower_order_final with < 15 steps). A final σ of 0 yields x' = D0 exactly, as in diffusers.
// Limits: orders 1 and 3, SDE variants and the "heun" solver type are not offered.

import Foundation

public enum DPMSolverSampler {
    @inline(__always)
    static func lambda(_ sigma: Float) -> Float {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        let sigmaVP = sigma * alpha
        return Foundation.log(alpha) - Foundation.log(sigmaVP)
    }

    /// One DPM-Solver++ step from σ to σ_next; second order when `previous` is given.
    public static func step(x: [Float], denoised: [Float], sigma: Float, sigmaNext: Float,
                            previous: (denoised: [Float], sigma: Float)?) -> [Float] {
        if sigmaNext == 0 { return denoised }
        let lambdaS = lambda(sigma), lambdaT = lambda(sigmaNext)
        let h = lambdaT - lambdaS
        let ratio = sigmaNext / sigma
        let phi = Foundation.exp(-h) - 1
        var out = [Float](repeating: 0, count: x.count)
        if let previous {
            let r0 = (lambdaS - lambda(previous.sigma)) / h
            let inv = 1 / r0
            for i in out.indices {
                let d1 = inv * (denoised[i] - previous.denoised[i])
                out[i] = ratio * x[i] - phi * denoised[i] - 0.5 * phi * d1
            }
        } else {
            for i in out.indices { out[i] = ratio * x[i] - phi * denoised[i] }
        }
        return out
    }

    /// Runs all steps: sigmas has steps + 1 entries.
    public static func sample(denoiser: Denoiser, x initial: [Float], sigmas: [Float], firstOrderFinalStep: Bool,
                              callback: SamplerCallback? = nil) throws -> [Float] {
        var x = initial
        let n = sigmas.count - 1
        var previous: (denoised: [Float], sigma: Float)?
        for i in 0..<max(n, 0) {
            let denoised = try denoiser(x, sigmas[i], i)
            let firstOrder = previous == nil || (i == n - 1 && firstOrderFinalStep)
            x = step(x: x, denoised: denoised, sigma: sigmas[i], sigmaNext: sigmas[i + 1],
                     previous: firstOrder ? nil : previous)
            previous = (denoised, sigmas[i])
            try callback?(SamplerStep(index: i, count: n, x: x, sigma: sigmas[i + 1], denoised: denoised))
        }
        return x
    }
}
