// Matches torch.nn.functional.conv2d (groups=1, dilation=1, zero padding) for float32
// NCHW input and [Cout, Cin, kH, kW] weights, via im2col + cblas_sgemm. Padding may be
// asymmetric, which also covers diffusers' Downsample2D with padding=0, whose
// F.pad(x, (0, 1, 0, 1)) is folded in as (top 0, bottom 1, left 0, right 1).
// 1x1 stride-1 unpadded convolutions skip im2col; 3x3 stride-1 float32 ones on planes of
// winogradMinPixels or more (half that for narrow layers) go through Winograd F(4x4, 3x3)
// (Conv2dWinograd.swift); float32 ones on small planes multiply 16-pixel panels of patches
// (panelConvolution). Results agree with PyTorch to
// float32 rounding (different accumulation order), not bitwise.

import CLikenessKernels

extension Ops {
    /// Zero padding on each side of the spatial dimensions.
    public struct Padding2D: Equatable {
        public var top: Int, bottom: Int, left: Int, right: Int
        public init(top: Int, bottom: Int, left: Int, right: Int) {
            self.top = top; self.bottom = bottom; self.left = left; self.right = right
        }
        /// The same padding on all four sides (PyTorch's `padding=p`).
        public static func uniform(_ p: Int) -> Padding2D { Padding2D(top: p, bottom: p, left: p, right: p) }
    }

    /// Upper bound on the im2col buffer, in floats; larger convolutions run in row bands.
    /// (A variable so tests can lower it and exercise the banded path.)
    nonisolated(unsafe) static var im2colMaxFloats = 8 << 20
    /// Input floats per band of pixels of a 1x1 convolution on a large plane (16 MB), in conv2d and
    /// in `conv1x1InPlace` alike, so the two give the same sums; a variable so tests can cross bands.
    nonisolated(unsafe) static var conv1x1BandFloats = 1 << 22

    /// Pixels per band of a 1x1 convolution with `cin` input channels on a plane of `plane` pixels.
    static func conv1x1Band(cin: Int, plane: Int) -> Int { min(plane, max(1, conv1x1BandFloats / max(1, cin))) }
    /// Target size of one thread's im2col band on large planes (floats; 2 MB, about a core's L2),
    /// and the fewest output columns a band holds (so the weights are not repacked too often).
    static let cacheBandFloats = 1 << 19
    static let minBandColumns = 512
    /// Float32 weights of at most this many values run small planes as panels (`panelConvolution`),
    /// which reads the whole weight once per one to four panels; larger ones (SD's 1280-channel
    /// layers at 16x16 and 8x8: 7-15 million) keep the blocked sgemm.
    static let panelConvolutionMaxWeight = 1 << 20
    /// Output planes up to this size (pixels) run all images of a batch in one sgemm.
    static let batchMergePlane = 1024

