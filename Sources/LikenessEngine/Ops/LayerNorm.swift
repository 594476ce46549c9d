// Matches torch.nn.functional.layer_norm over the last dimension (elementwise affine)
// for float32 input. Statistics accumulate in Float64; agreement ~1e-6 relative.

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
                parallelFor(rows, minChunk: max(1, 8192 / max(1, dim))) { r in
                    let s = xp + r * dim
                    let d = o + r * dim
                    var sum: Double = 0
                    for i in 0..<dim { sum += Double(s[i]) }
                    let mean = sum / Double(dim)
                    var sq: Double = 0
                    for i in 0..<dim {
                        let v = Double(s[i]) - mean
                        sq += v * v
                    }
                    let invStd = Float(1.0 / (sq / Double(dim) + Double(eps)).squareRoot())
                    let meanF = Float(mean)
                    for i in 0..<dim { d[i] = (s[i] - meanF) * invStd * wb[i] + bb[i] }
                }
            }
            }
            }
        }
    }
}
