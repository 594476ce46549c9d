// Matches torch.nn.functional.linear (y = x·Wᵀ + b, weight [out, in]) and torch.matmul
// for 2-D float32 operands, via cblas_sgemm. Accumulation order differs from PyTorch's
// MKL/oneDNN kernels, so results agree to float32 rounding (~1e-6 relative), not bitwise.

import CBLAS
import CLikenessBF16
import CLikenessKernels
import Dispatch

extension Ops {
    /// Threads for a product of `flops` floating-point operations: every compute thread from 4
    /// million up, below that one (the wake-ups cost more than a second core gains).
    static func gemmThreads(flops: Int, parallel: Bool = true) -> Int {
        parallel && flops >= 4_000_000 ? ComputeThreads.count : 1
    }

    /// Row-major sgemm: C[M,N] = alpha · op(A) · op(B) + beta · C.
    /// `transA`/`transB` select Aᵀ/Bᵀ; leading dimensions are row strides. Large products are
    /// split into per-thread blocks of C rows (or columns when N > M) unless `parallel` is false.
    @inline(__always)
    static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        parallel: Bool = true
    ) {
        guard m > 0, n > 0 else { return }
        _ = BLASCore.configured
        let threads = gemmThreads(flops: 2 * m * n * max(k, 1), parallel: parallel)
        let splitRows = m >= n
        let extent = splitRows ? m : n
        let parts = min(threads, max(1, extent / 16))
        if parts <= 1 {
            sgemmBlock(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // Block edges on multiples of 16 so each block keeps whole kernel tiles.
        let step = ((extent + parts - 1) / parts + 15) / 16 * 16
        parallelRun(parts, threads: parts) { p in
            let lo = p * step
            let hi = min(extent, lo + step)
            guard lo < hi else { return }
            if splitRows {
                let aBlock = transA ? a + lo : a + lo * lda
                sgemmBlock(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, a: aBlock, lda: lda,
                           b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                let bBlock = transB ? b + lo * ldb : b + lo
                sgemmBlock(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                           b: bBlock, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    @inline(__always)
    private static func sgemmBlock(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// torch.nn.functional.linear: `x` [..., in], `weight` [out, in], `bias` [out] → [..., out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("linear", profileStart) }
        precondition(weight.rank == 2, "linear weight must be 2-D, got \(weight.shape)")
        let outF = weight.shape[0], inF = weight.shape[1]
        return linearOutput(x, outF: outF, inF: inF, bias: bias) { o, rows in
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    sgemm(transB: true, m: rows, n: outF, k: inF,
                          a: xp.baseAddress!, lda: inF, b: wp.baseAddress!, ldb: inF,
                          beta: bias == nil ? 0 : 1, c: o, ldc: outF)
                }
            }
        }
    }

    /// Linear with the weight held for a precision: float32 runs `linear` (sgemm); bfloat16
    /// rounds `x` to bfloat16 rows and multiplies by the packed weight, accumulating in float32.
    public static func linear(_ x: Tensor, weight: GEMMWeight, bias: Tensor? = nil) -> Tensor {
        let w: BF16Matrix
        switch weight {
        case .fp32(let m):
            let outF = m.shape[0], inF = m.shape[1]
            if inF > 0, (x.count / inF) * outF * inF <= packedLinearMaxProduct, let packed = m.packedForLinear() {
                return linear(x, packed: packed, outF: outF, inF: inF, bias: bias)
            }
            return linear(x, weight: m.tensor, bias: bias)
        case .bf16(let m): w = m
        }
        let profileStart = OpProfile.start(); defer { OpProfile.stop("linear", profileStart) }
        precondition(w.layout == .packedTransposed, "linear: bf16 weight must be packed for a linear layer")
        let outF = w.rows, inF = w.k
        return linearOutput(x, outF: outF, inF: inF, bias: bias) { o, rows in
            let ld = w.ld
            let x16 = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * ld)
            defer { x16.deallocate() }
            x.withUnsafeBufferPointer { xp in
                let src = xp.baseAddress!
                parallelChunks(rows, minChunk: 64) { r in
                    lk_bf16_convert_rows(src + r.lowerBound * inF, inF, r.count, inF, x16 + r.lowerBound * ld, ld)
                }
            }
            bf16gemm(m: rows, n: outF, k: inF, a16: x16, lda16: ld, b: nil, ldb: 0, pb: w,
                     beta: bias == nil ? 0 : 1, c: o, ldc: outF)
        }
    }

    /// Float32 weights of at most this many values are packed once for `lk_sgemm_packed`.
    static let packedLinearMaxWeight = 1 << 18
    /// Products (rows · out · in) up to this size run `lk_sgemm_packed` on the packed weight, larger
    /// ones sgemm: there OpenBLAS's per-call packing is a small share and its blocking wins.
    static let packedLinearMaxProduct = 1 << 27

    /// Linear over a weight packed by `FP32Matrix.packedForLinear` (out · in values), the bias added
    /// in the kernel.
    static func linear(_ x: Tensor, packed: Tensor, outF: Int, inF: Int, bias: Tensor?) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("linear", profileStart) }
        return linearOutput(x, outF: outF, inF: inF, bias: bias, prefillsBias: false) { o, rows in
            x.withUnsafeBufferPointer { xp in
                packed.withUnsafeBufferPointer { pp in
                    withOptionalPointer(bias) { b in
                        packedGEMM(m: rows, n: outF, k: inF, a: xp.baseAddress!, lda: inF, packed: pp.baseAddress!,
                                   bias: b, c: o, ldc: outF)
                    }
                }
            }
        }
    }

    /// C [m, n] = A [m, k] · B + bias over B packed by `lk_sgemm_pack_bt`, split over the compute
    /// threads by row tiles or column panels (each row's sums are the same either way).
    static func packedGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                           bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let threads = gemmThreads(flops: 2 * m * n * k)
        splitTiles(m: m, n: n, mr: 6, nr: Int(LK_SGEMM_NR), threads: threads) { r0, r1, j0, j1 in
            lk_sgemm_packed(r1 - r0, j1 - j0, k, a + r0 * lda, lda, packed, j0, bias, 0, c + r0 * ldc + j0, ldc)
        }
    }

    /// The part the linear paths share: checks `x` [..., inF] and `bias` [outF], makes the
    /// [..., outF] output with the bias in every row (unless `prefillsBias` is false: the packed
    /// kernel adds it itself), and runs `gemm(output, rows)` to add x · Wᵀ (beta 1 with a prefilled
    /// bias, 0 without) unless there is nothing to multiply (then zeros or the bias).
    private static func linearOutput(_ x: Tensor, outF: Int, inF: Int, bias: Tensor?, prefillsBias: Bool = true,
                                     gemm: (UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        precondition(x.shape.last == inF, "linear: input \(x.shape) does not end in \(inF)")
        if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) != [\(outF)]") }
        let rows = inF == 0 ? 0 : x.count / inF
        var outShape = x.shape
        outShape[outShape.count - 1] = outF
        return Tensor(shape: outShape) { out in
            guard let o = out.baseAddress else { return }
            if let bias, prefillsBias || inF == 0 {
                bias.withUnsafeBufferPointer { b in
                    parallelFor(rows, minChunk: 256) { r in (o + r * outF).update(from: b.baseAddress!, count: outF) }
                }
            }
            if inF == 0 || rows == 0 {
                if bias == nil { o.update(repeating: 0, count: rows * outF) }
                return
            }
            gemm(o, rows)
        }
    }

    /// torch.matmul for 2-D operands: `a` [M, K] · `b` [K, N] → [M, N].
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("matmul", profileStart) }
        precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0],
                     "matmul: \(a.shape) · \(b.shape)")
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        return Tensor(shape: [m, n]) { out in
            guard let o = out.baseAddress else { return }
            if k == 0 { o.update(repeating: 0, count: m * n); return }
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: o, ldc: n)
                }
            }
        }
    }
}
