// Matches torch.nn.functional.group_norm (affine) for float32 input [B, C, *spatial].
// Mean and biased variance are accumulated in Float64 in vectorised lanes (lk_moments;
// PyTorch accumulates in float32 with a cascade), so results agree to ~1e-6 relative.
// Optionally fuses a following SiLU (torch.nn.functional.silu) into the same pass, as used by
// diffusers' ResnetBlock2D and conv_norm_out.

import CLikenessKernels

extension Ops {
    /// torch.nn.functional.group_norm(x, groups, weight, bias, eps), optionally followed by SiLU.
    public static func groupNorm(
        _ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false
    ) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("groupNorm", profileStart) }
        precondition(x.rank >= 2, "groupNorm: input \(x.shape) needs [B, C, ...]")
        let batch = x.shape[0], channels = x.shape[1]
        precondition(groups > 0 && channels % groups == 0, "groupNorm: \(channels) channels not divisible by \(groups) groups")
        precondition(weight.shape == [channels] && bias.shape == [channels], "groupNorm: affine shape")
        let spatial = channels == 0 ? 0 : x.count / (batch * channels)
        let perGroup = channels / groups
        let groupSize = perGroup * spatial
        return Tensor(shape: x.shape) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
            weight.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointer { bb in
                let xp = xb.baseAddress!
                parallelFor(batch * groups, minChunk: max(1, 16384 / max(1, groupSize))) { bg in
                    let g = bg % groups
                    let base = bg * groupSize
                    let src = xp + base
                    var mean: Double = 0, variance: Double = 0
                    lk_moments(src, groupSize, &mean, &variance)
                    let invStd = Float(1.0 / (variance + Double(eps)).squareRoot())
                    let meanF = Float(mean)
                    for cc in 0..<perGroup {
                        let c = g * perGroup + cc
                        let scale = wb[c] * invStd
                        let shift = bb[c] - meanF * scale
                        let s = src + cc * spatial
                        let d = o + base + cc * spatial
                        if silu {
                            lk_scale_shift_silu(s, d, spatial, scale, shift)
                        } else {
                            lk_scale_shift(s, d, spatial, scale, shift)
                        }
                    }
                }
            }
            }
            }
        }
    }
}
