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

    /// What `groupNorm` applies to each channel of each image of `x`: y = x * scale + shift,
    /// [B * C] each (the group's moments and the channel's weight and bias folded in).
    public static func groupNormAffine(
        _ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float
    ) -> ChannelAffine {
        checkGroupNorm(x, groups: groups, weight: weight, bias: bias)
        return x.withUnsafeBufferPointer { xb in
            groupNormAffine(xb.baseAddress!, shape: x.shape, groups: groups, weight: weight, bias: bias, eps: eps)
        }
    }

    private static func groupNormAffine(
        _ src: UnsafePointer<Float>, shape: [Int], groups: Int, weight: Tensor, bias: Tensor, eps: Float
    ) -> ChannelAffine {
        let batch = shape[0], channels = shape[1]
        let spatial = channels == 0 ? 0 : Tensor.count(of: shape) / (batch * channels)
        let perGroup = channels / groups
        let groupSize = perGroup * spatial
        var scale = [Float](repeating: 0, count: batch * channels), shift = scale
        weight.withUnsafeBufferPointer { wb in
        bias.withUnsafeBufferPointer { bb in
        scale.withUnsafeMutableBufferPointer { sc in
        shift.withUnsafeMutableBufferPointer { sh in
            let scp = sc.baseAddress!, shp = sh.baseAddress!
            parallelFor(batch * groups, minChunk: max(1, 16384 / max(1, groupSize))) { bg in
                let g = bg % groups
                var mean: Double = 0, variance: Double = 0
                lk_moments(src + bg * groupSize, groupSize, &mean, &variance)
                let invStd = Float(1.0 / (variance + Double(eps)).squareRoot())
                let meanF = Float(mean)
                for cc in 0..<perGroup {
                    let c = g * perGroup + cc
                    scp[bg * perGroup + cc] = wb[c] * invStd
                    shp[bg * perGroup + cc] = bb[c] - meanF * scp[bg * perGroup + cc]
                }
            }
        }
        }
        }
        }
        return ChannelAffine(scale: scale, shift: shift, silu: false)
    }

    /// Normalises `src` into `dst` (which may be `src`): the moments of every group are taken
    /// before any value is written.
    private static func groupNorm(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, shape: [Int],
        groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool
    ) {
        var affine = groupNormAffine(src, shape: shape, groups: groups, weight: weight, bias: bias, eps: eps)
        affine.silu = silu
        affine.apply(src, dst, spatial: shape[0] * shape[1] == 0 ? 0 : Tensor.count(of: shape) / (shape[0] * shape[1]))
    }
}

/// A per-channel affine map, optionally followed by SiLU: y = silu?(x * scale[r] + shift[r]) for
/// row r = b * C + c of a [B, C, ...] tensor (a GroupNorm's, see `Ops.groupNormAffine`), for
/// reading a normalised input on the fly instead of building it.
public struct ChannelAffine {
    public let scale: [Float]
    public let shift: [Float]
    public var silu: Bool

    /// dst = the map of src, rows of `spatial` values, one row per scale (dst may be src).
    func apply(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, spatial: Int) {
        scale.withUnsafeBufferPointer { sc in
        shift.withUnsafeBufferPointer { sh in
            parallelFor(sc.count, minChunk: max(1, 16384 / max(1, spatial))) { r in
                let s = src + r * spatial, d = dst + r * spatial
                if silu {
                    lk_scale_shift_silu(s, d, spatial, sc[r], sh[r])
                } else {
                    lk_scale_shift(s, d, spatial, sc[r], sh[r])
                }
            }
        }
        }
    }
}
