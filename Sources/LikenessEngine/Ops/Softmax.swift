// Matches torch.softmax(x, dim=-1) for float32 (max-subtracted, vectorised exp, sum in
// float32 per row), to ~1e-7 relative. Rows of all -inf produce NaN as in PyTorch.

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

    /// In-place softmax of `count` contiguous floats.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count where row[i] > m { m = row[i] }
        let sum = expShiftSum(row, row, count: count, shift: m)
        let inv = 1 / sum
        for i in 0..<count { row[i] *= inv }
    }
}
