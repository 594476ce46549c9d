// The Winograd F(4x4, 3x3) convolution (Ops.conv2dWinograd) against the im2col path on odd
// shapes (padding 0/1/2 and asymmetric, channels not multiples of 16, planes not multiples of
// the 4x4 tile, batch 2, bands split inside tile rows, 1 and 2 threads), and against PyTorch's
// conv2d on the ops fixtures (scripts/fixtures/ops_models.py) with the path forced on; the
// convolution of a nearest 2x upsample read from the low-resolution input (conv2dUpsampled2x)
// against the upsample built, then the convolution.
// Measured at the time of writing: up to 7e-6 of the output's magnitude against im2col (random
// weights of unit variance over 64-130 input channels), 5e-6 against PyTorch on the fixtures.

import XCTest
@testable import LikenessEngine
import CLikenessKernels
import CLikenessBF16

final class ConvWinogradTests: XCTestCase {
    func randn(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = TorchGenerator(seed: seed)
        return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)))!
    }

    /// conv2d with the Winograd path on (for every plane size) or off.
    func conv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ padding: Ops.Padding2D, winograd: Bool) -> Tensor {
        let saved = Ops.winogradMinPixels
        defer { Ops.winogradMinPixels = saved }
        Ops.winogradMinPixels = winograd ? 0 : Int.max
        return Ops.conv2d(x, weight: w, bias: b, stride: 1, padding: padding)
    }

    func compare(batch: Int, cin: Int, cout: Int, h: Int, w: Int, padding: Ops.Padding2D, bias: Bool = true,
                 threads: [Int] = [1, 2], file: StaticString = #filePath, line: UInt = #line) {
        let x = randn([batch, cin, h, w], seed: 1)
        let weight = randn([cout, cin, 3, 3], seed: 2)
        let b = bias ? randn([cout], seed: 3) : nil
        let savedThreads = ComputeThreads.count
        defer { ComputeThreads.set(savedThreads) }
        for t in threads {
            ComputeThreads.set(t)
            let expected = conv(x, weight, b, padding, winograd: false)
            let actual = conv(x, weight, b, padding, winograd: true)
            assertClose(actual, expected, "winograd \(batch)x\(cin)x\(h)x\(w) -> \(cout), \(padding), \(t) threads",
                        relTol: 2e-5, file: file, line: line)
        }
    }

    func testOddShapes() {
        compare(batch: 1, cin: 3, cout: 5, h: 9, w: 11, padding: .uniform(1))
        compare(batch: 2, cin: 19, cout: 7, h: 13, w: 21, padding: .uniform(1))
        compare(batch: 2, cin: 17, cout: 33, h: 30, w: 45, padding: Ops.Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        compare(batch: 1, cin: 8, cout: 8, h: 10, w: 10, padding: .uniform(0), bias: false)
        compare(batch: 1, cin: 6, cout: 4, h: 7, w: 9, padding: .uniform(2))
        compare(batch: 1, cin: 4, cout: 3, h: 3, w: 3, padding: .uniform(0))
    }

    func testManyBandsSplitInsideTileRows() {
        // 64 + 64 channels: bands of 113 tiles, so bands start and end inside the 17-tile rows,
        // and cross from one image of the batch to the next.
        compare(batch: 2, cin: 64, cout: 64, h: 70, w: 66, padding: .uniform(1))
        compare(batch: 1, cin: 130, cout: 20, h: 40, w: 36, padding: .uniform(1))
    }

    func testOutputChannelGroups() throws {
        // Transformed weights capped at 16 rows of U: 40 output channels run as groups of 14, 14 and
        // 12 (each group's bands transformed again), with bias, residual and ReLU at each group's
        // offset, the upsampled form too; the same bits as one group, and close to im2col.
        let x = randn([2, 24, 19, 22], seed: 8), w = randn([40, 24, 3, 3], seed: 9), b = randn([40], seed: 10)
        let r = randn([2, 40, 19, 22], seed: 11), small = randn([1, 24, 9, 11], seed: 12)
        let savedMin = Ops.winogradMinPixels, savedFloats = Ops.winogradWeightFloats
        defer { Ops.winogradMinPixels = savedMin; Ops.winogradWeightFloats = savedFloats }
        Ops.winogradMinPixels = 0
        func run() -> (Tensor, Tensor) {
            (Ops.conv2d(x, weight: .fp32(FP32Matrix(w)), bias: b, stride: 1, padding: .uniform(1), residual: r, relu: true),
             Ops.conv2dUpsampled2x(small, weight: .fp32(FP32Matrix(w)), bias: b, padding: .uniform(1)))
        }
        let (whole, wholeUp) = run()
        Ops.winogradWeightFloats = 36 * 24 * 16
        let (grouped, groupedUp) = run()
        XCTAssertEqual(grouped, whole, "groups of output channels against one group")
        XCTAssertEqual(groupedUp, wholeUp, "groups of output channels, upsampled input")
        Ops.winogradMinPixels = Int.max
        let (im2col, im2colUp) = run()
        assertClose(grouped, im2col, "grouped winograd against im2col", relTol: 2e-5)
        assertClose(groupedUp, im2colUp, "grouped winograd against im2col, upsampled", relTol: 2e-5)
    }

    /// A bfloat16 weight's 36 products on bfloat16 operands (lk_winograd_gemm_bf16): against the
    /// float32 convolution of the same (bfloat16-valued) weight through im2col, within 5% of the
    /// output's norm (the transformed operands' rounding; measured 1-2.5% on these shapes) and not
    /// equal to it (the path ran); odd channel counts (a pair's zero half), output rows past a
    /// multiple of 8, groups of output channels, the input map, the upsampled input and a residual
    /// with ReLU. Run on any CPU with the test switch (the portable loop where there is no
    /// AVX512-BF16); where the native kernel runs it agrees with the portable loop. Without the
    /// switch the products run on bfloat16 exactly where the native kernel does.
    func testBF16Products() {
        let savedMin = Ops.winogradMinPixels, savedFloats = Ops.winogradWeightFloats
        defer { Ops.winogradMinPixels = savedMin; Ops.winogradWeightFloats = savedFloats; Ops.bf16WinogradOnAnyCPU = false }
        Ops.winogradMinPixels = 0
        func relative(_ a: Tensor, _ b: Tensor) -> Double {
            rmsDifference(a, b) / max(rmsDifference(b, Tensor(zeros: b.shape)), 1e-30)
        }
        let cases: [(batch: Int, cin: Int, cout: Int, h: Int, w: Int, groupRows: Int?)] = [
            (1, 19, 33, 13, 21, nil), (2, 64, 40, 18, 18, 16), (1, 7, 5, 9, 11, nil), (2, 130, 24, 16, 12, nil),
        ]
        for (i, c) in cases.enumerated() {
            let x = randn([c.batch, c.cin, c.h, c.w], seed: UInt64(20 + i))
            let w16 = BF16Matrix(randn([c.cout, c.cin, 3, 3], seed: UInt64(30 + i)), layout: .rows)
            let b = randn([c.cout], seed: UInt64(40 + i)), r = randn([c.batch, c.cout, c.h, c.w], seed: UInt64(50 + i))
            let scale = ChannelAffine(scale: randn([c.batch * c.cin], seed: 60).storage,
                                      shift: randn([c.batch * c.cin], seed: 61).storage, silu: true)
            let small = randn([c.batch, c.cin, (c.h + 1) / 2, (c.w + 1) / 2], seed: UInt64(70 + i))
            let wide = FP32Matrix(w16.widened())
            Ops.winogradWeightFloats = c.groupRows.map { 36 * ((c.cin + 1) / 2) * $0 } ?? (6 << 20)
            func run(_ weight: GEMMWeight) -> [Tensor] {
                [Ops.conv2d(x, weight: weight, bias: b, stride: 1, padding: .uniform(1), residual: r, relu: true),
                 Ops.conv2d(x, weight: weight, bias: b, padding: .uniform(1), input: scale),
                 Ops.conv2dUpsampled2x(small, weight: weight, bias: b, padding: .uniform(1))]
            }
            Ops.bf16WinogradOnAnyCPU = true
            let out = run(.bf16(w16))
            Ops.winogradMinPixels = Int.max
            let ref = run(.fp32(wide))
            Ops.winogradMinPixels = 0
            for (n, (o, e)) in zip(out, ref).enumerated() {
                let rel = relative(o, e)
                print("bf16 winograd \(c) form \(n): relative error \(rel)")
                XCTAssertLessThanOrEqual(rel, 5e-2, "\(c) form \(n)")
                XCTAssertGreaterThan(rel, 1e-5, "\(c) form \(n): equals float32, so the bf16 products did not run")
            }
            if ComputePrecision.bf16Kernel == .native {
                let before = lk_bf16_use_kernel(LK_BF16_KERNEL_PORTABLE)
                let portable = run(.bf16(w16))
                lk_bf16_use_kernel(before)
                for (n, (o, p)) in zip(out, portable).enumerated() {
                    XCTAssertLessThanOrEqual(o.maxAbsDifference(p) ?? .infinity, 1e-4 * max(1, p.maxAbs()),
                                             "\(c) form \(n): native kernel against the portable loop")
                }
            }
            // Without the switch: bfloat16 products exactly where the native kernel runs, else the
            // float32 products of the widened weight.
            Ops.bf16WinogradOnAnyCPU = false
            let plain = run(.bf16(w16))[0], widened = run(.fp32(wide))[0]
            XCTAssertEqual(plain == widened, ComputePrecision.bf16Kernel != .native, "\(c)")
        }
    }

    func testResidualAndReLUInTheOutputPass() {
        // relu(conv(x) + b + r) in the Winograd output pass against the im2col path's separate passes,
        // and both against the sum built by hand; a NaN in the residual stays NaN through the ReLU.
        let x = randn([2, 12, 21, 18], seed: 4), w = randn([10, 12, 3, 3], seed: 5), b = randn([10], seed: 6)
        var r = randn([2, 10, 21, 18], seed: 7)
        r.withUnsafeMutableBufferPointer { $0[5] = .nan }
        let saved = Ops.winogradMinPixels
        defer { Ops.winogradMinPixels = saved }
        var results: [Tensor] = []
        for minPixels in [0, Int.max] {
            Ops.winogradMinPixels = minPixels
            results.append(Ops.conv2d(x, weight: .fp32(FP32Matrix(w)), bias: b, stride: 1, padding: .uniform(1), residual: r, relu: true))
        }
        Ops.winogradMinPixels = Int.max
        var expected = Ops.conv2d(x, weight: w, bias: b, stride: 1, padding: 1)
        expected.withUnsafeMutableBufferPointer { e in
            r.withUnsafeBufferPointer { rp in for i in 0..<e.count { e[i] = max(e[i] + rp[i], 0) } }
        }
        for (y, label) in zip(results, ["winograd", "im2col"]) {
            XCTAssertTrue(y.storage[5].isNaN, "\(label): NaN through relu")
            var finite = y, want = expected
            finite.withUnsafeMutableBufferPointer { $0[5] = 0 }
            want.withUnsafeMutableBufferPointer { $0[5] = 0 }
            assertClose(finite, want, "\(label) conv + residual + relu", relTol: 1e-5)
            XCTAssertEqual(y.storage.filter { $0 < 0 }.count, 0, "\(label): no negative values after relu")
        }
    }

    /// conv2dUpsampled2x (the Winograd input transform reading the low-resolution input) against
    /// the upsample built, then conv2d, through im2col and through Winograd.
    func compareUpsampled(batch: Int, cin: Int, cout: Int, h: Int, w: Int, padding: Ops.Padding2D, relu: Bool = false,
                          file: StaticString = #filePath, line: UInt = #line) {
        let x = randn([batch, cin, h, w], seed: 8), weight = randn([cout, cin, 3, 3], seed: 9), b = randn([cout], seed: 10)
        let saved = Ops.winogradMinPixels, savedThreads = ComputeThreads.count
        defer { Ops.winogradMinPixels = saved; ComputeThreads.set(savedThreads) }
        for t in [1, 2] {
            ComputeThreads.set(t)
            var results: [Tensor] = []
            for minPixels in [Int.max, 0] {
                Ops.winogradMinPixels = minPixels
                results.append(Ops.conv2d(Ops.upsampleNearest2x(x), weight: .fp32(FP32Matrix(weight)), bias: b, stride: 1,
                                          padding: padding, relu: relu))
            }
            Ops.winogradMinPixels = 0
            let fused = Ops.conv2dUpsampled2x(x, weight: .fp32(FP32Matrix(weight)), bias: b, padding: padding, relu: relu)
            let what = "upsampled \(batch)x\(cin)x\(h)x\(w) -> \(cout), \(padding), \(t) threads"
            assertClose(fused, results[0], "\(what) against im2col", relTol: 2e-5, file: file, line: line)
            // The same transforms and products on the same values: only the input's reading differs.
            XCTAssertEqual(fused.storage, results[1].storage, "\(what) against Winograd on the built upsample",
                           file: file, line: line)
        }
    }

    func testUpsampledInputReadFromTheLowResolutionTensor() {
        compareUpsampled(batch: 1, cin: 3, cout: 5, h: 5, w: 7, padding: .uniform(1))
        compareUpsampled(batch: 2, cin: 19, cout: 7, h: 9, w: 11, padding: .uniform(1), relu: true)
        compareUpsampled(batch: 1, cin: 6, cout: 4, h: 4, w: 5, padding: .uniform(2))
        compareUpsampled(batch: 1, cin: 8, cout: 8, h: 6, w: 6, padding: .uniform(0))
        compareUpsampled(batch: 2, cin: 17, cout: 9, h: 15, w: 22, padding: Ops.Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        compareUpsampled(batch: 1, cin: 4, cout: 3, h: 3, w: 13, padding: Ops.Padding2D(top: 2, bottom: 0, left: 1, right: 2))
        // 64 + 64 channels: bands that start and end inside tile rows and cross images.
        compareUpsampled(batch: 2, cin: 64, cout: 64, h: 35, w: 33, padding: .uniform(1))
    }

    func testRouting() {
        let narrow = [64, 64, 3, 3], wide = [1280, 1280, 3, 3]
        XCTAssertTrue(Ops.winogradApplies(weight: narrow, stride: 1, batch: 1, ho: 64, wo: 64))
        XCTAssertTrue(Ops.winogradApplies(weight: wide, stride: 1, batch: 1, ho: 32, wo: 32))
        XCTAssertFalse(Ops.winogradApplies(weight: narrow, stride: 2, batch: 1, ho: 64, wo: 64), "stride 2 stays GEMM")
        XCTAssertFalse(Ops.winogradApplies(weight: [64, 64, 1, 1], stride: 1, batch: 1, ho: 64, wo: 64))
        XCTAssertFalse(Ops.winogradApplies(weight: narrow, stride: 1, batch: 1, ho: 8, wo: 8), "small planes stay GEMM")
        // The built-in model's 16x16 level at batch 2: narrow layers from 512 pixels, wide ones from 1024.
        XCTAssertTrue(Ops.winogradApplies(weight: [192, 192, 3, 3], stride: 1, batch: 2, ho: 16, wo: 16))
        XCTAssertFalse(Ops.winogradApplies(weight: wide, stride: 1, batch: 2, ho: 16, wo: 16), "wide layers at 512 pixels stay GEMM")
        XCTAssertFalse(Ops.winogradApplies(weight: narrow, stride: 1, batch: 1, ho: 16, wo: 16))
        let saved = Ops.winogradMinPixels
        defer { Ops.winogradMinPixels = saved }
        Ops.winogradMinPixels = .max
        XCTAssertFalse(Ops.winogradApplies(weight: narrow, stride: 1, batch: 4, ho: 64, wo: 64), "off means off")
    }

    func testAgainstPyTorchFixtures() throws {
        let ops = try ModelFixtures.tensors("ops.safetensors")
        let t = { (name: String) in try ops.tensor(named: name) }
        let saved = Ops.winogradMinPixels, savedThreads = ComputeThreads.count
        defer { Ops.winogradMinPixels = saved; ComputeThreads.set(savedThreads) }
        for threads in [1, 2] {
            ComputeThreads.set(threads)
            Ops.winogradMinPixels = 0
            assertClose(Ops.conv2d(try t("conv.x"), weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 1, padding: 1),
                        try t("conv.s1p1"), "winograd conv2d 3x3 s1 p1, \(threads) threads")
            assertClose(Ops.conv2d(try t("convbig.x"), weight: try t("convbig.w"), stride: 1, padding: 1),
                        try t("convbig.out"), "winograd conv2d large, \(threads) threads")
            assertClose(Ops.conv2d(try t("convwide.x"), weight: try t("convwide.w"), bias: try t("convwide.b"), stride: 1,
                                   padding: 1), try t("convwide.out"), "winograd conv2d batch of large planes, \(threads) threads")
            // The same fixtures through im2col (the large one in its cache-sized bands).
            Ops.winogradMinPixels = Int.max
            assertClose(Ops.conv2d(try t("convbig.x"), weight: try t("convbig.w"), stride: 1, padding: 1),
                        try t("convbig.out"), "im2col conv2d large, \(threads) threads")
        }
    }

    func testTransformedWeightKeptWithTheWeight() {
        // A narrow float32 weight keeps its transform after the first call: the same tensor on the
        // next, the same output bits as a transform made for the call (the grouped path makes its
        // own), the new weight's after an overwrite and the source's after a release. Wide weights
        // keep none.
        let x = randn([2, 16, 12, 12], seed: 13), w1 = randn([24, 16, 3, 3], seed: 14), w2 = randn([24, 16, 3, 3], seed: 15)
        let savedMin = Ops.winogradMinPixels, savedFloats = Ops.winogradWeightFloats
        defer { Ops.winogradMinPixels = savedMin; Ops.winogradWeightFloats = savedFloats }
        Ops.winogradMinPixels = 0
        let source = Tensor(shape: w1.shape, storage: w1.storage)!
        guard case .fp32(let matrix) = GEMMWeight(w1, precision: .fp32, layout: .packedTransposed, reload: { source }) else {
            return XCTFail("fp32 weight not held as FP32Matrix")
        }
        func run(_ m: FP32Matrix) -> Tensor { Ops.conv2d(x, weight: .fp32(m), bias: nil, stride: 1, padding: .uniform(1)) }
        let first = run(matrix)
        guard let kept = matrix.winogradTransformed() else { return XCTFail("no transform kept for a 24 x 16 weight") }
        XCTAssertEqual(kept.shape, [36, Int(lk_winograd_rows(24)), 16])
        kept.withUnsafeBufferPointer { a in
            matrix.winogradTransformed()!.withUnsafeBufferPointer { b in
                XCTAssertEqual(a.baseAddress, b.baseAddress, "made once")
            }
        }
        XCTAssertEqual(run(matrix), first, "the kept transform gives the same bits again")
        Ops.winogradWeightFloats = 36 * 16 * 16  // two groups: transforms made in the call
        XCTAssertEqual(run(FP32Matrix(w1)), first, "kept transform against one made for the call")
        Ops.winogradWeightFloats = savedFloats
        matrix.overwrite(with: w2)
        XCTAssertEqual(run(matrix), run(FP32Matrix(w2)), "after an overwrite the transform is the new weight's")
        XCTAssertNotEqual(run(matrix), first)
        matrix.release()
        XCTAssertEqual(run(matrix), first, "after a release the source's weight again")
        XCTAssertNil(FP32Matrix(randn([192, 192, 3, 3], seed: 16)).winogradTransformed(), "over winogradCachedFloats")
        XCTAssertNil(FP32Matrix(randn([24, 16, 1, 1], seed: 17)).winogradTransformed(), "not 3x3")
        Ops.winogradMinPixels = Int.max
        assertClose(first, run(FP32Matrix(w1)), "kept transform against im2col", relTol: 2e-5)
    }

    func testBF16TransformedWeightKeptWithTheWeight() {
        // The same for a bfloat16 weight on bfloat16 products (pairs of input channels, an odd Cin
        // here): made once, the same bits as a transform made for the call, the new weight's after
        // an overwrite (a LoRA merge at bf16) and the source's after a release; none for wide weights.
        let x = randn([2, 15, 12, 12], seed: 13), w1 = randn([24, 15, 3, 3], seed: 14), w2 = randn([24, 15, 3, 3], seed: 15)
        let savedMin = Ops.winogradMinPixels, savedFloats = Ops.winogradWeightFloats
        defer { Ops.winogradMinPixels = savedMin; Ops.winogradWeightFloats = savedFloats; Ops.bf16WinogradOnAnyCPU = false }
        Ops.winogradMinPixels = 0
        Ops.bf16WinogradOnAnyCPU = true
        let source = Tensor(shape: w1.shape, storage: w1.storage)!
        let matrix = BF16Matrix(w1, layout: .rows, reload: { source })
        func run(_ m: BF16Matrix) -> Tensor { Ops.conv2d(x, weight: .bf16(m), bias: nil, stride: 1, padding: .uniform(1)) }
        let first = run(matrix)
        guard let kept = matrix.winogradTransformed() else { return XCTFail("no transform kept for a 24 x 15 weight") }
        XCTAssertEqual(kept.count, 36 * Int(lk_winograd_rows(24)) * Int(lk_winograd_pairs(15)))
        kept.withUnsafeBufferPointer { a in
            matrix.winogradTransformed()!.withUnsafeBufferPointer { b in
                XCTAssertEqual(a.baseAddress, b.baseAddress, "made once")
            }
        }
        XCTAssertEqual(run(matrix), first, "the kept transform gives the same bits again")
        Ops.winogradWeightFloats = 36 * 8 * 16  // two groups: transforms made in the call
        XCTAssertEqual(run(BF16Matrix(w1, layout: .rows)), first, "kept transform against one made for the call")
        Ops.winogradWeightFloats = savedFloats
        matrix.overwrite(with: w2)
        XCTAssertEqual(run(matrix), run(BF16Matrix(w2, layout: .rows)), "after an overwrite the transform is the new weight's")
        XCTAssertNotEqual(run(matrix), first)
        matrix.release()
        XCTAssertEqual(run(matrix), first, "after a release the source's weight again")
        XCTAssertTrue(BF16Matrix(randn([256, 256, 3, 3], seed: 16), layout: .rows).winogradTransformed() == nil, "over winogradCachedFloats")
        XCTAssertTrue(BF16Matrix(randn([24, 16, 1, 1], seed: 17), layout: .rows).winogradTransformed() == nil, "not 3x3")
        XCTAssertTrue(BF16Matrix(randn([24, 16, 3, 3], seed: 18), layout: .packedTransposed).winogradTransformed() == nil, "not rows")
    }
}
