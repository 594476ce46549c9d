// Matches torch.nn.functional.scaled_dot_product_attention (dropout 0, no attn_mask,
// optional is_causal with PyTorch's top-left aligned tril mask, default scale 1/sqrt(Dh))
// applied per head, with heads packed in the last dimension as diffusers' Attention and
// transformers' CLIPAttention lay them out: [B, L, H*Dh] in, [B, Lq, H*Dv] out (the same as
// PyTorch's view(B, L, H, Dh).transpose(1, 2) → sdpa → transpose(1, 2).reshape(B, L, H*Dv)).
// A fused kernel (lk_attention_rows in CLikenessKernels): K and V of each head are packed once
// (Kᵀ in panels of 16 keys and V, zero-padded to 16-float vectors); then each strip of 8 query rows computes its
// scores over all keys into a small scratch strip, the softmax numerators and sums in one pass,
// P·V, and the division by the sums, without a full score matrix or sgemm packing per block.
// Without AVX-512 and with 512 keys or more, a unit of 64 query rows walks the keys in blocks of
// 256 with an online softmax (running maximum and sum, output rescaled), so a block of Kᵀ and V
// stays in L2 for all 64 rows instead of all of Kᵀ and V being read from L3 for every 8.
// Heads of at most 16 floats (the built-in models' 4-12) take a second kernel,
// lk_attention_rows_small: V packed transposed, vectors across 16 query rows (scores, softmax and
// P V from broadcast elements of Kᵀ and Vᵀ), so nothing is padded to 16-float rows and nothing is
// summed across lanes.
// Work units (batch, head, 64 query rows) are handed out in groups to the engine's threads.
// Float32 throughout; agreement ~1e-7 relative (different summation order than PyTorch).
// With `precision: .bf16` on a CPU that runs the native bfloat16 kernel (AVX512-BF16), heads over
// 16 floats take lk_attention_rows_bf16 instead: both products on vdpbf16ps with bfloat16
// operands (queries, keys, values and softmax numerators rounded), scores, softmax and sums in
// float32; K and V of a head packed once as pairs. fp32 (the default) never takes it.

import CLikenessKernels
import Dispatch

extension Ops {
    /// Query rows per work unit.
    static let attentionRowsPerUnit = 64
    /// Heads whose query/key and value widths are both at most this take the small-head kernel
    /// (V transposed, one query row at a time; lk_attention_rows_small). A variable so tests can
    /// run one input through both kernels.
    nonisolated(unsafe) static var smallHeadWidth = 16

    /// Tests: run `precision: .bf16` attention through lk_attention_rows_bf16 whatever the CPU
    /// (its portable loop where the native kernel does not run).
    nonisolated(unsafe) static var bf16AttentionOnAnyCPU = false

    /// The fused kernel for heads over smallHeadWidth (lk_set_attention_tiles): chosen by the CPU
    /// (16-float tiles with AVX-512; else 8-float tiles, over blocks of 256 keys with an online
    /// softmax from 512 keys on) unless set, so tests can run each kernel on any CPU.
    public enum AttentionTiles: Int32, Sendable, CaseIterable { case byCPU = 0, wide = 1, strips = 2, keyBlocks = 3 }
    public static var attentionTiles: AttentionTiles {
        get { AttentionTiles(rawValue: lk_get_attention_tiles()) ?? .byCPU }
        set { lk_set_attention_tiles(newValue.rawValue) }
    }

