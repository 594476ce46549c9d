// Matches torch.nn.functional.layer_norm over the last dimension (elementwise affine)
// for float32 input. Statistics accumulate in Float64 (lk_layer_norm_rows); agreement ~1e-6 relative.

import CLikenessKernels

extension Ops {
    /// torch.nn.functional.layer_norm(x, [D], weight, bias, eps) with D = x.shape.last.
    public static func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("layerNorm", profileStart) }
        guard let dim = x.shape.last else { preconditionFailure("layerNorm: scalar input") }
        precondition(weight.shape == [dim] && bias.shape == [dim], "layerNorm: affine \(weight.shape) for dim \(dim)")
        let rows = dim == 0 ? 0 : x.count / dim
        return Tensor(shape: x.shape) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
            weight.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointer { bb in
                let xp = xb.baseAddress!
                parallelChunks(rows, minChunk: max(1, 8192 / max(1, dim))) { r in
                    lk_layer_norm_rows(xp + r.lowerBound * dim, o + r.lowerBound * dim, r.count, dim,
                                       wb.baseAddress!, bb.baseAddress!, eps)
                }
            }
            }
            }
        }
    }
}
