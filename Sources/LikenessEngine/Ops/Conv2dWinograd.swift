// 3x3 stride-1 float32 convolutions by Winograd F(4x4, 3x3) (CLikenessKernels/winograd.c):
// the weights go to U [36][Cout][Cin] once per call (in groups of output channels for wide
// layers, so U stays under 24 MB; layers whose U is at most 4 MB keep it with the weight, made
// on first use), each band of 4x4 output tiles is
// transformed to V [36][Cin][tiles], 36 sgemms U_k · V_k give M [36][Cout][tiles], and the
// output transform writes the tiles with the bias (and an optional ReLU). 2.25 multiply-adds per
// output and input channel instead of im2col's 9, and the transformed band (2.25x the input
// band, not im2col's 9x) stays in the thread's cache. The 36 products run in the kernel's own
// register-tiled loop (lk_winograd_gemm: 8 rows x 32 tiles per tile with AVX-512, about twice
// OpenBLAS sgemm's speed on these small [Cout, Cin] x [Cin, tiles] shapes; 2 rows x 48 tiles with
// AVX2 only). Each thread takes whole bands. With `upsampled` the input transform reads x's
// nearest 2x upsample from x itself (TAESD's upsample + conv, Ops.conv2dUpsampled2x).
// Results agree with the im2col path to float32 rounding of the transforms (~1e-6 relative;
// tests: OpsParityTests.testConv2dWinograd*).
// A bfloat16 weight (the engine's bf16 precision) on a CPU with AVX512-BF16 runs the 36 products
// on bfloat16 operands (lk_winograd_gemm_bf16, vdpbf16ps over pairs of input channels): U made
// from the weight's bfloat16 rows, each band's V rounded once; the transforms and sums stay
// float32. The transformed operands span a wider range than the weight and input, so the
// rounding costs more than in the bf16 im2col GEMM: 1-2.5% of the output's norm against 0.2%
// (ConvWinogradTests.testBF16Products; images: PrecisionTests, docs/BENCHMARKS.md).

import CLikenessKernels
import Foundation

extension Ops {
    /// 3x3 stride-1 float32 convolutions with at least this many output pixels (over the batch)
    /// take the Winograd path; layers of at most `winogradNarrowPairs` (Cout · Cin) from half as many.
    /// (A variable so tests can raise it to compare against im2col; LIKENESS_WINOGRAD=0 turns the path
    /// off, for benchmarks of the GEMM path.)
    nonisolated(unsafe) static var winogradMinPixels =
        ProcessInfo.processInfo.environment["LIKENESS_WINOGRAD"] == "0" ? Int.max : 1024
    /// The built-in model's 16x16 level (64-192 channels, 512-768 pixels at batch 2-3) measured faster
    /// through Winograd than through the panel GEMM (docs/BENCHMARKS.md); wider layers on such planes
    /// (SD's 1280 channels at 16x16) keep the GEMM, their per-call weight transform being 40x larger.
    static let winogradNarrowPairs = 1 << 16
    /// Target floats of one band's V and M together (about 1.1 MB, so that they stay in a core's L2
    /// between the transforms and the products: 64 tiles at 64 + 64 channels, 32 from 128 + 128 up;
    /// measured best on this machine's AMD EPYC), and the band's size limits in tiles.
    static let winogradBandFloats = 9 << 15
    static let winogradBandTiles = 32...512
    /// Most floats of transformed weights U [36][Cout][Cin] held at once (24 MB): wider layers run
    /// their output channels in groups, each group's bands transformed again (the input transform
    /// is 1-2% of the products per group). SD-1.5's 1280 -> 1280 upsampler convolution held 236 MB.
    /// A variable so tests can force many groups.
    nonisolated(unsafe) static var winogradWeightFloats = 6 << 20
    /// Weights whose transform has at most this many floats (or, for bfloat16 products, 32-bit
    /// channel pairs; 4 MB: the built-in model's 16x16 level, the VAEs' 128-channel layers) keep it
    /// with the weight (`FP32Matrix.winogradTransformed`, `BF16Matrix.winogradTransformed`), made on
    /// first use instead of at every call; the transform is about 4x the weight.
    static let winogradCachedFloats = 1 << 20
    /// Whether a bfloat16 weight's 36 products run on bfloat16 operands where the CPU has
    /// AVX512-BF16 (LIKENESS_BF16_WINOGRAD=0 keeps them float32 with the weight widened, for
    /// benchmarks and accuracy comparisons).
    nonisolated(unsafe) static var bf16WinogradProducts = ProcessInfo.processInfo.environment["LIKENESS_BF16_WINOGRAD"] != "0"
    /// Runs the 36 products of a bfloat16 weight on bfloat16 operands on CPUs without AVX512-BF16
    /// too (their portable loop), so that tests check that path everywhere.
    nonisolated(unsafe) static var bf16WinogradOnAnyCPU = false