    /// torch.nn.functional.conv2d: `x` [B, Cin, H, W], `weight` [Cout, Cin, kH, kW], `bias` [Cout].
    public static func conv2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0
    ) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: .uniform(padding))
    }

    /// conv2d with explicit, possibly asymmetric zero padding.
    public static func conv2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int, padding: Padding2D
    ) -> Tensor {
        conv2d(x, weight: .fp32(FP32Matrix(weight)), bias: bias, stride: stride, padding: padding)
    }

    /// conv2d with the weight held for a precision: float32 (sgemm) or bfloat16 rows
    /// [Cout, Cin*kH*kW] (the im2col patches rounded to bfloat16 as the kernel packs them).
    /// `residual` (the output's shape) is added to the result and `relu` then clamps it at 0, in the
    /// convolution's own output pass where the Winograd path runs (the same values either way).
    public static func conv2d(
        _ x: Tensor, weight gemmWeight: GEMMWeight, bias: Tensor? = nil, stride: Int, padding: Padding2D,
        residual: Tensor? = nil, relu: Bool = false
    ) -> Tensor {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("conv2d", profileStart) }
        precondition(x.rank == 4, "conv2d: input \(x.shape)")
        let batch = x.shape[0], cin = x.shape[1], h = x.shape[2], w = x.shape[3]
        let wshape = gemmWeight.shape
        precondition(wshape.count == 4, "conv2d: weight \(wshape)")
        let cout = wshape[0], kh = wshape[2], kw = wshape[3]
        precondition(wshape[1] == cin, "conv2d: weight \(wshape) expects \(wshape[1]) input channels, got \(cin)")
        precondition(stride >= 1)
        let hp = h + padding.top + padding.bottom, wp = w + padding.left + padding.right
        precondition(hp >= kh && wp >= kw, "conv2d: padded input \(hp)x\(wp) smaller than kernel \(kh)x\(kw)")
        let ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1
        checkOutputOperands(bias: bias, residual: residual, output: [batch, cout, ho, wo])
        if winogradApplies(weight: wshape, stride: stride, batch: batch, ho: ho, wo: wo) {
            // Winograd's 2.25 multiply-adds per output and input channel beat the GEMM's 9 on these
            // planes; a bfloat16 weight's products run on bfloat16 with the native kernel, else the
            // weight is widened for the call (conv2dWinograd).
            return conv2dWinograd(x, weight: gemmWeight, bias: bias, padding: padding, ho: ho, wo: wo, residual: residual, relu: relu)
        }
        var y = conv2dGEMM(x, weight: gemmWeight, bias: bias, stride: stride, padding: padding, ho: ho, wo: wo)
        if residual != nil || relu {
            y.withUnsafeMutableBufferPointer { yb in
                withOptionalPointer(residual) { rp in
                    let yp = yb.baseAddress!, n = yb.count
                    parallelChunks(n, minChunk: 32768) { r in
                        if let rp { for i in r { yp[i] += rp[i] } }
                        if relu { for i in r { yp[i] = max(yp[i], 0) } }
                    }
                }
            }
        }
        return y
    }

    /// conv2d (3x3 or any kernel, stride 1) of x's nearest 2x upsample, torch's
    /// `conv(F.interpolate(x, scale_factor=2, mode="nearest"))`: on the Winograd path the input
    /// transform reads x directly and the upsampled tensor [B, Cin, 2H, 2W] is never built; otherwise
    /// the upsample, then conv2d.
    public static func conv2dUpsampled2x(
        _ x: Tensor, weight gemmWeight: GEMMWeight, bias: Tensor? = nil, padding: Padding2D,
        residual: Tensor? = nil, relu: Bool = false
    ) -> Tensor {
        precondition(x.rank == 4, "conv2dUpsampled2x: input \(x.shape)")
        let batch = x.shape[0], cin = x.shape[1], h = 2 * x.shape[2], w = 2 * x.shape[3]
        let wshape = gemmWeight.shape, cout = wshape[0]
        let ho = h + padding.top + padding.bottom - 2, wo = w + padding.left + padding.right - 2
        if wshape == [cout, cin, 3, 3], ho >= 1, wo >= 1,
           winogradApplies(weight: wshape, stride: 1, batch: batch, ho: ho, wo: wo) {
            let profileStart = OpProfile.start(); defer { OpProfile.stop("conv2d", profileStart) }
            checkOutputOperands(bias: bias, residual: residual, output: [batch, cout, ho, wo])
            return conv2dWinograd(x, weight: gemmWeight, bias: bias, padding: padding, ho: ho, wo: wo, residual: residual,
                                  relu: relu, upsampled: true)
        }
        return conv2d(upsampleNearest2x(x), weight: gemmWeight, bias: bias, stride: 1, padding: padding,
                      residual: residual, relu: relu)
    }

    /// conv2d (stride 1) of `input` applied to x: silu(x * scale + shift) per channel (a GroupNorm
    /// and SiLU, `Ops.groupNormAffine`). On the Winograd path the input transform reads x through
    /// the map, so the normalised tensor is never built and x keeps its values; otherwise the map
    /// is applied to a copy first. The same values as normalising, then convolving.
    public static func conv2d(
        _ x: Tensor, weight gemmWeight: GEMMWeight, bias: Tensor? = nil, padding: Padding2D, input: ChannelAffine
    ) -> Tensor {
        precondition(x.rank == 4 && input.scale.count == x.shape[0] * x.shape[1] && input.shift.count == input.scale.count,
                     "conv2d: input map of \(input.scale.count) channels for \(x.shape)")
        let batch = x.shape[0], cin = x.shape[1], wshape = gemmWeight.shape
        let ho = x.shape[2] + padding.top + padding.bottom - wshape[2] + 1
        let wo = x.shape[3] + padding.left + padding.right - wshape[3] + 1
        if input.silu, wshape.count == 4, wshape[1] == cin, ho >= 1, wo >= 1,
           winogradApplies(weight: wshape, stride: 1, batch: batch, ho: ho, wo: wo) {
            let profileStart = OpProfile.start(); defer { OpProfile.stop("conv2d", profileStart) }
            checkOutputOperands(bias: bias, residual: nil, output: [batch, wshape[0], ho, wo])
            return conv2dWinograd(x, weight: gemmWeight, bias: bias, padding: padding, ho: ho, wo: wo, input: input)
        }
        var mapped = x
        mapped.withUnsafeMutableBufferPointer { p in input.apply(p.baseAddress!, p.baseAddress!, spatial: x.shape[2] * x.shape[3]) }
        return conv2d(mapped, weight: gemmWeight, bias: bias, stride: 1, padding: padding)
    }

    /// `residual` += conv2d(x) (stride 1): on the Winograd path the convolution writes its sums
    /// straight over the residual's storage, so no third tensor is built; otherwise as
    /// conv2d(x, residual:). The same values either way.
    public static func conv2d(
        _ x: Tensor, weight gemmWeight: GEMMWeight, bias: Tensor? = nil, padding: Padding2D, addingTo residual: inout Tensor
    ) {
        let batch = x.shape[0], wshape = gemmWeight.shape
        let ho = x.shape[2] + padding.top + padding.bottom - wshape[2] + 1
        let wo = x.shape[3] + padding.left + padding.right - wshape[3] + 1
        if x.rank == 4, wshape.count == 4, wshape[1] == x.shape[1], ho >= 1, wo >= 1,
           winogradApplies(weight: wshape, stride: 1, batch: batch, ho: ho, wo: wo) {
            let profileStart = OpProfile.start(); defer { OpProfile.stop("conv2d", profileStart) }
            checkOutputOperands(bias: bias, residual: residual, output: [batch, wshape[0], ho, wo])
            residual.withUnsafeMutableBufferPointer { r in
                conv2dWinograd(x, weight: gemmWeight, bias: bias, padding: padding, ho: ho, wo: wo, residual: UnsafePointer(r.baseAddress!),
                               relu: false, upsampled: false, input: nil, into: r.baseAddress!)
            }
            return
        }
        residual = conv2d(x, weight: gemmWeight, bias: bias, stride: 1, padding: padding, residual: residual)
    }

    /// Replaces x [1, Cin, H, W] by the 1x1 convolution of it [1, Cout, H, W] (Cout <= Cin), written
    /// over x's own storage a band of pixels at a time (each band's input copied out first), so no
    /// second plane is built; the storage keeps its capacity. The same values as conv2d. Other
    /// batches and shapes run conv2d.
    public static func conv1x1InPlace(_ x: inout Tensor, weight gemmWeight: GEMMWeight, bias: Tensor? = nil) {
        let wshape = gemmWeight.shape
        precondition(x.rank == 4 && wshape.count == 4 && wshape[1] == x.shape[1], "conv1x1InPlace: \(x.shape) with \(wshape)")
        let cin = x.shape[1], cout = wshape[0], plane = x.shape[2] * x.shape[3]
        // Planes that conv2d runs as panels run conv2d (the same sums; they are small, so the
        // second plane costs little).
        guard x.shape[0] == 1, wshape[2] == 1, wshape[3] == 1, cout <= cin, plane > 0,
              !panelConvolutionApplies(weight: gemmWeight, ho: x.shape[2], wo: x.shape[3]) else {
            x = conv2d(x, weight: gemmWeight, bias: bias, stride: 1, padding: .uniform(0))
            return
        }
        let profileStart = OpProfile.start(); defer { OpProfile.stop("conv2d", profileStart) }
        checkOutputOperands(bias: bias, residual: nil, output: [1, cout, x.shape[2], x.shape[3]])
        let band = conv1x1Band(cin: cin, plane: plane)
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: cin * band)
        defer { copy.deallocate() }
        x.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            withGEMMWeight(gemmWeight) { wgemm in
                var p0 = 0
                while p0 < plane {
                    let n = min(band, plane - p0)
                    for c in 0..<cin { (copy + c * n).update(from: xp + c * plane + p0, count: n) }
                    for c in 0..<cout {
                        (xp + c * plane + p0).update(repeating: bias.map { $0.storage[c] } ?? 0, count: n)
                    }
                    switch wgemm {
                    case .fp32(let wpt):
                        sgemm(m: cout, n: n, k: cin, a: wpt, lda: cin, b: copy, ldb: n, beta: bias == nil ? 0 : 1,
                              c: xp + p0, ldc: plane)
                    case .bf16(let a16, let lda16):
                        bf16gemm(m: cout, n: n, k: cin, a16: a16, lda16: lda16, b: copy, ldb: n, pb: nil,
                                 beta: bias == nil ? 0 : 1, c: xp + p0, ldc: plane)
                    }
                    p0 += n
                }
            }
        }
        x.shrink(to: [1, cout, x.shape[2], x.shape[3]])
    }

    /// A convolution's bias [Cout] and residual (its output's shape [B, Cout, ho, wo]) fit `output`.
    private static func checkOutputOperands(bias: Tensor?, residual: Tensor?, output: [Int]) {
        if let bias { precondition(bias.shape == [output[1]], "conv2d: bias \(bias.shape) != [\(output[1])]") }
        if let residual { precondition(residual.shape == output, "conv2d: residual \(residual.shape) != \(output)") }
    }

    /// The im2col + GEMM convolution (and 1x1 without im2col) behind conv2d.
    private static func conv2dGEMM(
        _ x: Tensor, weight gemmWeight: GEMMWeight, bias: Tensor?, stride: Int, padding: Padding2D, ho: Int, wo: Int
    ) -> Tensor {
        let batch = x.shape[0], cin = x.shape[1], h = x.shape[2], w = x.shape[3]
        let wshape = gemmWeight.shape
        let cout = wshape[0], kh = wshape[2], kw = wshape[3]
        let outPlane = ho * wo, inPlane = h * w
        let kdim = cin * kh * kw
        return Tensor(shape: [batch, cout, ho, wo]) { out in
            guard let o = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xb in
            withGEMMWeight(gemmWeight) { wgemm in
                let xp = xb.baseAddress!
                /// C [Cout, n] (+)= W · B for B [kdim, n] float32 with row stride ldb.
                func gemm(n: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                          parallel: Bool = true) {
                    switch wgemm {
                    case .fp32(let wpt):
                        sgemm(m: cout, n: n, k: kdim, a: wpt, lda: kdim, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                              parallel: parallel)
                    case .bf16(let a16, let lda16):
                        bf16gemm(m: cout, n: n, k: kdim, a16: a16, lda16: lda16, b: b, ldb: ldb, pb: nil,
                                 beta: beta, c: c, ldc: ldc, parallel: parallel)
                    }
                }
                let direct = kh == 1 && kw == 1 && stride == 1 && padding == .uniform(0)
                if case .fp32(let wpt) = wgemm, panelConvolutionApplies(weight: gemmWeight, ho: ho, wo: wo) {
                    panelConvolution(xp, batch: batch, cin: cin, h: h, w: w, padding: padding, stride: stride,
                                     weight: wpt, cout: cout, kh: kh, kw: kw, bias: bias, ho: ho, wo: wo, out: o)
                    return
                }
                if batch > 1 && outPlane <= batchMergePlane && kdim * batch * outPlane <= im2colMaxFloats {
                    // Small planes: one sgemm over all images (N = batch·plane), so the weights
                    // are packed once instead of once per image, then scatter to [B, Cout, plane].
                    let n = batch * outPlane
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: kdim * n)
                    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: cout * n)
                    defer { col.deallocate(); tmp.deallocate() }
                    withPaddedImages(direct ? .uniform(0) : padding, cin: cin, h: h, w: w) { image in
                        for b in 0..<batch {
                            let xbatch = xp + b * cin * inPlane
                            if direct {
                                for c in 0..<cin { (col + c * n + b * outPlane).update(from: xbatch + c * inPlane, count: inPlane) }
                            } else {
                                im2col(image.prepare(xbatch), image: image, kh: kh, kw: kw, stride: stride,
                                       row0: 0, rows: ho, wo: wo, col: col + b * outPlane, ldcol: n)
                            }
                        }
                    }
                    gemm(n: n, b: col, ldb: n, beta: 0, c: tmp, ldc: n)
                    let biasValues = bias?.storage
                    parallelFor(cout, minChunk: max(1, 16384 / max(1, n))) { c in
                        let bv: Float = biasValues?[c] ?? 0
                        for b in 0..<batch {
                            let src = tmp + c * n + b * outPlane, dst = o + (b * cout + c) * outPlane
                            for i in 0..<outPlane { dst[i] = src[i] + bv }
                        }
                    }
                    return
                }
                // Rows of output per band so the im2col buffer stays bounded.
                let bandRows = direct ? ho : max(1, min(ho, im2colMaxFloats / max(1, kdim * wo)))
                // Large planes: each thread takes whole bands small enough that its patches stay
                // in its own cache between im2col and sgemm (then the shared buffer is not needed).
                let threads = ComputeThreads.count
                let cacheRows = max(1, min(bandRows, max(cacheBandFloats / max(1, kdim * wo),
                                                         (minBandColumns + wo - 1) / wo)))
                let cacheBands = (ho + cacheRows - 1) / cacheRows
                let perThreadBands = !direct && threads > 1 && cacheBands >= 2 * threads
                var col = direct || perThreadBands ? [] : [Float](repeating: 0, count: kdim * bandRows * wo)
                withPaddedImages(direct ? .uniform(0) : padding, cin: cin, h: h, w: w) { image in
                col.withUnsafeMutableBufferPointer { colBuf in
                    for b in 0..<batch {
                        let ob = o + b * cout * outPlane
                        // Prefill with bias so sgemm accumulates onto it (beta = 1).
                        if let bias {
                            bias.withUnsafeBufferPointer { bp in
                                parallelFor(cout, minChunk: max(1, 16384 / max(1, outPlane))) { c in
                                    (ob + c * outPlane).update(repeating: bp[c], count: outPlane)
                                }
                            }
                        }
                        let beta: Float = bias == nil ? 0 : 1
                        let xbatch = xp + b * cin * inPlane
                        if direct {
                            // In bands of pixels, as conv1x1InPlace runs (the same GEMM shapes, the same sums).
                            let band = conv1x1Band(cin: cin, plane: outPlane)
                            var p0 = 0
                            while p0 < outPlane {
                                let n = min(band, outPlane - p0)
                                gemm(n: n, b: xbatch + p0, ldb: inPlane, beta: beta, c: ob + p0, ldc: outPlane)
                                p0 += n
                            }
                            continue
                        }
                        let xpad = image.prepare(xbatch)
                        if perThreadBands {
                            parallelRun(threads, threads: threads) { t in
                                let cp = UnsafeMutablePointer<Float>.allocate(capacity: kdim * cacheRows * wo)
                                defer { cp.deallocate() }
                                var band = t
                                while band < cacheBands {
                                    let row0 = band * cacheRows, rows = min(cacheRows, ho - band * cacheRows)
                                    let n = rows * wo
                                    im2col(xpad, image: image, kh: kh, kw: kw, stride: stride,
                                           row0: row0, rows: rows, wo: wo, col: cp, ldcol: n, parallel: false)
                                    gemm(n: n, b: cp, ldb: n, beta: beta, c: ob + row0 * wo, ldc: outPlane, parallel: false)
                                    band += threads
                                }
                            }
                            continue
                        }
                        let cp = colBuf.baseAddress!
                        var row0 = 0
                        while row0 < ho {
                            let rows = min(bandRows, ho - row0)
                            let n = rows * wo
                            im2col(xpad, image: image, kh: kh, kw: kw, stride: stride,
                                   row0: row0, rows: rows, wo: wo, col: cp, ldcol: n)
                            gemm(n: n, b: cp, ldb: n, beta: beta, c: ob + row0 * wo, ldc: outPlane)
                            row0 += rows
                        }
                    }
                }
                }
            }
            }
        }
    }

    /// Whether conv2d runs `panelConvolution`: float32 weights of at most `panelConvolutionMaxWeight`
    /// values, an output plane of at most `batchMergePlane` pixels with 16 | ho·wo, and 16 | wo or
    /// wo | 16.
    static func panelConvolutionApplies(weight: GEMMWeight, ho: Int, wo: Int) -> Bool {
        guard case .fp32 = weight, weight.shape.count == 4, ho > 0, wo > 0 else { return false }
        let plane = ho * wo, size = weight.shape.reduce(1, *)
        return plane <= batchMergePlane && plane % 16 == 0 && (16 % wo == 0 || wo % 16 == 0)
            && size <= panelConvolutionMaxWeight
    }

    /// A float32 convolution on a small plane without a patch matrix: each thread fills the patches
    /// of 16-pixel panels (one or a few at a time, in `lk_sgemm_packed`'s panel layout, so they stay
    /// in its cache) and multiplies the weight rows [Cout, Cin·kH·kW] into them, the output prefilled
    /// with the bias. Every output pixel is the bias plus its products in increasing patch order,
    /// whatever the batch, the panel or the thread. Needs 16 | ho·wo and 16 | wo or wo | 16 (a panel
    /// is part of one output row or whole rows of one image).
    private static func panelConvolution(
        _ x: UnsafePointer<Float>, batch: Int, cin: Int, h: Int, w: Int, padding: Padding2D, stride: Int,
        weight: UnsafePointer<Float>, cout: Int, kh: Int, kw: Int, bias: Tensor?, ho: Int, wo: Int,
        out: UnsafeMutablePointer<Float>
    ) {
        let nr = Int(LK_SGEMM_NR)
        let outPlane = ho * wo, kdim = cin * kh * kw
        let hp = h + padding.top + padding.bottom, wp = w + padding.left + padding.right
        // Every image padded once (small planes: at most batch · Cin · 34² floats).
        var padded: UnsafeMutablePointer<Float>?
        if padding != .uniform(0) {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: batch * cin * hp * wp)
            parallelChunks(batch * cin, minChunk: max(1, 16384 / max(1, hp * wp))) { r in
                lk_pad_planes(x + r.lowerBound * h * w, r.count, h, w, padding.top, padding.left, padding.bottom,
                              padding.right, buffer + r.lowerBound * hp * wp)
            }
            padded = buffer
        }
        defer { padded?.deallocate() }
        let xpad = UnsafePointer(padded) ?? x
        if let bias {
            bias.withUnsafeBufferPointer { bp in
                parallelFor(batch * cout, minChunk: max(1, 16384 / outPlane)) { i in
                    (out + i * outPlane).update(repeating: bp[i % cout], count: outPlane)
                }
            }
        } else {
            out.update(repeating: 0, count: batch * cout * outPlane)
        }
        // Panels per call: their patches (kdim x 16 floats each) within about 128 KB.
        let perCall = max(1, min(4, 32768 / max(1, kdim * nr), outPlane / nr))
        let callsPerImage = (outPlane / nr + perCall - 1) / perCall
        let calls = batch * callsPerImage
        let threads = min(gemmThreads(flops: 2 * cout * kdim * outPlane * batch), calls)
        parallelRun(threads, threads: threads) { t in
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: perCall * kdim * nr)
            defer { panel.deallocate() }
            var call = t
            while call < calls {
                let b = call / callsPerImage
                let p0 = (call % callsPerImage) * perCall * nr
                let n = min(perCall * nr, outPlane - p0)
                let image = xpad + b * cin * hp * wp
                for j in Swift.stride(from: 0, to: n, by: nr) {
                    let p = p0 + j
                    // 16 pixels: whole rows (wo | 16) or part of one row (16 | wo).
                    let row0 = p / wo, rows = wo <= nr ? nr / wo : 1, cols = min(wo, nr)
                    let shift = wo <= nr ? 0 : (p % wo) * stride
                    lk_im2col_padded(image + shift, hp, wp, kh, kw, stride, row0, rows, cols, panel + j * kdim, nr,
                                     0, kdim)
                }
                lk_sgemm_packed(cout, n, kdim, weight, kdim, panel, 0, nil, 1, out + b * cout * outPlane + p0, outPlane)
                call += threads
            }
        }
    }

    /// The weight's memory as the GEMM reads it, for the duration of `body`.
    private enum GEMMWeightPointer {
        case fp32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>, Int)
    }

    private static func withGEMMWeight(_ w: GEMMWeight, _ body: (GEMMWeightPointer) -> Void) {
        switch w {
        case .fp32(let m):
            m.tensor.withUnsafeBufferPointer { body(.fp32($0.baseAddress!)) }
        case .bf16(let m):
            precondition(m.layout == .rows, "conv2d: bf16 weight must be held as rows")
            withExtendedLifetime(m) { body(.bf16(UnsafePointer(m.data), m.ld)) }
        }
    }

    /// One image's zero-padded copy [Cin, hp, wp], the input im2col reads: made by `prepare` into a
    /// buffer reused over the images of a call (with no padding, the image itself).
    struct PaddedImage {
        let cin: Int, h: Int, w: Int, padding: Padding2D
        let buffer: UnsafeMutablePointer<Float>?
        var hp: Int { h + padding.top + padding.bottom }
        var wp: Int { w + padding.left + padding.right }

        /// `x` [Cin, h, w] → its padded copy (overwriting the previous image's).
        func prepare(_ x: UnsafePointer<Float>) -> UnsafePointer<Float> {
            guard let buffer else { return x }
            let p = padding, h = h, w = w, hp = hp, wp = wp
            parallelChunks(cin, minChunk: max(1, 16384 / max(1, hp * wp))) { r in
                lk_pad_planes(x + r.lowerBound * h * w, r.count, h, w, p.top, p.left, p.bottom, p.right,
                              buffer + r.lowerBound * hp * wp)
            }
            return UnsafePointer(buffer)
        }
    }

    private static func withPaddedImages(_ padding: Padding2D, cin: Int, h: Int, w: Int, _ body: (PaddedImage) -> Void) {
        guard padding != .uniform(0) else {
            body(PaddedImage(cin: cin, h: h, w: w, padding: padding, buffer: nil))
            return
        }
        let hp = h + padding.top + padding.bottom, wp = w + padding.left + padding.right
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: cin * hp * wp)
        defer { buffer.deallocate() }
        body(PaddedImage(cin: cin, h: h, w: w, padding: padding, buffer: buffer))
    }

    /// Fills `col` [Cin*kH*kW, rows*wo] (row stride `ldcol`) with the patches for output rows
    /// row0..<row0+rows, from `xpad`, the padded image `image` describes (lk_im2col_padded).
    private static func im2col(
        _ xpad: UnsafePointer<Float>, image: PaddedImage, kh: Int, kw: Int, stride: Int,
        row0: Int, rows: Int, wo: Int, col: UnsafeMutablePointer<Float>, ldcol: Int, parallel: Bool = true
    ) {
        let kdim = image.cin * kh * kw, hp = image.hp, wp = image.wp
        let fill = { (r: Range<Int>) in
            lk_im2col_padded(xpad, hp, wp, kh, kw, stride, row0, rows, wo, col, ldcol, r.lowerBound, r.upperBound)
        }
        if parallel {
            parallelChunks(kdim, minChunk: max(1, 8192 / max(1, rows * wo)), fill)
        } else {
            fill(0..<kdim)
        }
    }
}
