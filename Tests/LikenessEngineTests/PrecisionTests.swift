// The bf16 compute precision (Ops/Precision.swift, CLikenessBF16): the GEMM kernel against a
// double-precision product of the bfloat16-rounded operands; linear and conv layers, the UNet and
// whole images against the fp32 path with a stated tolerance per component; and that the fp32
// path stays exact (matches diffusers to 1e-4) while bf16 measurably does not, so a precision
// setting that silently did nothing, or an fp32 path that ran in bf16, fails here.
//
// Tolerances (bf16 keeps 8 significant bits, relative rounding 2^-9 per operand):
//   GEMM kernel vs exact product of rounded inputs: 1e-5 relative (float32 accumulation only)
//   linear / conv vs fp32: 2e-2 of the output's max-abs; 3x3 convolutions on the Winograd path
//   where their products run on bfloat16 (AVX512-BF16): 8e-2 (the transformed operands' rounding,
//   1-2.5% of the output's norm, ConvWinogradTests.testBF16Products)
//   attention (bfloat16 Q K^T and P V) vs fp32: 2e-2 of the output's max-abs; the native kernel vs
//   the portable loop on the same operands: 1e-4 of it (float32 sums in another order)
//   UNet forward (tiny fixtures) vs fp32: 5e-2 of the output's max-abs
//   text encoder last hidden state (tiny fixtures) vs fp32: 5e-2 of the output's max-abs; VAE
//   encode mean and decode: 5e-2, 8e-2 where the Winograd products run on bfloat16
//   whole images (toy-a, toy-b pipelines) vs the fp32 reference images: PSNR >= 30 dB

import CLikenessBF16
import Foundation
import XCTest
@testable import LikenessEngine

final class PrecisionTests: XCTestCase {
    let supported = ComputePrecision.bf16Supported
    /// Of the output's max-abs, for layers whose 3x3 convolutions take the Winograd path: 8e-2 where
    /// its products run on bfloat16 (the native kernel), else the GEMM's 2e-2.
    var bf16WinogradTolerance: Float {
        ComputePrecision.bf16Kernel == .native && Ops.bf16WinogradProducts ? 8e-2 : 2e-2
    }

