// Each op against PyTorch references from scripts/fixtures/ops_models.py (ops.safetensors).

import XCTest
@testable import LikenessEngine

final class OpsParityTests: XCTestCase {
    var ops: SafeTensorsFile!
    var meta: [String: Any] = [:]

    override func setUpWithError() throws {
        ops = try ModelFixtures.tensors("ops.safetensors")
        meta = try ModelFixtures.json("ops.json")
    }

    func t(_ name: String) throws -> Tensor { try ops.tensor(named: name) }

    func testLinear() throws {
        let y = Ops.linear(try t("linear.x"), weight: try t("linear.weight"), bias: try t("linear.bias"))
        assertClose(y, try t("linear.out"), "linear")
        let noBias = Ops.linear(try t("linear.x"), weight: try t("linear.weight"))
        var expected = try t("linear.out")
        let bias = try t("linear.bias")
        expected.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] -= bias.storage[i % 16] } }
        assertClose(noBias, expected, "linear without bias")
    }

    func testMatmul() throws {
        // matmul(x, Wᵀ) equals linear(x, W) without bias.
        let x = try t("linear.x").reshaped([10, 24])!
        let w = try t("linear.weight")
        var wt = Tensor(zeros: [24, 16])
        for i in 0..<16 { for j in 0..<24 { wt[j, i] = w[i, j] } }
        assertClose(Ops.matmul(x, wt), Ops.linear(x, weight: w), "matmul")
    }

    func testConv2dStride1Padding1() throws {
        let y = Ops.conv2d(try t("conv.x"), weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 1, padding: 1)
        assertClose(y, try t("conv.s1p1"), "conv2d 3x3 s1 p1")
    }

    func testConv2dStride2Padding1() throws {
        let y = Ops.conv2d(try t("conv.x"), weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 2, padding: 1)
        assertClose(y, try t("conv.s2p1"), "conv2d 3x3 s2 p1")
    }

    func testConv2d1x1() throws {
        let y = Ops.conv2d(try t("conv.x"), weight: try t("conv.w1"))
        assertClose(y, try t("conv.1x1"), "conv2d 1x1")
    }

    func testConv2dAsymmetricPadding() throws {
        let pad = Ops.Padding2D(top: 0, bottom: 1, left: 0, right: 1)
        let y = Ops.conv2d(try t("conv.x"), weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 2, padding: pad)
        assertClose(y, try t("conv.s2pad0101"), "conv2d 3x3 s2 pad (0,1,0,1)")
        // The same through an explicit pad and an unpadded conv.
        let padded = Ops.pad2D(try t("conv.x"), pad)
        let y2 = Ops.conv2d(padded, weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 2, padding: 0)
        assertClose(y2, try t("conv.s2pad0101"), "pad2D + conv2d")
    }

    func testConv2dBanded() throws {
        // With the im2col bound lowered below 40·9 × 70·64 floats, this runs in row bands
        // (9 output rows each, the last band partial).
        // With 2 threads, each thread takes whole bands (cache-sized, or capped by that bound).
        let saved = Ops.im2colMaxFloats, savedThreads = ComputeThreads.count
        defer { Ops.im2colMaxFloats = saved; ComputeThreads.set(savedThreads) }
        for threads in [1, 2] {
            ComputeThreads.set(threads)
            Ops.im2colMaxFloats = 40 * 9 * 64 * 9
            let y = Ops.conv2d(try t("convbig.x"), weight: try t("convbig.w"), stride: 1, padding: 1)
            assertClose(y, try t("convbig.out"), "conv2d large, banded, \(threads) threads")
            Ops.im2colMaxFloats = saved
            let whole = Ops.conv2d(try t("convbig.x"), weight: try t("convbig.w"), stride: 1, padding: 1)
            assertClose(whole, try t("convbig.out"), "conv2d large, bands of the cache size, \(threads) threads")
        }
    }

    func testConv2dBatchOneImageAtATime() throws {
        // 40x30 planes are above the size where a batch runs as one sgemm.
        XCTAssertGreaterThan(40 * 30, Ops.batchMergePlane)
        let y = Ops.conv2d(try t("convwide.x"), weight: try t("convwide.w"), bias: try t("convwide.b"), stride: 1, padding: 1)
        assertClose(y, try t("convwide.out"), "conv2d batch of large planes")
    }

    func testGroupNorm() throws {
        let g = meta["groupnorm"] as? [String: Any]
        let groups = g?["groups"] as? Int ?? -1
        let eps = Float(g?["eps"] as? Double ?? -1)
        let x = try t("groupnorm.x"), w = try t("groupnorm.weight"), b = try t("groupnorm.bias")
        assertClose(Ops.groupNorm(x, groups: groups, weight: w, bias: b, eps: eps), try t("groupnorm.out"), "group_norm")
        assertClose(Ops.groupNorm(x, groups: groups, weight: w, bias: b, eps: eps, silu: true), try t("groupnorm.silu"), "group_norm + silu")
    }

    func testLayerNorm() throws {
        let eps = Float((meta["layernorm"] as? [String: Any])?["eps"] as? Double ?? -1)
        let y = Ops.layerNorm(try t("layernorm.x"), weight: try t("layernorm.weight"), bias: try t("layernorm.bias"), eps: eps)
        assertClose(y, try t("layernorm.out"), "layer_norm")
    }

    func testActivations() throws {
        let x = try t("act.x")
        assertClose(Ops.silu(x), try t("act.silu"), "silu", relTol: 1e-6)
        assertClose(Ops.gelu(x), try t("act.gelu"), "gelu", relTol: 1e-6)
        assertClose(Ops.geluTanh(x), try t("act.gelu_tanh"), "gelu tanh", relTol: 1e-6)
        assertClose(Ops.quickGelu(x), try t("act.quick_gelu"), "quick_gelu", relTol: 1e-6)
        XCTAssertEqual(Activation(name: "gelu"), .gelu)
        XCTAssertEqual(Activation(name: "quick_gelu"), .quickGelu)
        XCTAssertNil(Activation(name: "relu6"))
    }

    func testSoftmax() throws {
        assertClose(Ops.softmax(try t("softmax.x")), try t("softmax.out"), "softmax", relTol: 1e-6)
        // As torch.softmax: a row holding NaN, or only -inf, gives NaN.
        let special = Ops.softmax(Tensor(shape: [3, 3], storage: [1, .nan, 2, -.infinity, -.infinity, -.infinity, 0, -.infinity, 0])!)
        XCTAssertTrue(special.storage[0..<6].allSatisfy { $0.isNaN })
        XCTAssertEqual(Array(special.storage[6..<9]), [0.5, 0, 0.5])
    }

    func testAttention() throws {
        let heads = (meta["sdpa"] as? [String: Any])?["heads"] as? Int ?? -1
        let y = Ops.scaledDotProductAttention(query: try t("sdpa.q"), key: try t("sdpa.k"), value: try t("sdpa.v"), heads: heads)
        assertClose(y, try t("sdpa.out"), "sdpa")
    }

    func testWideHeadAttention() throws {
        let q = try t("sdpa_wide.q"), k = try t("sdpa_wide.k")
        let y = Ops.scaledDotProductAttention(query: q, key: k, value: try t("sdpa_wide.v"), heads: 2)
        assertClose(y, try t("sdpa_wide.out"), "sdpa Dh 80, Dv 80")
        let z = Ops.scaledDotProductAttention(query: q, key: k, value: try t("sdpa_wide_v.v"), heads: 2)
        assertClose(z, try t("sdpa_wide_v.out"), "sdpa Dh 80, Dv 112")
    }

    func testCausalAttention() throws {
        let heads = (meta["sdpa_causal"] as? [String: Any])?["heads"] as? Int ?? -1
        let y = Ops.scaledDotProductAttention(query: try t("sdpa_causal.q"), key: try t("sdpa_causal.k"),
                                              value: try t("sdpa_causal.v"), heads: heads, causal: true)
        assertClose(y, try t("sdpa_causal.out"), "sdpa causal")
    }

    func testSmallHeadsThroughTheRegularKernel() throws {
        // The fixtures above have heads of 8 and 16 floats, which take the small-head kernel;
        // with its limit at 0 the same inputs go through the 16-float-tile kernel.
        let saved = Ops.smallHeadWidth
        defer { Ops.smallHeadWidth = saved }
        Ops.smallHeadWidth = 0
        try testAttention()
        try testCausalAttention()
        try testLongAttentionBothThreadingPaths()
    }

    func testEveryAttentionKernelOnAnyCPU() throws {
        // Whatever this CPU would pick, each regular kernel against PyTorch (16-float tiles over
        // all keys, 8-float tiles over all keys, 8-float tiles over key blocks with an online
        // softmax): 1100 keys end in a partial block, the causal 2000 x 2000 has units whose
        // rows see different block counts; then SD-sized heads (8 of 40) on 4096 keys, the key
        // blocks against the strips, including rows that are not whole 4-row tiles.
        let savedTiles = Ops.attentionTiles, savedSmall = Ops.smallHeadWidth
        defer { Ops.attentionTiles = savedTiles; Ops.smallHeadWidth = savedSmall }
        Ops.smallHeadWidth = 0
        for tiles in [Ops.AttentionTiles.wide, .strips, .keyBlocks] {
            Ops.attentionTiles = tiles
            XCTAssertEqual(Ops.attentionTiles, tiles)
            try testAttention()
            try testCausalAttention()
            try testWideHeadAttention()
            try testLongAttentionBothThreadingPaths()
        }
        func randn(_ shape: [Int], seed: UInt64) -> Tensor {
            var g = TorchGenerator(seed: seed)
            return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)).map { 2 * $0 })!
        }
        for (lq, lk, heads, causal) in [(130, 4096, 8, false), (77, 1300, 8, true), (600, 600, 2, true)] {
            let q = randn([1, lq, 8 * 40], seed: 4), k = randn([1, lk, 8 * 40], seed: 5), v = randn([1, lk, 8 * 40], seed: 6)
            Ops.attentionTiles = .strips
            let strips = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: heads, causal: causal)
            Ops.attentionTiles = .keyBlocks
            let blocks = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: heads, causal: causal)
            XCTAssertFalse(blocks.storage.contains { !$0.isFinite })
            assertClose(blocks, strips, "key blocks vs strips, \(lq)x\(lk), \(heads) heads\(causal ? ", causal" : "")",
                        relTol: 2e-6)
        }
    }

    func testSmallHeadKernelMatchesRegularKernel() {
        // The built-in models' heads (16 of 4, 8 and 12 floats) over 256 and 77 keys, a head of 16
        // with values of 3 (not a multiple of 4), and a causal case, through both kernels.
        func randn(_ shape: [Int], seed: UInt64) -> Tensor {
            var g = TorchGenerator(seed: seed)
            return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)).map { 2 * $0 })!
        }
        let saved = Ops.smallHeadWidth
        defer { Ops.smallHeadWidth = saved }
        for (lq, lk, width, vWidth, heads, causal) in [(256, 256, 64, 64, 16, false), (256, 77, 128, 128, 16, false),
                                                       (16, 77, 192, 192, 16, false), (50, 37, 32, 6, 2, false),
                                                       (40, 40, 48, 48, 4, true)] {
            let q = randn([2, lq, width], seed: 1), k = randn([2, lk, width], seed: 2), v = randn([2, lk, vWidth], seed: 3)
            Ops.smallHeadWidth = 0
            let regular = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: heads, causal: causal)
            Ops.smallHeadWidth = 16
            let small = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: heads, causal: causal)
            assertClose(small, regular, "small-head kernel, \(heads) heads of \(width / heads) (values \(vWidth / heads)), "
                        + "\(lq)x\(lk)\(causal ? ", causal" : "")", relTol: 2e-6)
        }
    }

    func testLongAttentionBothThreadingPaths() throws {
        // 2000 queries over 1100 (or 2000) keys span many work units per head (and a partial
        // strip of 8 rows at the end); with 2 threads units run in parallel, with 1 in turn.
        XCTAssertGreaterThan(2000, 4 * Ops.attentionRowsPerUnit)
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        for threads in [1, 2] {
            ComputeThreads.set(threads)
            let y = Ops.scaledDotProductAttention(query: try t("sdpa_long.q"), key: try t("sdpa_long.k"),
                                                  value: try t("sdpa_long.v"), heads: 2)
            assertClose(y, try t("sdpa_long.out"), "sdpa long, \(threads) threads")
            let q = try t("sdpa_long_causal.q")
            let c = Ops.scaledDotProductAttention(query: q, key: q, value: q, heads: 2, causal: true)
            assertClose(c, try t("sdpa_long_causal.out"), "sdpa long causal, \(threads) threads")
        }
    }

    func testThreadedSgemmMatchesSingleThread() throws {
        // Split by rows (M >= N) and by columns (N > M), against 1 thread.
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        func filled(_ shape: [Int], _ seed: Int) -> Tensor {
            Tensor(shape: shape) { p in for i in 0..<p.count { p[i] = Float((i * 37 + seed) % 101) * 0.02 - 1 } }
        }
        let a = filled([4480, 40], 1), w = filled([96, 40], 2)     // M 4480 > N 96
        let left = filled([24, 360], 3), right = filled([360, 500], 4) // N 500 > M 24
        ComputeThreads.set(1)
        let rows1 = Ops.linear(a, weight: w)
        let cols1 = Ops.matmul(left, right)
        ComputeThreads.set(2)
        let rows2 = Ops.linear(a, weight: w)
        let cols2 = Ops.matmul(left, right)
        XCTAssertEqual(rows1.shape, [4480, 96])
        assertClose(rows2, rows1, "sgemm split by rows", relTol: 1e-6)
        assertClose(cols2, cols1, "sgemm split by columns", relTol: 1e-6)
    }

    func testUpsample() throws {
        let x = try t("upsample.x")
        assertClose(Ops.upsampleNearest2x(x), try t("upsample.2x"), "nearest 2x", relTol: 0)
        assertClose(Ops.upsampleNearest(x, outHeight: 7, outWidth: 9), try t("upsample.size"), "nearest to size", relTol: 0)
    }

    func testTimestepEmbedding() throws {
        let m = meta["timestep"] as? [String: Any]
        let steps = (m?["timesteps"] as? [Double] ?? []).map(Float.init)
        XCTAssertFalse(steps.isEmpty)
        for variant in ["a", "b"] {
            let v = m?[variant] as? [String: Any]
            let dim = v?["dim"] as? Int ?? -1
            let flip = v?["flip"] as? Bool ?? false
            let shift = Float(v?["shift"] as? Double ?? -1)
            let y = Ops.timestepEmbedding(timesteps: steps, dim: dim, flipSinToCos: flip, downscaleFreqShift: shift)
            // sin/cos of arguments up to ~1000 carry ~1e-4 absolute float32 rounding in any implementation.
            assertClose(y, try t("timestep.\(variant)"), "timestep embedding \(variant)", relTol: 2e-4)
        }
    }

    func testGEGLU() throws {
        assertClose(Ops.geglu(try t("geglu.x")), try t("geglu.out"), "geglu", relTol: 1e-6)
    }

    func testLayoutRoundTrip() throws {
        let x = try t("conv.x") // [2, 8, 9, 7]
        let tokens = Ops.channelsToTokens(x)
        XCTAssertEqual(tokens.shape, [2, 63, 8])
        XCTAssertEqual(tokens[1, 2 * 7 + 3, 5], x[1, 5, 2, 3])
        XCTAssertEqual(Ops.tokensToChannels(tokens, height: 9, width: 7), x)
        let cat = Ops.concatChannels([x, Ops.scaledCopy(x, 2)])
        XCTAssertEqual(cat.shape, [2, 16, 9, 7])
        XCTAssertEqual(cat[1, 8 + 4, 3, 2], 2 * x[1, 4, 3, 2])
        let (a, b) = Ops.chunkChannels(cat)
        XCTAssertEqual(a, x)
        XCTAssertEqual(b, Ops.scaledCopy(x, 2))
    }
}

extension Ops {
    static func scaledCopy(_ x: Tensor, _ s: Float) -> Tensor {
        var y = x
        scaleInPlace(&y, s)
        return y
    }
}