    /// Multi-head scaled-dot-product attention.
    /// - Parameters:
    ///   - query: [B, Lq, H*Dh]
    ///   - key: [B, Lk, H*Dh]
    ///   - value: [B, Lk, H*Dv]
    ///   - heads: H
    ///   - causal: mask keys j > i (query i), as `is_causal=True`.
    ///   - scale: defaults to 1/sqrt(Dh).
    ///   - precision: `.bf16` runs the products on bfloat16 operands where the CPU has AVX512-BF16
    ///     and the heads are over `smallHeadWidth` floats; otherwise float32.
    /// - Returns: [B, Lq, H*Dv]
    public static func scaledDotProductAttention(
        query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool = false, scale: Float? = nil,
        precision: ComputePrecision = .fp32
    ) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("attention", profileStart) }
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "attention: rank-3 inputs expected")
        let batch = query.shape[0], lq = query.shape[1], lk = key.shape[1]
        precondition(key.shape[0] == batch && value.shape[0] == batch && value.shape[1] == lk, "attention: batch/length mismatch")
        precondition(heads > 0 && query.shape[2] % heads == 0 && value.shape[2] % heads == 0, "attention: width not divisible by heads")
        precondition(key.shape[2] == query.shape[2], "attention: key width \(key.shape[2]) != query width \(query.shape[2])")
        let qkWidth = query.shape[2], vWidth = value.shape[2]
        let dh = qkWidth / heads, dv = vWidth / heads
        let alpha = scale ?? (1 / Float(dh).squareRoot())
        let ldk = (lk + 15) / 16 * 16
        // Small heads keep V transposed (lk_attention_rows_small), else V rows padded to 16 floats.
        let small = dh <= smallHeadWidth && dv <= smallHeadWidth
        if precision == .bf16, !small, ComputePrecision.bf16Kernel == .native || bf16AttentionOnAnyCPU {
            return bf16Attention(query: query, key: key, value: value, heads: heads, causal: causal, alpha: alpha)
        }
        let ldv = small ? (dv + 3) / 4 * 4 : max(16, (dv + 15) / 16 * 16)
        let pairs = batch * heads

        return Tensor(shape: [batch, lq, vWidth]) { out in
            guard let o = out.baseAddress, lq > 0 else { return }
            if lk == 0 { o.update(repeating: .nan, count: out.count); return }
            let ktSize = dh * ldk, vpSize = small ? ldv * ldk : lk * ldv
            let packed = UnsafeMutablePointer<Float>.allocate(capacity: pairs * (ktSize + vpSize))
            defer { packed.deallocate() }
            query.withUnsafeBufferPointer { qb in
            key.withUnsafeBufferPointer { kb in
            value.withUnsafeBufferPointer { vb in
                let qp = qb.baseAddress!, kp = kb.baseAddress!, vp = vb.baseAddress!
                parallelFor(pairs, minChunk: max(1, 65536 / max(1, ktSize + vpSize))) { pair in
                    let b = pair / heads, h = pair % heads
                    let dst = packed + pair * (ktSize + vpSize)
                    if small {
                        lk_attention_pack_small(kp + b * lk * qkWidth + h * dh, qkWidth, lk, dh, dst, ldk,
                                                vp + b * lk * vWidth + h * dv, vWidth, dv, dst + ktSize)
                    } else {
                        lk_attention_pack(kp + b * lk * qkWidth + h * dh, qkWidth, lk, dh, dst, ldk,
                                          vp + b * lk * vWidth + h * dv, vWidth, dv, dst + ktSize, ldv)
                    }
                }
                let scratchSize = small ? 16 * ldk : lk_attention_scratch_floats(dh, ldk, ldv)
                forEachAttentionUnit(pairs: pairs, heads: heads, lq: lq, scratchFloats: scratchSize) { pair, b, h, q0, rows, scratch in
                    let kt = packed + pair * (ktSize + vpSize)
                    if small {
                        lk_attention_rows_small(qp + (b * lq + q0) * qkWidth + h * dh, qkWidth, rows, dh, alpha,
                                                kt, lk, ldk, kt + ktSize, dv,
                                                o + (b * lq + q0) * vWidth + h * dv, vWidth,
                                                causal ? q0 : -1, scratch)
                    } else {
                        lk_attention_rows(qp + (b * lq + q0) * qkWidth + h * dh, qkWidth, rows, dh, alpha,
                                          kt, lk, ldk, kt + ktSize, dv, ldv,
                                          o + (b * lq + q0) * vWidth + h * dv, vWidth,
                                          causal ? q0 : -1, scratch)
                    }
                }
            }
            }
            }
        }
    }

    /// lk_attention_rows_bf16 over (batch, head, 64 query rows) units, as the float32 path.
    private static func bf16Attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool,
                                      alpha: Float) -> Tensor {
        let batch = query.shape[0], lq = query.shape[1], lk = key.shape[1]
        let qkWidth = query.shape[2], vWidth = value.shape[2]
        let dh = qkWidth / heads, dv = vWidth / heads
        let ldk = (lk + 15) / 16 * 16, ldv = (dv + 15) / 16 * 16
        let pairs = batch * heads
        let headSize = lk_attention_bf16_packed_count(dh, ldk, ldv)
        return Tensor(shape: [batch, lq, vWidth]) { out in
            guard let o = out.baseAddress, lq > 0 else { return }
            if lk == 0 { o.update(repeating: .nan, count: out.count); return }
            let packed = UnsafeMutablePointer<UInt16>.allocate(capacity: pairs * headSize)
            defer { packed.deallocate() }
            query.withUnsafeBufferPointer { qb in
            key.withUnsafeBufferPointer { kb in
            value.withUnsafeBufferPointer { vb in
                let qp = qb.baseAddress!, kp = kb.baseAddress!, vp = vb.baseAddress!
                parallelFor(pairs, minChunk: max(1, 131072 / max(1, headSize))) { pair in
                    let b = pair / heads, h = pair % heads
                    lk_attention_pack_bf16(kp + b * lk * qkWidth + h * dh, qkWidth, lk, dh, packed + pair * headSize, ldk,
                                           vp + b * lk * vWidth + h * dv, vWidth, dv, ldv)
                }
                let scratchSize = lk_attention_bf16_scratch_floats(dh, ldk)
                forEachAttentionUnit(pairs: pairs, heads: heads, lq: lq, scratchFloats: scratchSize) { pair, b, h, q0, rows, scratch in
                    lk_attention_rows_bf16(qp + (b * lq + q0) * qkWidth + h * dh, qkWidth, rows, dh, alpha,
                                           packed + pair * headSize, lk, ldk, dv, ldv,
                                           o + (b * lq + q0) * vWidth + h * dv, vWidth, causal ? q0 : -1, scratch)
                }
            }
            }
            }
        }
    }

    /// Runs `body(pair, batch, head, q0, rows, scratch)` for every work unit (a batch-head pair's
    /// next `attentionRowsPerUnit` query rows), in groups handed out as the engine's threads come
    /// free (parallelChunks), each group with its own scratch of `scratchFloats` floats.
    private static func forEachAttentionUnit(
        pairs: Int, heads: Int, lq: Int, scratchFloats: Int,
        _ body: (_ pair: Int, _ b: Int, _ h: Int, _ q0: Int, _ rows: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void
    ) {
        let unitsPerHead = (lq + attentionRowsPerUnit - 1) / attentionRowsPerUnit
        parallelChunks(pairs * unitsPerHead) { units in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
            defer { scratch.deallocate() }
            for unit in units {
                let pair = unit / unitsPerHead, q0 = (unit % unitsPerHead) * attentionRowsPerUnit
                body(pair, pair / heads, pair % heads, q0, min(attentionRowsPerUnit, lq - q0), scratch)
            }
        }
    }
}
