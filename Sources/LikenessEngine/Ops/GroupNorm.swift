// Matches torch.nn.functional.group_norm (affine) for float32 input [B, C, *spatial].
// Mean and biased variance are accumulated in Float64 in vectorised lanes (lk_moments;
// PyTorch accumulates in float32 with a cascade), so results agree to ~1e-6 relative.
// Optionally fuses a following SiLU (torch.nn.functional.silu) into the same pass, as used by
// diffusers' ResnetBlock2D and conv_norm_out. `groupNormInPlace` writes the same values over
// its input, for a caller with no further use for it (the VAE's large planes).

import CLikenessKernels

extension Ops {
    /// torch.nn.functional.group_norm(x, groups, weight, bias, eps), optionally followed by SiLU.
    public static func groupNorm(
        _ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false
    ) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("groupNorm", profileStart) }
        checkGroupNorm(x, groups: groups, weight: weight, bias: bias)
        return Tensor(shape: x.shape) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
                groupNorm(xb.baseAddress!, o, shape: x.shape, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
            }
        }
    }

    /// `groupNorm` written over `x` (the same values, no second buffer).
    public static func groupNormInPlace(
        _ x: inout Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false
    ) {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("groupNorm", profileStart) }
        checkGroupNorm(x, groups: groups, weight: weight, bias: bias)
        let shape = x.shape
        x.withUnsafeMutableBufferPointer { xb in
            guard let p = xb.baseAddress else { return }
            groupNorm(p, p, shape: shape, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
        }
    }

    private static func checkGroupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor) {
        precondition(x.rank >= 2, "groupNorm: input \(x.shape) needs [B, C, ...]")
        let channels = x.shape[1]
        precondition(groups > 0 && channels % groups == 0, "groupNorm: \(channels) channels not divisible by \(groups) groups")
        precondition(weight.shape == [channels] && bias.shape == [channels], "groupNorm: affine shape")
    }

    /// Normalises `src` into `dst` (which may be `src`): each group's moments are taken before
    /// any of its values is written.
    private static func groupNorm(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, shape: [Int],
        groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool
    ) {
        let batch = shape[0], channels = shape[1]
        let spatial = channels == 0 ? 0 : Tensor.count(of: shape) / (batch * channels)
        let perGroup = channels / groups
        let groupSize = perGroup * spatial
        weight.withUnsafeBufferPointer { wb in
        bias.withUnsafeBufferPointer { bb in
            parallelFor(batch * groups, minChunk: max(1, 16384 / max(1, groupSize))) { bg in
                let g = bg % groups
                let base = bg * groupSize
                var mean: Double = 0, variance: Double = 0
                lk_moments(src + base, groupSize, &mean, &variance)
                let invStd = Float(1.0 / (variance + Double(eps)).squareRoot())
                let meanF = Float(mean)
                for cc in 0..<perGroup {
                    let c = g * perGroup + cc
                    let scale = wb[c] * invStd
                    let shift = bb[c] - meanF * scale
                    let s = src + base + cc * spatial
                    let d = dst + base + cc * spatial
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