    /// U [36][lk_winograd_rows(Cout)][Cin] of the weight [Cout, Cin, 3, 3], the rows past Cout zero.
    static func winogradTransform(_ weight: Tensor) -> Tensor {
        let cout = weight.shape[0], cin = weight.shape[1], coutp = lk_winograd_rows(cout)
        return Tensor(shape: [36, coutp, cin]) { u in
            weight.withUnsafeBufferPointer { wb in
                winogradTransform(wb.baseAddress!, cout: cout, cin: cin, coutp: coutp, into: u.baseAddress!)
            }
        }
    }

    /// U for output channels 0..<cout of `w` (their rows of [Cout, Cin, 3, 3]) into u
    /// [36][coutp][cin], rows cout..<coutp zeroed.
    static func winogradTransform(_ w: UnsafePointer<Float>, cout: Int, cin: Int, coutp: Int, into u: UnsafeMutablePointer<Float>) {
        winogradTransformRows(cout: cout, cin: cin, coutp: coutp, rowWidth: cin, into: u) { r in
            lk_winograd_weights(w, coutp, cin, r.lowerBound, r.upperBound, u)
        }
    }

    /// The same from the bfloat16 rows `w16` (row stride `ld`) into u2 [36][coutp][lk_winograd_pairs(cin)],
    /// pairs of input channels (lk_winograd_weights_bf16).
    static func winogradTransform(_ w16: UnsafePointer<UInt16>, ld: Int, cout: Int, cin: Int, coutp: Int,
                                  into u2: UnsafeMutablePointer<UInt32>) {
        winogradTransformRows(cout: cout, cin: cin, coutp: coutp, rowWidth: lk_winograd_pairs(cin), into: u2) { r in
            lk_winograd_weights_bf16(w16, ld, coutp, cin, r.lowerBound, r.upperBound, u2)
        }
    }

    /// Zeroes rows cout..<coutp of each of U's 36 blocks (rows of `rowWidth` elements), then runs
    /// `rows` over the output channels in chunks on the engine's threads.
    private static func winogradTransformRows<T: Numeric>(cout: Int, cin: Int, coutp: Int, rowWidth: Int,
                                                          into u: UnsafeMutablePointer<T>, _ rows: (Range<Int>) -> Void) {
        if coutp > cout {
            for k in 0..<36 { (u + (k * coutp + cout) * rowWidth).initialize(repeating: 0, count: (coutp - cout) * rowWidth) }
        }
        parallelChunks(cout, minChunk: max(1, 8192 / max(1, cin)), rows)
    }

    /// Whether a convolution with weight [Cout, Cin, kH, kW] runs Winograd.
    static func winogradApplies(weight shape: [Int], stride: Int, batch: Int, ho: Int, wo: Int) -> Bool {
        guard shape.count == 4, shape[2] == 3, shape[3] == 3, stride == 1, winogradMinPixels < Int.max else { return false }
        let pixels = batch * ho * wo
        return pixels >= winogradMinPixels || (pixels >= winogradMinPixels / 2 && shape[0] * shape[1] <= winogradNarrowPairs)
    }

    /// `x` [B, Cin, H, W], `weight` [Cout, Cin, 3, 3] float32 → [B, Cout, ho, wo] with ho, wo the
    /// output size for `padding` (stride 1). `residual` [B, Cout, ho, wo] is added to the result,
    /// and `relu` clamps the sum (bias and residual included) at 0. With `upsampled` the convolution
    /// runs on x's nearest 2x upsample [B, Cin, 2H, 2W], which the input transform reads from x.
    /// With `input` (SiLU after the affine map) the convolution runs on that map of x, read on the fly.
    static func conv2dWinograd(_ x: Tensor, weight: GEMMWeight, bias: Tensor?, padding: Padding2D, ho: Int, wo: Int,
                               residual: Tensor? = nil, relu: Bool = false, upsampled: Bool = false,
                               input: ChannelAffine? = nil) -> Tensor {
        Tensor(shape: [x.shape[0], weight.shape[0], ho, wo]) { out in
            guard let o = out.baseAddress else { return }
            withOptionalPointer(residual) { r in
                conv2dWinograd(x, weight: weight, bias: bias, padding: padding, ho: ho, wo: wo, residual: r, relu: relu,
                               upsampled: upsampled, input: input, into: o)
            }
        }
    }

