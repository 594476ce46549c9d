// Matches torch.nn.functional.scaled_dot_product_attention (dropout 0, no attn_mask,
// optional is_causal with PyTorch's top-left aligned tril mask, default scale 1/sqrt(Dh))
// applied per head, with heads packed in the last dimension as diffusers' Attention and
// transformers' CLIPAttention lay them out: [B, L, H*Dh] in, [B, Lq, H*Dv] out (the same as
// PyTorch's view(B, L, H, Dh).transpose(1, 2) → sdpa → transpose(1, 2).reshape(B, L, H*Dv)).
// Per head: sgemm for QKᵀ, row softmax, sgemm for PV; queries are processed in blocks so the
// score buffer stays bounded. Float32 throughout (no upcast needed; float32 already).

extension Ops {
    /// Upper bound on the per-block score buffer, in floats.
    static let attentionMaxScoreFloats = 4 << 20

    /// Multi-head scaled-dot-product attention.
    /// - Parameters:
    ///   - query: [B, Lq, H*Dh]
    ///   - key: [B, Lk, H*Dh]
    ///   - value: [B, Lk, H*Dv]
    ///   - heads: H
    ///   - causal: mask keys j > i (query i), as `is_causal=True`.
    ///   - scale: defaults to 1/sqrt(Dh).
    /// - Returns: [B, Lq, H*Dv]
    public static func scaledDotProductAttention(
        query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool = false, scale: Float? = nil
    ) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "attention: rank-3 inputs expected")
        let batch = query.shape[0], lq = query.shape[1], lk = key.shape[1]
        precondition(key.shape[0] == batch && value.shape[0] == batch && value.shape[1] == lk, "attention: batch/length mismatch")
        precondition(heads > 0 && query.shape[2] % heads == 0 && value.shape[2] % heads == 0, "attention: width not divisible by heads")
        precondition(key.shape[2] == query.shape[2], "attention: key width \(key.shape[2]) != query width \(query.shape[2])")
        let qkWidth = query.shape[2], vWidth = value.shape[2]
        let dh = qkWidth / heads, dv = vWidth / heads
        let alpha = scale ?? (1 / Float(dh).squareRoot())
        let block = max(1, min(lq, attentionMaxScoreFloats / max(1, lk)))

        return Tensor(shape: [batch, lq, vWidth]) { out in
            guard let o = out.baseAddress else { return }
            if lk == 0 { o.update(repeating: .nan, count: out.count); return }
            var scores = [Float](repeating: 0, count: block * lk)
            query.withUnsafeBufferPointer { qb in
            key.withUnsafeBufferPointer { kb in
            value.withUnsafeBufferPointer { vb in
            scores.withUnsafeMutableBufferPointer { sb in
                let sp = sb.baseAddress!
                for b in 0..<batch {
                    let qBase = qb.baseAddress! + b * lq * qkWidth
                    let kBase = kb.baseAddress! + b * lk * qkWidth
                    let vBase = vb.baseAddress! + b * lk * vWidth
                    let oBase = o + b * lq * vWidth
                    for h in 0..<heads {
                        var q0 = 0
                        while q0 < lq {
                            let rows = min(block, lq - q0)
                            // scores[rows, lk] = alpha · Q_h[q0..<q0+rows] · K_hᵀ
                            sgemm(transB: true, m: rows, n: lk, k: dh, alpha: alpha,
                                  a: qBase + q0 * qkWidth + h * dh, lda: qkWidth,
                                  b: kBase + h * dh, ldb: qkWidth, c: sp, ldc: lk)
                            let start = q0
                            parallelFor(rows, minChunk: max(1, 4096 / lk)) { r in
                                let row = sp + r * lk
                                if causal {
                                    let valid = min(lk, start + r + 1)
                                    softmaxRow(row, count: valid)
                                    if valid < lk { (row + valid).update(repeating: 0, count: lk - valid) }
                                } else {
                                    softmaxRow(row, count: lk)
                                }
                            }
                            // out[q0..<q0+rows, head h] = P · V_h
                            sgemm(m: rows, n: dv, k: lk, a: sp, lda: lk,
                                  b: vBase + h * dv, ldb: vWidth,
                                  c: oBase + q0 * vWidth + h * dv, ldc: vWidth)
                            q0 += rows
                        }
                    }
                }
            }
            }
            }
            }
        }
    }
}