    func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = TorchGenerator(seed: seed)
        return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)))!
    }

    func rounded(_ t: Tensor) -> [Double] { t.storage.map { Double(lk_bf16_to_float(lk_bf16_from_float($0))) } }

    func testParsingAndFallback() {
        XCTAssertEqual(ComputePrecision(name: "BF16"), .bf16)
        XCTAssertEqual(ComputePrecision(name: "fp32"), .fp32)
        XCTAssertNil(ComputePrecision(name: "fp16"))
        XCTAssertEqual(ComputePrecision.preferred, ComputePrecision.bf16Kernel == .native ? .bf16 : .fp32)
        XCTAssertEqual(ComputePrecision.bf16.effective, supported ? .bf16 : .fp32)
        XCTAssertEqual(ComputePrecision.fp32.effective, .fp32)
        // Every x86-64 CPU with AVX2 and FMA runs a bfloat16 kernel (the widening one at least).
        #if arch(x86_64)
        let avx2 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
            .map { $0.contains(" avx2") && $0.contains(" fma") && $0.contains(" f16c") } ?? false
        if avx2 { XCTAssertTrue(supported, "an AVX2 + FMA CPU must run bf16, got \(ComputePrecision.bf16Kernel)") }
        #endif
    }

    /// The kernels this CPU runs (LK_BF16_KERNEL_*): the fastest, and each slower one it can run.
    var kernels: [Int32] {
        var out: [Int32] = [LK_BF16_KERNEL_PORTABLE]
        let first = lk_bf16_use_kernel(LK_BF16_KERNEL_WIDENING)
        if lk_bf16_kernel() == LK_BF16_KERNEL_WIDENING { out.append(LK_BF16_KERNEL_WIDENING) }
        _ = lk_bf16_use_kernel(first)
        if first == LK_BF16_KERNEL_NATIVE { out.append(LK_BF16_KERNEL_NATIVE) }
        return out
    }

    /// Runs `body` with kernel `k`, then the CPU's own again.
    func withKernel(_ k: Int32, _ body: () throws -> Void) rethrows {
        let before = lk_bf16_use_kernel(k)
        defer { _ = lk_bf16_use_kernel(before) }
        XCTAssertEqual(lk_bf16_kernel(), k)
        try body()
    }

    func testRounding() {
        XCTAssertEqual(lk_bf16_from_float(1.0), 0x3f80)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
        XCTAssertEqual(lk_bf16_to_float(lk_bf16_from_float(1 + 1.0 / 256)), 1)
        XCTAssertEqual(lk_bf16_to_float(lk_bf16_from_float(1 + 3.0 / 256)), 1 + 4.0 / 256)
        XCTAssertTrue(lk_bf16_to_float(lk_bf16_from_float(.nan)).isNaN)
        XCTAssertEqual(lk_bf16_to_float(lk_bf16_from_float(-.infinity)), -.infinity)
    }

    /// The vector conversions of each kernel give lk_bf16_from_float's bits: ties to even, NaN
    /// quiet, infinities, subnormals, from float32 and from IEEE half; widening is exact.
    func testConversionsOfEveryKernelMatchTheScalarRounding() {
        var values: [Float] = [1, 1 + 1.0 / 256, 1 + 3.0 / 256, -1 - 1.0 / 256, .nan, -.nan, .infinity, -.infinity,
                               .leastNonzeroMagnitude, -Float.leastNormalMagnitude, .greatestFiniteMagnitude, 0, -0.0]
        var g = TorchGenerator(seed: 9)
        values += g.randn(83).map { $0 * 1000 }
        let n = values.count
        var halves = values.map { Float16($0).bitPattern }
        halves[0] = 0x0001  // a half subnormal
        for kernel in kernels {
            withKernel(kernel) {
                var out = [UInt16](repeating: 0xffff, count: n + 1)
                lk_bf16_convert_rows(values, n, 1, n, &out, n + 1)
                for i in 0..<n {
                    let want = lk_bf16_from_float(values[i])
                    XCTAssertEqual(out[i], want, "kernel \(kernel): \(values[i])")
                }
                XCTAssertEqual(out[n], 0, "kernel \(kernel): padding")
                var fromHalf = [UInt16](repeating: 0xffff, count: n)
                lk_bf16_convert_rows_half(halves, 0, 1, n, &fromHalf, n)
                for i in 0..<n {
                    XCTAssertEqual(fromHalf[i], lk_bf16_from_float(Float(Float16(bitPattern: halves[i]))), "kernel \(kernel): half \(halves[i])")
                }
                var back = [Float](repeating: 7, count: n)
                lk_bf16_widen_rows(out, n + 1, 1, n, &back, n)
                for i in 0..<n {
                    XCTAssertEqual(back[i].bitPattern, lk_bf16_to_float(out[i]).bitPattern, "kernel \(kernel): widen \(i)")
                }
            }
        }
    }

    /// Odd shapes cover the row, column-panel and odd-k edges, and k above one cache block (256).
    func testKernelMatchesExactProductOfRoundedInputs() {
        XCTAssertTrue(kernels.contains(LK_BF16_KERNEL_PORTABLE))
        for kernel in kernels { withKernel(kernel) { kernelMatchesExactProduct(kernel: kernel) } }
    }

    /// 200 rows cover more than one block of widened A rows (96) in the widening kernel.
    func kernelMatchesExactProduct(kernel: Int32) {
        for (m, n, k) in [(1, 1, 1), (7, 70, 33), (13, 129, 300), (64, 200, 515), (200, 17, 64)] {
            let x = randomTensor([m, k], seed: 1), w = randomTensor([n, k], seed: 2)
            let xr = rounded(x), wr = rounded(w)
            var exact = [Double](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { var s = 0.0; for p in 0..<k { s += xr[i * k + p] * wr[j * k + p] }; exact[i * n + j] = s } }
            let scale = exact.map(abs).max()!

            // Linear layout: weight packed as B panels, activations converted per call.
            let lin = Ops.linear(x, weight: .bf16(BF16Matrix(w, layout: .packedTransposed)))
            // Conv layout: weight as rows (A), activations packed on the fly: C^T = W · X^T.
            let xt = Tensor(shape: [k, m]) { o in for i in 0..<m { for p in 0..<k { o[p * m + i] = x.storage[i * k + p] } } }
            let conv = Ops.conv2d(xt.viewed([1, k, m, 1]), weight: .bf16(BF16Matrix(w.viewed([n, k, 1, 1]), layout: .rows)),
                                  stride: 1, padding: .uniform(0))
            var errLin = 0.0, errConv = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    errLin = max(errLin, abs(Double(lin.storage[i * n + j]) - exact[i * n + j]))
                    errConv = max(errConv, abs(Double(conv.storage[j * m + i]) - exact[i * n + j]))
                }
            }
            print("bf16 kernel \(kernel) \(m)x\(n)x\(k): max-abs error linear \(errLin), conv \(errConv) (scale \(scale))")
            XCTAssertLessThanOrEqual(errLin, 1e-5 * max(1, scale) * Double(k).squareRoot(), "kernel \(kernel) linear \(m)x\(n)x\(k)")
            XCTAssertLessThanOrEqual(errConv, 1e-5 * max(1, scale) * Double(k).squareRoot(), "kernel \(kernel) conv \(m)x\(n)x\(k)")
        }
    }

    func testWidenedWeightIsTheRoundedWeight() {
        let w = randomTensor([70, 33], seed: 3)
        for layout in [BF16Matrix.Layout.rows, .packedTransposed] {
            let back = BF16Matrix(w, layout: layout).widened()
            XCTAssertEqual(back.shape, w.shape)
            XCTAssertEqual(back.storage.map(Double.init), rounded(w), "\(layout)")
        }
    }

    /// Convolutions through every path of Ops.conv2d (batch-merged small planes, 1x1 direct,
    /// banded large planes, stride 2) against fp32, with bias.
    func testConvAndLinearAgainstFP32() {
        let cases: [(batch: Int, cin: Int, cout: Int, size: Int, k: Int, stride: Int, pad: Int)] = [
            (2, 8, 16, 12, 3, 1, 1), (1, 16, 8, 40, 1, 1, 0), (1, 8, 24, 72, 3, 1, 1), (2, 8, 8, 20, 3, 2, 1),
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor([c.batch, c.cin, c.size, c.size], seed: UInt64(10 + i))
            let w = randomTensor([c.cout, c.cin, c.k, c.k], seed: UInt64(20 + i))
            let b = randomTensor([c.cout], seed: UInt64(30 + i))
            let ref = Ops.conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.pad)
            let out = Ops.conv2d(x, weight: GEMMWeight(w, precision: .bf16, layout: .rows), bias: b, stride: c.stride,
                                 padding: .uniform(c.pad))
            let ho = (c.size + 2 * c.pad - c.k) / c.stride + 1
            let winograd = Ops.winogradApplies(weight: w.shape, stride: c.stride, batch: c.batch, ho: ho, wo: ho)
            checkAgainstFP32(out, ref, tolerance: winograd ? bf16WinogradTolerance : 2e-2, "conv \(c)")
        }
        let x = randomTensor([2, 77, 96], seed: 40), w = randomTensor([130, 96], seed: 41), b = randomTensor([130], seed: 42)
        checkAgainstFP32(Ops.linear(x, weight: GEMMWeight(w, precision: .bf16, layout: .packedTransposed), bias: b),
                         Ops.linear(x, weight: w, bias: b), tolerance: 2e-2, "linear")
    }

    /// Attention at bf16 (lk_attention_rows_bf16) against the fp32 kernel: odd key counts and head
    /// widths (the pairs' zero padding), values wider than keys, causal masks, several heads and
    /// batches, a head wider than a 48-column slab. Run on any CPU (the portable loop where there is
    /// no AVX512-BF16), and where the native kernel runs, it agrees with the portable loop.
    func testAttentionAtBF16() {
        let cases: [(b: Int, lq: Int, lk: Int, heads: Int, dh: Int, dv: Int, causal: Bool)] = [
            (2, 70, 77, 2, 40, 40, false), (1, 33, 33, 3, 33, 48, true), (1, 130, 9, 1, 80, 80, false),
            (1, 64, 200, 2, 160, 24, false), (1, 17, 300, 1, 18, 130, false),
        ]
        Ops.bf16AttentionOnAnyCPU = true
        defer { Ops.bf16AttentionOnAnyCPU = false }
        for (i, c) in cases.enumerated() {
            let q = randomTensor([c.b, c.lq, c.heads * c.dh], seed: UInt64(60 + i))
            let k = randomTensor([c.b, c.lk, c.heads * c.dh], seed: UInt64(70 + i))
            let v = randomTensor([c.b, c.lk, c.heads * c.dv], seed: UInt64(80 + i))
            let ref = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: c.heads, causal: c.causal)
            XCTAssertEqual(Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: c.heads, causal: c.causal,
                                                         precision: .fp32), ref, "fp32 is the default")
            let out = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: c.heads, causal: c.causal,
                                                    precision: .bf16)
            XCTAssertEqual(out.shape, ref.shape)
            let diff = out.maxAbsDifference(ref) ?? .infinity, scale = max(1, ref.maxAbs())
            print("bf16 attention \(c): max-abs diff to fp32 \(diff) (scale \(scale))")
            XCTAssertLessThanOrEqual(diff, 2e-2 * scale, "\(c)")
            XCTAssertGreaterThan(diff, 1e-6 * scale, "\(c): bf16 attention equals fp32, so it did not run")
            if ComputePrecision.bf16Kernel == .native {
                let before = lk_bf16_use_kernel(LK_BF16_KERNEL_PORTABLE)
                let portable = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: c.heads,
                                                             causal: c.causal, precision: .bf16)
                lk_bf16_use_kernel(before)
                XCTAssertLessThanOrEqual(out.maxAbsDifference(portable) ?? .infinity, 1e-4 * scale,
                                         "\(c): native kernel against the portable loop")
            }
        }
        // Without the test switch, bf16 attention runs only on the native kernel; small heads stay fp32.
        Ops.bf16AttentionOnAnyCPU = false
        let q = randomTensor([1, 20, 32], seed: 90), k = randomTensor([1, 20, 32], seed: 91)
        let small = Ops.scaledDotProductAttention(query: q, key: k, value: k, heads: 4, precision: .bf16)
        XCTAssertEqual(small, Ops.scaledDotProductAttention(query: q, key: k, value: k, heads: 4), "heads of 8 stay fp32")
        let wide = Ops.scaledDotProductAttention(query: q, key: k, value: k, heads: 1, precision: .bf16)
        let same = wide == Ops.scaledDotProductAttention(query: q, key: k, value: k, heads: 1)
        XCTAssertEqual(same, ComputePrecision.bf16Kernel != .native, "bf16 attention runs exactly where the native kernel does")
    }

    /// Where bf16 runs, its result is close to fp32 but not equal (the path really ran); where the
    /// CPU has no bfloat16 kernel, bf16 falls back to fp32 and the results are identical.
    func checkAgainstFP32(_ out: Tensor, _ ref: Tensor, tolerance: Float, _ label: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(out.shape, ref.shape, label, file: file, line: line)
        let diff = out.maxAbsDifference(ref) ?? .infinity, scale = max(1, ref.maxAbs())
        print("bf16 \(label): max-abs diff to fp32 \(diff) (scale \(scale))")
        if supported {
            XCTAssertLessThanOrEqual(diff, tolerance * scale, label, file: file, line: line)
            XCTAssertGreaterThan(diff, 1e-6 * scale, "\(label): bf16 equals fp32, so the bf16 kernel did not run", file: file, line: line)
        } else {
            XCTAssertEqual(out, ref, "\(label): without a bfloat16 kernel (no AVX512-BF16, no AVX2), bf16 must run as fp32", file: file, line: line)
        }
    }

    /// fp32 matches diffusers to 1e-4 (unchanged parity); bf16 is within 5e-2 of it but further
    /// than 1e-4 from diffusers, so an fp32 path that silently ran bf16 fails the first check and
    /// a bf16 setting that silently ran fp32 fails the last.
    func testUNetPrecisions() throws {
        for name in ModelParityTests.configs {
            let ref = try ModelFixtures.tensors("\(name)/expected.safetensors")
            let meta = try ModelFixtures.json("\(name)/expected.json")
            let t = Float(meta["timestep"] as? Double ?? -1)
            let sample = try ref.tensor(named: "unet.sample"), context = try ref.tensor(named: "unet.encoder_hidden_states")
            let expected = try ref.tensor(named: "unet.out")
            let folder = try ModelFixtures.url("\(name)/unet")

            let fp32 = try UNet2DConditionModel(folder: folder, precision: .fp32)
            XCTAssertEqual(fp32.precision, .fp32)
            let out32 = try fp32(sample: sample, timestep: t, encoderHiddenStates: context)
            assertClose(out32, expected, "\(name) unet fp32 vs diffusers", relTol: 1e-4)

            let bf16 = try UNet2DConditionModel(folder: folder, precision: .bf16)
            XCTAssertEqual(bf16.precision, supported ? .bf16 : .fp32)
            let out16 = try bf16(sample: sample, timestep: t, encoderHiddenStates: context)
            checkAgainstFP32(out16, out32, tolerance: 5e-2, "\(name) unet")
            if supported {
                let diff = out16.maxAbsDifference(expected) ?? 0
                XCTAssertGreaterThan(diff, 1e-4 * max(1, expected.maxAbs()), "\(name): bf16 UNet matches diffusers' fp32 to 1e-4")
            }
        }
    }

    /// The text encoder and the VAE as the UNet: fp32 matches transformers/diffusers to 1e-4, bf16 is
    /// within 5e-2 of fp32 (of the output's max-abs) and really ran (further than 1e-4 from the reference).
    func testTextEncoderAndVAEPrecisions() throws {
        for name in ModelParityTests.configs {
            let ref = try ModelFixtures.tensors("\(name)/expected.safetensors")
            let meta = try ModelFixtures.json("\(name)/expected.json")
            guard let ids = meta["input_ids"] as? [[Int]] else { return XCTFail("\(name): input_ids missing") }
            let textFolder = try ModelFixtures.url("\(name)/text_encoder")
            let expectedText = try ref.tensor(named: "text.last_hidden_state")
            let text32 = try CLIPTextModel(folder: textFolder, precision: .fp32)
            XCTAssertEqual(text32.precision, .fp32)
            let states32 = try text32(ids: ids)
            assertClose(states32, expectedText, "\(name) text fp32 vs transformers", relTol: 1e-4)
            let text16 = try CLIPTextModel(folder: textFolder, precision: .bf16)
            XCTAssertEqual(text16.precision, supported ? .bf16 : .fp32)
            checkAgainstFP32(try text16(ids: ids), states32, tolerance: 5e-2, "\(name) text encoder")

            let vaeFolder = try ModelFixtures.url("\(name)/vae")
            let image = try ref.tensor(named: "vae.image"), latent = try ref.tensor(named: "vae.latent")
            let vae32 = try AutoencoderKL(folder: vaeFolder, precision: .fp32)
            XCTAssertEqual(vae32.precision, .fp32)
            let decoded32 = try vae32.decode(latent), mean32 = try vae32.encode(image).mean
            assertClose(decoded32, try ref.tensor(named: "vae.decoded"), "\(name) vae decode fp32 vs diffusers", relTol: 1e-4)
            assertClose(mean32, try ref.tensor(named: "vae.mean"), "\(name) vae encode fp32 vs diffusers", relTol: 1e-4)
            let vae16 = try AutoencoderKL(folder: vaeFolder, precision: .bf16)
            XCTAssertEqual(vae16.precision, supported ? .bf16 : .fp32)
            checkAgainstFP32(try vae16.decode(latent), decoded32, tolerance: max(5e-2, bf16WinogradTolerance), "\(name) vae decode")
            checkAgainstFP32(try vae16.encode(image).mean, mean32, tolerance: max(5e-2, bf16WinogradTolerance),
                             "\(name) vae encode mean")
        }
    }

    /// A 16-bit file's weights are converted straight from the mapping (no float32 copy) to the
    /// same bfloat16 values as through float32; a released matrix reads them again bit for bit, and
    /// the UNet gives the same output after every matrix was released, at bf16 and at fp32.
    func testHalfFileWeightsAndReleaseAreBitForBit() throws {
        let folder = try ModelFixtures.url("tiny-b/unet") // an F16 file
        let file = try SafeTensorsFile(url: folder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let store = WeightStore(file: file)
        store.precision = .bf16
        store.keepsTaken = true
        let unet = try UNet2DConditionModel(config: try ComponentFolder(folder).config(UNet2DConditionConfig.self), weights: store)
        try store.finish()
        let matrices = store.taken.compactMap { key, held -> (String, BF16Matrix)? in
            if case .gemm(.bf16(let m)) = held { return (key, m) } else { return nil }
        }
        XCTAssertEqual(matrices.count, supported ? store.matrices.count : 0)
        XCTAssertEqual(store.matrices.filter { $0.precision == .bf16 }.count, matrices.count)
        if supported { XCTAssertGreaterThan(matrices.count, 10) }
        for (key, m) in matrices {
            let viaFloat = BF16Matrix(try file.tensor(named: key), layout: m.layout)
            XCTAssertEqual(m.widened(), viaFloat.widened(), "\(key): from the file's halves vs through float32")
        }
        let ref = try ModelFixtures.tensors("tiny-b/expected.safetensors")
        let meta = try ModelFixtures.json("tiny-b/expected.json")
        let t = Float(meta["timestep"] as? Double ?? -1)
        let sample = try ref.tensor(named: "unet.sample"), context = try ref.tensor(named: "unet.encoder_hidden_states")
        for precision in [ComputePrecision.bf16, .fp32] {
            let held = precision == .bf16 ? store : WeightStore(file: file)
            let model = precision == .bf16 ? unet
                : try UNet2DConditionModel(config: try ComponentFolder(folder).config(UNet2DConditionConfig.self), weights: held)
            XCTAssertEqual(model.precision, precision.effective)
            XCTAssertGreaterThan(held.matrices.count, 10)
            let before = try model(sample: sample, timestep: t, encoderHiddenStates: context)
            for m in held.matrices {
                XCTAssertTrue(m.isReleasable)
                m.release()
                XCTAssertFalse(m.isResident)
            }
            let after = try model(sample: sample, timestep: t, encoderHiddenStates: context)
            XCTAssertEqual(before, after, "\(precision): the UNet after its weights were released and read again")
            XCTAssertTrue(held.matrices.allSatisfy(\.isResident))
        }
        // A matrix made from a tensor alone has no source: release keeps it.
        let lone = BF16Matrix(randomTensor([8, 6], seed: 5), layout: .rows)
        lone.release()
        XCTAssertTrue(lone.isResident)
        XCTAssertFalse(lone.isReleasable)
        let lone32 = FP32Matrix(randomTensor([8, 6], seed: 5))
        lone32.release()
        XCTAssertTrue(lone32.isResident)
        XCTAssertFalse(lone32.isReleasable)
    }

    /// A pipeline that gives its weights back after use (the CLI's one-shot mode), at bf16 and
    /// fp32: the text encoder's and UNet's matrices are released after a job, and the next jobs,
    /// which read them again from the file, give bit for bit the image of a fresh pipeline.
    func testPipelineReleasingWeightsGivesTheSameImages() throws {
        let name = PipelineFixtures.folders[0]
        let ref = try PipelineFixtures.expected(name)
        let c = try XCTUnwrap(try PipelineFixtures.meta(name).cases.first)
        for precision in [ComputePrecision.bf16, .fp32] {
            let fresh = try LikenessPipeline(model: try PipelineFixtures.url(name), precision: precision)
            let expected = try fresh.generate(try c.request(pipeline: fresh, expected: ref)).image
            XCTAssertTrue((fresh.matrices.textEncoder + fresh.matrices.unet).allSatisfy(\.isResident))
            let pipe = try LikenessPipeline(model: try PipelineFixtures.url(name), precision: precision)
            pipe.weightResidency = .releaseAfterUse
            XCTAssertFalse(pipe.matrices.unet.isEmpty || pipe.matrices.textEncoder.isEmpty)
            XCTAssertTrue((pipe.matrices.textEncoder + pipe.matrices.unet).allSatisfy(\.isReleasable))
            for run in 0..<2 {
                pipe.conditioning.removeAll() // so that every run encodes its prompt with the text encoder
                let released = try pipe.generate(try c.request(pipeline: pipe, expected: ref))
                XCTAssertEqual(released.image, expected, "\(precision) run \(run) with the weights released after use")
                XCTAssertFalse(pipe.matrices.unet.contains(where: \.isResident), "\(precision): UNet weights kept after the job")
                XCTAssertFalse(pipe.matrices.textEncoder.contains(where: \.isResident),
                               "\(precision): text encoder weights kept after the job")
            }
        }
    }

    /// Whole images of the toy pipelines at bf16 against the fp32 reference pipeline's images.
    func testPipelineImagesAtBF16() throws {
        for name in PipelineFixtures.folders {
            let pipe = try LikenessPipeline(model: try PipelineFixtures.url(name), precision: .bf16)
            XCTAssertEqual(pipe.unet.precision, supported ? .bf16 : .fp32)
            XCTAssertEqual(pipe.textEncoder.precision, supported ? .bf16 : .fp32)
            XCTAssertEqual(pipe.vae.precision, supported ? .bf16 : .fp32)
            let ref = try PipelineFixtures.expected(name)
            let meta = try PipelineFixtures.meta(name)
            XCTAssertFalse(meta.cases.isEmpty)
            var worst = Double.infinity
            for c in meta.cases.prefix(4) {
                let result = try pipe.generate(try c.request(pipeline: pipe, expected: ref))
                worst = min(worst, assertPSNR(result.image, try ref.tensor(named: c.image), atLeast: 30, "\(name) \(c.name) bf16"))
            }
            print("bf16 \(name): lowest PSNR against the fp32 reference \(worst) dB")
        }
    }
}
