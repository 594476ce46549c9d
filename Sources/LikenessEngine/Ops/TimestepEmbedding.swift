// Matches diffusers.models.embeddings.get_timestep_embedding (float32 arithmetic as in
// PyTorch: exponent = -ln(max_period) * arange(half) / (half - downscale_freq_shift),
// emb = t * exp(exponent) * scale, cat(sin, cos), optional flip to (cos, sin), zero pad
// for odd dims). sinf/cosf of large arguments may differ from PyTorch's vectorised
// kernels by a few ulp of the argument's magnitude.

import Foundation

extension Ops {
    /// Sinusoidal timestep embedding: [N] timesteps → [N, dim].
    public static func timestepEmbedding(
        timesteps: [Float], dim: Int, flipSinToCos: Bool, downscaleFreqShift: Float,
        scale: Float = 1, maxPeriod: Float = 10000
    ) -> Tensor {
        let half = dim / 2
        let logMax = Float(Foundation.log(Double(maxPeriod)))
        var freqs = [Float](repeating: 0, count: half)
        for i in 0..<half {
            // Same float32 steps as torch: (-log(max_period) * i) / (half - shift), then exp.
            let exponent = (-logMax * Float(i)) / (Float(half) - downscaleFreqShift)
            freqs[i] = Foundation.exp(exponent)
        }
        return Tensor(shape: [timesteps.count, dim]) { out in
            guard let o = out.baseAddress else { return }
            for (n, t) in timesteps.enumerated() {
                let row = o + n * dim
                for i in 0..<half {
                    let arg = scale * (t * freqs[i])
                    let s = Foundation.sin(arg), c = Foundation.cos(arg)
                    if flipSinToCos {
                        row[i] = c; row[half + i] = s
                    } else {
                        row[i] = s; row[half + i] = c
                    }
                }
                if dim % 2 == 1 { row[dim - 1] = 0 }
            }
        }
    }

    /// diffusers `get_guidance_scale_embedding` (LCM pipelines; VDM's embedding), float32 as torch:
    /// w' = w · 1000, f_i = exp(i · -(ln 10000 / (half - 1))), [sin(w'·f), cos(w'·f)], zero pad
    /// for odd dims. [N] guidance values w (the pipelines pass guidance_scale - 1) → [N, dim].
    public static func guidanceScaleEmbedding(_ w: [Float], dim: Int) -> Tensor {
        let half = dim / 2
        let base = Float(Foundation.log(Double(Float(10000)))) / Float(half - 1)
        let freqs = (0..<half).map { Foundation.exp(Float($0) * -base) }
        return Tensor(shape: [w.count, dim]) { out in
            guard let o = out.baseAddress else { return }
            for (n, value) in w.enumerated() {
                let scaled = value * 1000
                for i in 0..<half {
                    let arg = scaled * freqs[i]
                    o[n * dim + i] = Foundation.sin(arg)
                    o[n * dim + half + i] = Foundation.cos(arg)
                }
                if dim % 2 == 1 { o[n * dim + dim - 1] = 0 }
            }
        }
    }
}
