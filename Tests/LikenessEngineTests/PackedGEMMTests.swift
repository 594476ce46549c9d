// The packed float32 GEMM (CLikenessKernels/sgemm.c, lk_sgemm_packed) behind Ops.linear's small products
// (over FP32Matrix.packedForLinear) and Ops.conv2d's small planes (16-pixel panels of patches):
// against double-precision products (1e-5 of the output's max-abs, the float32 accumulation), against
// sgemm / im2col on the same operands, row by row (pixel by pixel) the same values whatever the other
// rows, images and threads, and the packed copy follows the weight (LoRA overwrite, release).

import CLikenessKernels
import XCTest
@testable import LikenessEngine

final class PackedGEMMTests: XCTestCase {
    func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = TorchGenerator(seed: seed)
        return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)))!
    }

    func exact(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> [Double] {
        let n = w.shape[0], k = w.shape[1], m = x.count / k
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(b?.storage[j] ?? 0)
                for kk in 0..<k { s += Double(x.storage[i * k + kk]) * Double(w.storage[j * k + kk]) }
                out[i * n + j] = s
            }
        }
        return out
    }

    func maxDiff(_ a: [Float], _ b: [Double]) -> (diff: Double, scale: Double) {
        XCTAssertEqual(a.count, b.count)
        var d = 0.0, s = 0.0
        for i in 0..<min(a.count, b.count) { d = max(d, abs(Double(a[i]) - b[i])); s = max(s, abs(b[i])) }
        return (d, s)
    }

    func testAgainstExactProductAndSgemm() {
        // Rows not a multiple of the 6-row tile, columns not a multiple of the 16-column panel, one row,
        // one column, and products large enough to split over threads (by panels and by row tiles).
        let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (5, 17, 3), (7, 33, 64), (13, 16, 129), (2, 3, 40),
                                                  (768, 512, 128), (512, 64, 64), (200, 20, 300)]
        for (i, s) in shapes.enumerated() {
            let x = randomTensor([s.m, s.k], seed: UInt64(10 + i)), w = randomTensor([s.n, s.k], seed: UInt64(50 + i))
            for bias in [nil, randomTensor([s.n], seed: UInt64(90 + i))] {
                let weight = GEMMWeight(w, precision: .fp32, layout: .packedTransposed)
                guard case .fp32(let matrix) = weight else { return XCTFail("fp32 weight not held as FP32Matrix") }
                XCTAssertNotNil(matrix.packedForLinear(), "\(s): a small weight is packed")
                let packed = Ops.linear(x, weight: weight, bias: bias)
                XCTAssertEqual(packed.shape, [s.m, s.n])
                let (d, scale) = maxDiff(packed.storage, exact(x, w, bias))
                XCTAssertLessThanOrEqual(d, 1e-5 * max(scale, 1), "\(s) bias \(bias != nil): max-abs diff \(d)")
                let blas = Ops.linear(x, weight: w, bias: bias)
                let (e, _) = maxDiff(packed.storage, blas.storage.map(Double.init))
                XCTAssertLessThanOrEqual(e, 1e-5 * max(scale, 1), "\(s): against sgemm \(e)")
            }
        }
    }

    func testEachRowIndependentOfTheOthers() {
        // 768 x 512 x 128 runs on every compute thread; each of its rows must equal the row computed alone.
        let x = randomTensor([768, 128], seed: 1), w = randomTensor([512, 128], seed: 2), b = randomTensor([512], seed: 3)
        let weight = GEMMWeight(w, precision: .fp32, layout: .packedTransposed)
        let all = Ops.linear(x, weight: weight, bias: b)
        for r in [0, 5, 6, 383, 767] {
            let row = Tensor(shape: [1, 128], storage: Array(x.storage[r * 128..<(r + 1) * 128]))!
            let one = Ops.linear(row, weight: weight, bias: b)
            XCTAssertEqual(one.storage, Array(all.storage[r * 512..<(r + 1) * 512]), "row \(r)")
        }
        // A 3-D input is its rows.
        let x3 = Tensor(shape: [2, 384, 128], storage: x.storage)!
        XCTAssertEqual(Ops.linear(x3, weight: weight, bias: b).storage, all.storage)
    }

    func testLargeOperandsStayOnSgemm() {
        let big = randomTensor([1024, 512], seed: 4)
        guard case .fp32(let matrix) = GEMMWeight(big, precision: .fp32, layout: .packedTransposed) else {
            return XCTFail("fp32 weight not held as FP32Matrix")
        }
        XCTAssertNil(matrix.packedForLinear(), "a weight over packedLinearMaxWeight is not packed")
        // A small weight with a product over packedLinearMaxProduct: the sgemm path, bit for bit.
        let w = randomTensor([256, 256], seed: 5)
        let rows = Ops.packedLinearMaxProduct / (256 * 256) + 6
        let x = randomTensor([rows, 256], seed: 6)
        XCTAssertEqual(Ops.linear(x, weight: GEMMWeight(w, precision: .fp32, layout: .packedTransposed), bias: nil).storage,
                       Ops.linear(x, weight: w, bias: nil).storage)
    }

    func testPackedCopyFollowsOverwriteAndRelease() {
        let x = randomTensor([9, 24], seed: 7), w1 = randomTensor([20, 24], seed: 8), w2 = randomTensor([20, 24], seed: 9)
        let source = Tensor(shape: w1.shape, storage: w1.storage)!
        guard case .fp32(let matrix) = GEMMWeight(w1, precision: .fp32, layout: .packedTransposed, reload: { source }),
              case let weight = GEMMWeight.fp32(matrix) else { return XCTFail("fp32 weight not held as FP32Matrix") }
        let first = Ops.linear(x, weight: weight, bias: nil)
        matrix.overwrite(with: w2)
        let second = Ops.linear(x, weight: weight, bias: nil)
        let (d, scale) = maxDiff(second.storage, exact(x, w2, nil))
        XCTAssertLessThanOrEqual(d, 1e-5 * max(scale, 1), "after overwrite the packed copy is the new weight's")
        XCTAssertNotEqual(first.storage, second.storage)
        // Release drops values and packed copy; the next use reads the source (w1) again.
        matrix.release()
        XCTAssertFalse(matrix.isResident)
        XCTAssertEqual(Ops.linear(x, weight: weight, bias: nil).storage, first.storage)
    }

    func exactConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding p: Ops.Padding2D) -> [Double] {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let ho = (h + p.top + p.bottom - kh) / stride + 1, wo = (wd + p.left + p.right - kw) / stride + 1
        var out = [Double](repeating: 0, count: n * cout * ho * wo)
        for i in 0..<n {
            for co in 0..<cout {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var s = Double(b?.storage[co] ?? 0)
                        for ci in 0..<cin {
                            for ky in 0..<kh {
                                let y = oy * stride + ky - p.top
                                guard y >= 0 && y < h else { continue }
                                for kx in 0..<kw {
                                    let xx = ox * stride + kx - p.left
                                    guard xx >= 0 && xx < wd else { continue }
                                    s += Double(x.storage[((i * cin + ci) * h + y) * wd + xx])
                                        * Double(w.storage[((co * cin + ci) * kh + ky) * kw + kx])
                                }
                            }
                        }
                        out[((i * cout + co) * ho + oy) * wo + ox] = s
                    }
                }
            }
        }
        return out
    }

    func testPanelConvolutionAgainstExactAndIm2col() {
        // Output rows of 16 and 32 pixels (a panel is part of a row), of 8, 4, 2 and 1 (whole rows),
        // stride 2, 1x1, Downsample's asymmetric padding, wide patches (one panel per call), batches
        // split over threads; and what keeps im2col + sgemm: a weight over panelConvolutionMaxWeight
        // (1000 x 1080), planes the panels do not fit (5x5, 12 columns).
        struct Case { let batch, cin, cout, h, w, k, stride: Int; let padding: Ops.Padding2D }
        let down = Ops.Padding2D(top: 0, bottom: 1, left: 0, right: 1)
        let cases = [Case(batch: 2, cin: 8, cout: 13, h: 16, w: 16, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 1, cin: 3, cout: 7, h: 16, w: 32, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 3, cin: 5, cout: 6, h: 8, w: 8, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 3, cin: 4, cout: 9, h: 4, w: 4, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 2, cin: 6, cout: 5, h: 16, w: 16, k: 3, stride: 2, padding: down),
                     Case(batch: 2, cin: 24, cout: 17, h: 8, w: 8, k: 1, stride: 1, padding: .uniform(0)),
                     Case(batch: 1, cin: 3, cout: 4, h: 8, w: 2, k: 1, stride: 1, padding: .uniform(0)),
                     Case(batch: 3, cin: 192, cout: 64, h: 8, w: 8, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 2, cin: 64, cout: 64, h: 16, w: 16, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 1, cin: 120, cout: 1000, h: 4, w: 4, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 2, cin: 4, cout: 3, h: 5, w: 5, k: 3, stride: 1, padding: .uniform(1)),
                     Case(batch: 2, cin: 4, cout: 3, h: 12, w: 12, k: 3, stride: 1, padding: .uniform(1))]
        let saved = Ops.winogradMinPixels
        defer { Ops.winogradMinPixels = saved }
        Ops.winogradMinPixels = .max  // the GEMM paths only
        for (i, c) in cases.enumerated() {
            let x = randomTensor([c.batch, c.cin, c.h, c.w], seed: UInt64(200 + i))
            let w = randomTensor([c.cout, c.cin, c.k, c.k], seed: UInt64(300 + i))
            let b = randomTensor([c.cout], seed: UInt64(400 + i))
            for bias in [b, nil] {
                let y = Ops.conv2d(x, weight: w, bias: bias, stride: c.stride, padding: c.padding)
                let (d, scale) = maxDiff(y.storage, exactConv(x, w, bias, stride: c.stride, padding: c.padding))
                XCTAssertLessThanOrEqual(d, 1e-5 * max(scale, 1), "\(c) bias \(bias != nil): max-abs diff \(d)")
            }
            // On the panel path each image of the batch is the image convolved alone, bit for bit (the
            // batch-merged sgemm of the other small planes does not promise that).
            let wo = (c.w + c.padding.left + c.padding.right - c.k) / c.stride + 1
            let ho = (c.h + c.padding.top + c.padding.bottom - c.k) / c.stride + 1
            let panels = c.cout * c.cin * c.k * c.k <= Ops.panelConvolutionMaxWeight && ho * wo % 16 == 0
                && (16 % wo == 0 || wo % 16 == 0)
            guard panels else { continue }
            let y = Ops.conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding)
            let per = y.count / c.batch, inPer = x.count / c.batch
            for n in 0..<c.batch {
                let one = Tensor(shape: [1, c.cin, c.h, c.w], storage: Array(x.storage[n * inPer..<(n + 1) * inPer]))!
                let alone = Ops.conv2d(one, weight: w, bias: b, stride: c.stride, padding: c.padding).storage
                XCTAssertTrue(alone == Array(y.storage[n * per..<(n + 1) * per]), "\(c): image \(n) differs from it alone")
            }
        }
    }
}
