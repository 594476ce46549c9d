// Matches PyTorch float32 elementwise add / multiply / scalar multiply (`a + b`, `a * s`),
// the per-channel broadcast `h + temb[:, :, None, None]` of diffusers' ResnetBlock2D, and
// diffusers' GEGLU combine `hidden * gelu(gate)` for `hidden, gate = proj(x).chunk(2, -1)`.
// Exact up to float32 rounding (single operations, same order as PyTorch).

import CLikenessKernels
import Foundation

extension Ops {
    /// `a += b` elementwise (same shape).
    public static func addInPlace(_ a: inout Tensor, _ b: Tensor) {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("add", profileStart) }
        precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
        let n = a.count
        b.withUnsafeBufferPointer { bb in
            a.withUnsafeMutableBufferPointer { ab in
                guard let ap = ab.baseAddress, let bp = bb.baseAddress else { return }
                parallelChunks(n, minChunk: 32768) { r in
                    for i in r { ap[i] += bp[i] }
                }
            }
        }
    }

    /// `a + b` elementwise (same shape).
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        var y = a
        addInPlace(&y, b)
        return y
    }

    /// `a *= s` elementwise.
    public static func scaleInPlace(_ a: inout Tensor, _ s: Float) {
        let n = a.count
        a.withUnsafeMutableBufferPointer { ab in
            guard let ap = ab.baseAddress else { return }
            parallelChunks(n, minChunk: 32768) { r in
                for i in r { ap[i] *= s }
            }
        }
    }

    /// `x[b, c, ...] += v[b, c]` for `x` [B, C, *spatial] and `v` [B, C].
    public static func addChannelBias(_ x: inout Tensor, _ v: Tensor) {
        precondition(x.rank >= 2 && v.shape == [x.shape[0], x.shape[1]], "addChannelBias: \(x.shape) + \(v.shape)")
        let planes = x.shape[0] * x.shape[1]
        let spatial = planes == 0 ? 0 : x.count / planes
        v.withUnsafeBufferPointer { vb in
            x.withUnsafeMutableBufferPointer { xb in
                guard let xp = xb.baseAddress else { return }
                parallelFor(planes, minChunk: max(1, 32768 / max(1, spatial))) { p in
                    let d = xp + p * spatial
                    let add = vb[p]
                    for i in 0..<spatial { d[i] += add }
                }
            }
        }
    }

    /// diffusers GEGLU combine: for `x` [..., 2F] split as (hidden, gate), returns hidden * gelu(gate) [..., F].
    public static func geglu(_ x: Tensor) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("geglu", profileStart) }
        guard let width = x.shape.last, width % 2 == 0 else { preconditionFailure("geglu: odd width \(x.shape)") }
        let f = width / 2
        let rows = width == 0 ? 0 : x.count / width
        var outShape = x.shape
        outShape[outShape.count - 1] = f
        return Tensor(shape: outShape) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress!
                parallelChunks(rows, minChunk: max(1, 16384 / max(1, f))) { r in
                    lk_geglu(xp + r.lowerBound * width, o + r.lowerBound * f, r.count, f)
                }
            }
        }
    }
}