    /// The same into `o` [B, Cout, ho, wo]; `residual` may be `o` itself (each output reads its own
    /// residual value before writing it).
    /// A bfloat16 weight's 36 products run on bfloat16 operands where the CPU has AVX512-BF16
    /// (`bf16WinogradOnAnyCPU`: everywhere; `bf16WinogradProducts` off: nowhere, the weight widened).
    /// Either kind may bring its transform made before (`FP32Matrix.winogradTransformed`,
    /// `BF16Matrix.winogradTransformed`).
    static func conv2dWinograd(_ x: Tensor, weight gemmWeight: GEMMWeight, bias: Tensor?, padding: Padding2D, ho: Int, wo: Int,
                               residual: UnsafePointer<Float>?, relu: Bool, upsampled: Bool, input: ChannelAffine?,
                               into o: UnsafeMutablePointer<Float>) {
        let batch = x.shape[0], cin = x.shape[1], h = x.shape[2], w = x.shape[3]
        precondition(input.map { $0.silu && $0.scale.count == batch * cin && $0.shift.count == batch * cin } ?? true,
                     "conv2dWinograd: the input map must be [B * Cin] with SiLU")
        let cout = gemmWeight.shape[0]
        _ = BLASCore.configured  // the engine's memory settings, as sgemm would make them
        precondition(gemmWeight.shape == [cout, cin, 3, 3], "conv2dWinograd: weight \(gemmWeight.shape)")
        let tilesW = (wo + 3) / 4, tilesH = (ho + 3) / 4
        let tilesPerImage = tilesW * tilesH, total = batch * tilesPerImage
        let threads = max(1, min(ComputeThreads.count, total))
        // A bfloat16 weight's products on bfloat16 operands (U and each band's V rounded, float32 sums):
        // U is made from the weight's bfloat16 rows, as pairs of input channels (no float32 copy),
        // and kept with a narrow weight.
        let bf16Weight: BF16Matrix?
        if case .bf16(let matrix) = gemmWeight,
           bf16WinogradOnAnyCPU || (bf16WinogradProducts && ComputePrecision.bf16Kernel == .native) {
            precondition(matrix.layout == .rows, "conv2dWinograd: bf16 weight must be held as rows")
            bf16Weight = matrix
        } else {
            bf16Weight = nil
        }
        let cin2 = lk_winograd_pairs(cin)
        // Output channels in groups whose transformed weights stay under winogradWeightFloats.
        let groupRows = max(16, winogradWeightFloats / (36 * max(1, bf16Weight == nil ? cin : cin2)) / 16 * 16)
        let groups = (cout + groupRows - 1) / groupRows
        let rowsPerGroup = (cout + groups - 1) / groups
        var transformed: Tensor?
        if groups == 1, case .fp32(let matrix) = gemmWeight { transformed = matrix.winogradTransformed() }
        let transformed2 = groups == 1 ? bf16Weight?.winogradTransformed() : nil
        let weight = transformed == nil && bf16Weight == nil ? gemmWeight.tensor : nil
        let maxCoutp = lk_winograd_rows(rowsPerGroup)
        let made = weight != nil ? UnsafeMutablePointer<Float>.allocate(capacity: 36 * maxCoutp * cin) : nil
        defer { made?.deallocate() }
        let made2 = bf16Weight != nil && transformed2 == nil
            ? UnsafeMutablePointer<UInt32>.allocate(capacity: 36 * maxCoutp * cin2) : nil
        defer { made2?.deallocate() }

        x.withUnsafeBufferPointer { xb in
            withOptionalPointer(weight) { wp in
            withOptionalPointer(transformed) { cached in
            withOptionalPointer(transformed2) { cached2 in
            withOptionalPointer(input?.scale) { actScale in
            withOptionalPointer(input?.shift) { actShift in
                let xp = xb.baseAddress!
                let residualPointer = residual
                withOptionalPointer(bias) { biasPointer in
                for group in 0..<groups {
                    let c0 = group * rowsPerGroup, gc = min(cout, c0 + rowsPerGroup) - c0
                    let coutp = lk_winograd_rows(gc)
                    var u: UnsafePointer<Float>? = cached
                    if let made {
                        winogradTransform(wp! + c0 * cin * 9, cout: gc, cin: cin, coutp: coutp, into: made)
                        u = UnsafePointer(made)
                    }
                    var u2: UnsafePointer<UInt32>? = cached2
                    if let made2, let bf16Weight {
                        withExtendedLifetime(bf16Weight) {
                            winogradTransform(UnsafePointer(bf16Weight.data) + c0 * bf16Weight.ld, ld: bf16Weight.ld,
                                              cout: gc, cin: cin, coutp: coutp, into: made2)
                        }
                        u2 = UnsafePointer(made2)
                    }
                    var bandTiles = min(winogradBandTiles.upperBound,
                                        max(winogradBandTiles.lowerBound, winogradBandFloats / (36 * (cin + gc))))
                    // A whole number of bands per thread, of about equal size.
                    var bands = (total + bandTiles - 1) / bandTiles
                    bands = (bands + threads - 1) / threads * threads
                    bandTiles = (total + bands - 1) / bands
                    bands = (total + bandTiles - 1) / bandTiles
                    let scratchFloats = lk_winograd_scratch_floats(min(tilesW, bandTiles))
                    let groupBias = biasPointer.map { $0 + c0 }
                    parallelRun(threads, threads: threads) { thread in
                        // Columns padded to whole 16-float vectors. V's rows have 16 more: the input
                        // transform writes 15 columns past each segment, so a band's transform writes
                        // every column the products read, and the products every column of M; neither
                        // is cleared first. The output pass reads whole vectors and drops the lanes past
                        // a segment's last tile; M's 16 extra floats keep those reads inside it.
                        let ldMax = (bandTiles + 15) / 16 * 16
                        let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * cin * (ldMax + 16))
                        let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * coutp * ldMax + 16)
                        (m + 36 * coutp * ldMax).initialize(repeating: 0, count: 16)
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
                        let v2 = u2 == nil ? nil : UnsafeMutablePointer<UInt32>.allocate(capacity: 36 * cin2 * ldMax)
                        defer { v.deallocate(); m.deallocate(); scratch.deallocate(); v2?.deallocate() }
                        var band = thread
                        while band < bands {
                            let t0 = band * bandTiles, t1 = min(total, t0 + bandTiles), n = (t1 - t0 + 15) / 16 * 16
                            // The band's tiles, as segments of tile rows.
                            func segments(_ body: (_ image: Int, _ ty: Int, _ tx: Int, _ count: Int, _ offset: Int) -> Void) {
                                var t = t0
                                while t < t1 {
                                    let image = t / tilesPerImage, r = t % tilesPerImage
                                    let ty = r / tilesW, tx = r % tilesW
                                    let count = min(tilesW - tx, t1 - t)
                                    body(image, ty, tx, count, t - t0)
                                    t += count
                                }
                            }
                            segments { image, ty, tx, count, offset in
                                lk_winograd_input(xp + image * cin * h * w, cin, h, w, upsampled ? 1 : 0, padding.top,
                                                  padding.left, actScale.map { $0 + image * cin }, actShift.map { $0 + image * cin },
                                                  ty, tx, count, v + offset, n + 16, scratch)
                            }
                            if let u2, let v2 {
                                lk_winograd_pack_bf16(v, cin, n + 16, n, v2, n)
                                lk_winograd_gemm_bf16(u2, coutp, cin, v2, n, n, m, n)
                            } else {
                                lk_winograd_gemm(u!, coutp, cin, v, n + 16, n, m, n)
                            }
                            segments { image, ty, tx, count, offset in
                                let at = (image * cout + c0) * ho * wo
                                lk_winograd_output(m + offset, n, gc, coutp, ty, tx, count, groupBias,
                                                   residualPointer.map { $0 + at }, relu ? 1 : 0, o + at, ho, wo, scratch)
                            }
                            band += threads
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
    }

    /// `body` with the tensor's storage, or with nil.
    static func withOptionalPointer(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> Void) {
        if let t { t.withUnsafeBufferPointer { body($0.baseAddress) } } else { body(nil) }
    }

    /// `body` with the array's storage, or with nil.
    static func withOptionalPointer<T>(_ a: [T]?, _ body: (UnsafePointer<T>?) -> Void) {
        if let a { a.withUnsafeBufferPointer { body($0.baseAddress) } } else { body(nil) }
    }
}
