// Matches torch.nn.functional.scaled_dot_product_attention (dropout 0, no attn_mask,
// optional is_causal with PyTorch's top-left aligned tril mask, default scale 1/sqrt(Dh))
// applied per head, with heads packed in the last dimension as diffusers' Attention and
// transformers' CLIPAttention lay them out: [B, L, H*Dh] in, [B, Lq, H*Dv] out (the same as
// PyTorch's view(B, L, H, Dh).transpose(1, 2) → sdpa → transpose(1, 2).reshape(B, L, H*Dv)).
// Per (batch, head, block of queries): sgemm for QKᵀ, row softmax, sgemm for PV. Blocks keep
// the score buffer bounded; blocks run on separate threads (single-threaded sgemm each)
// when there are enough of them, else sgemm and softmax are parallel within each block.
// Float32 throughout; agreement ~1e-7 relative.

import Dispatch

extension Ops {
    /// Target size of one block's score buffer, in floats (4 MiB: 256 query rows over 4096 keys;
    /// measured faster than 64 or 512 rows at SD-1.5 size, as K and V are repacked per block).
    static let attentionBlockFloats = 1 << 20

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
        let block = max(1, min(lq, attentionBlockFloats / max(1, lk)))
        let blocksPerHead = (lq + block - 1) / block
        let units = batch * heads * blocksPerHead
        let threads = ComputeThreads.count
        let unitParallel = threads > 1 && units >= 2 * threads

        return Tensor(shape: [batch, lq, vWidth]) { out in
            guard let o = out.baseAddress else { return }
            if lk == 0 { o.update(repeating: .nan, count: out.count); return }
            query.withUnsafeBufferPointer { qb in
            key.withUnsafeBufferPointer { kb in
            value.withUnsafeBufferPointer { vb in
                let qp = qb.baseAddress!, kp = kb.baseAddress!, vp = vb.baseAddress!

                func run(unit: Int, scores sp: UnsafeMutablePointer<Float>, inner: Bool) {
                    let qBlock = unit % blocksPerHead
                    let h = (unit / blocksPerHead) % heads
                    let b = unit / (blocksPerHead * heads)
                    let q0 = qBlock * block
                    let rows = min(block, lq - q0)
                    // scores[rows, lk] = alpha · Q_h[q0..<q0+rows] · K_hᵀ
                    sgemm(transB: true, m: rows, n: lk, k: dh, alpha: alpha,
                          a: qp + (b * lq + q0) * qkWidth + h * dh, lda: qkWidth,
                          b: kp + b * lk * qkWidth + h * dh, ldb: qkWidth, c: sp, ldc: lk, parallel: inner)
                    let softmaxRange = { (r: Int) in
                        let row = sp + r * lk
                        softmaxRow(row, count: lk, valid: causal ? min(lk, q0 + r + 1) : nil)
                    }
                    if inner {
                        parallelFor(rows, minChunk: max(1, 8192 / lk), softmaxRange)
                    } else {
                        for r in 0..<rows { softmaxRange(r) }
                    }
                    // out[q0..<q0+rows, head h] = P · V_h
                    sgemm(m: rows, n: dv, k: lk, a: sp, lda: lk,
                          b: vp + b * lk * vWidth + h * dv, ldb: vWidth,
                          c: o + (b * lq + q0) * vWidth + h * dv, ldc: vWidth, parallel: inner)
                }

                if unitParallel {
                    DispatchQueue.concurrentPerform(iterations: threads) { t in
                        let lo = units * t / threads, hi = units * (t + 1) / threads
                        guard lo < hi else { return }
                        let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * lk)
                        defer { scores.deallocate() }
                        for unit in lo..<hi { run(unit: unit, scores: scores, inner: false) }
                    }
                } else {
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * lk)
                    defer { scores.deallocate() }
                    for unit in 0..<units { run(unit: unit, scores: scores, inner: true) }
                }
            }
            }
            }
        }
    }
}
