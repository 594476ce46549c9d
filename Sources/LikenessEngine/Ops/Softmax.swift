// Matches torch.softmax(x, dim=-1) for float32 (max-subtracted, vectorised exp, sum in
// float32 per row; kernel in CLikenessKernels), to ~1e-7 relative. Rows holding NaN or
// only -inf produce NaN as in PyTorch.

import CLikenessKernels

extension Ops {
    /// torch.softmax over the last dimension.
    public static func softmax(_ x: Tensor) -> Tensor {
        guard let dim = x.shape.last else { preconditionFailure("softmax: scalar input") }
        var y = x
        let rows = dim == 0 ? 0 : x.count / dim
        y.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            parallelFor(rows, minChunk: max(1, 8192 / max(1, dim))) { r in
                softmaxRow(p + r * dim, count: dim)
            }
        }
        return y
    }

    /// In-place softmax of the first `valid` of `count` contiguous floats; the rest become 0.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, valid: Int? = nil) {
        if let valid {
            var v = valid
            lk_softmax_rows(row, 1, count, count, &v)
        } else {
            lk_softmax_rows(row, 1, count, count, nil)
        }
    }
}
