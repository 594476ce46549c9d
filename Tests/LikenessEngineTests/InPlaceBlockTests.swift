// The VAE's memory-saving forms (Ops.groupNormInPlace, ResnetBlock2D.apply, Upsample2D.apply,
// which overwrite or free a block's input while it runs, and Upsample2D's convolution reading the
// 2x upsample from its input on the Winograd path) against the ops composed one after the
// other as diffusers orders them: bit for bit equal, on the Winograd and the im2col convolution
// paths, with and without a shortcut, so the VAE's parity with diffusers is what it was. Odd plane
// sizes reach the kernels' scalar tails.

import Foundation
import XCTest
@testable import LikenessEngine

final class InPlaceBlockTests: XCTestCase {
    func randn(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = TorchGenerator(seed: seed)
        return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)))!
    }

    func testGroupNormInPlaceEqualsGroupNorm() {
        for (shape, groups) in [([1, 64, 37, 29], 32), ([2, 24, 5, 3], 8)] {
            let x = randn(shape, seed: 1)
            let original = x
            let weight = randn([shape[1]], seed: 2), bias = randn([shape[1]], seed: 3)
            for silu in [false, true] {
                let expected = Ops.groupNorm(x, groups: groups, weight: weight, bias: bias, eps: 1e-6, silu: silu)
                var y = x
                Ops.groupNormInPlace(&y, groups: groups, weight: weight, bias: bias, eps: 1e-6, silu: silu)
                XCTAssertEqual(y, expected, "\(shape) silu \(silu): in place vs into a new tensor")
                XCTAssertEqual(x, original, "the copy that shared the input is unchanged")
            }
        }
    }

    /// Random weights for a ResnetBlock2D (VAE form, no time embedding) and an Upsample2D, written
    /// to a temporary file and loaded through a WeightStore as the models load theirs.
    func loadBlocks(cin: Int, cout: Int) throws -> (ResnetBlock2D, Upsample2D, [String: Tensor]) {
        var tensors: [String: Tensor] = [:]
        var seed: UInt64 = 10
        func add(_ name: String, _ shape: [Int], scale: Float = 0.2) {
            seed += 1
            var t = randn(shape, seed: seed)
            t.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= scale } }
            tensors[name] = t
        }
        add("resnet.norm1.weight", [cin], scale: 1); add("resnet.norm1.bias", [cin])
        add("resnet.conv1.weight", [cout, cin, 3, 3]); add("resnet.conv1.bias", [cout])
        add("resnet.norm2.weight", [cout], scale: 1); add("resnet.norm2.bias", [cout])
        add("resnet.conv2.weight", [cout, cout, 3, 3]); add("resnet.conv2.bias", [cout])
        if cin != cout { add("resnet.conv_shortcut.weight", [cout, cin, 1, 1]); add("resnet.conv_shortcut.bias", [cout]) }
        add("up.conv.weight", [cout, cout, 3, 3]); add("up.conv.bias", [cout])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inplace-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsWriter.write(tensors, to: url)
        let store = try WeightStore(url: url)
        let resnet = try ResnetBlock2D(store.root["resnet"], inChannels: cin, outChannels: cout, tembChannels: nil, groups: 8, eps: 1e-6)
        let up = try Upsample2D(store.root["up"], channels: cout)
        try store.finish()
        return (resnet, up, tensors)
    }

    func testResnetBlockAndUpsampleApplyEqualTheOpsInOrder() throws {
        let saved = Ops.winogradMinPixels
        defer { Ops.winogradMinPixels = saved }
        for (cin, cout, batch) in [(32, 16, 1), (16, 16, 1), (32, 16, 2), (16, 32, 1)] {
            let (resnet, up, w) = try loadBlocks(cin: cin, cout: cout)
            func conv(_ x: Tensor, _ name: String, padding: Int) -> Tensor {
                Ops.conv2d(x, weight: w[name + ".weight"]!, bias: w[name + ".bias"]!, stride: 1, padding: padding)
            }
            func norm(_ x: Tensor, _ name: String) -> Tensor {
                Ops.groupNorm(x, groups: 8, weight: w[name + ".weight"]!, bias: w[name + ".bias"]!, eps: 1e-6, silu: true)
            }
            // 21 x 30: the GEMM paths of large planes; 16 x 16 (at Int.max): small planes as panels.
            for (path, minPixels, height, width) in [("winograd", 0, 21, 30), ("im2col", Int.max, 21, 30), ("panels", Int.max, 16, 16)] {
                let x = randn([batch, cin, height, width], seed: 4)
                Ops.winogradMinPixels = minPixels
                let label = "\(cin) -> \(cout) x\(batch), \(path)"
                // diffusers: h = conv2(silu(norm2(conv1(silu(norm1(x)))))); out = (conv_shortcut(x) or x) + h
                let h = conv(norm(conv(norm(x, "resnet.norm1"), "resnet.conv1", padding: 1), "resnet.norm2"), "resnet.conv2", padding: 1)
                var expected = cin != cout ? conv(x, "resnet.conv_shortcut", padding: 0) : x
                Ops.addInPlace(&expected, h)
                XCTAssertEqual(resnet(x, temb: nil), expected, label + ": callAsFunction")
                var y = x
                resnet.apply(to: &y, temb: nil)
                XCTAssertEqual(y, expected, label + ": apply")
                let upExpected = conv(Ops.upsampleNearest2x(expected), "up.conv", padding: 1)
                XCTAssertEqual(up(expected), upExpected, label + ": upsample, callAsFunction")
                // An output size of exactly 2x reads the input in place as the plain form does; any
                // other size upsamples to it first.
                XCTAssertEqual(up(expected, outputSize: (2 * height, 2 * width)), upExpected, label + ": upsample to 2x by size")
                let odd = conv(Ops.upsampleNearest(expected, outHeight: 2 * height + 1, outWidth: 2 * width - 1), "up.conv", padding: 1)
                XCTAssertEqual(up(expected, outputSize: (2 * height + 1, 2 * width - 1)), odd, label + ": upsample to another size")
                up.apply(to: &y)
                XCTAssertEqual(y, upExpected, label + ": upsample, apply")
            }
        }
    }

    /// The convolution forms the resnet block's `apply` runs on the VAE's large planes, against
    /// conv2d on the same operands: bit for bit, at fp32 and bf16 weights, on both paths.
    func testConvolutionMemoryForms() throws {
        let savedPixels = Ops.winogradMinPixels, savedBand = Ops.conv1x1BandFloats
        defer { Ops.winogradMinPixels = savedPixels; Ops.conv1x1BandFloats = savedBand }
        func weight(_ t: Tensor, _ precision: ComputePrecision) -> GEMMWeight {
            GEMMWeight(t, precision: precision, layout: .rows)
        }
        for precision in [ComputePrecision.fp32, .bf16] {
            // 1x1 over the input's own storage, in bands of 37 pixels (plane 21 x 30 = 630: a partial last band).
            Ops.conv1x1BandFloats = 37 * 24
            // 16 x 16 at fp32: the plane conv2d runs as panels, which conv1x1InPlace hands to conv2d.
            for (cin, cout, batch, bias, h, w) in [(24, 16, 1, true, 21, 30), (24, 24, 1, false, 21, 30), (24, 16, 2, true, 21, 30),
                                                   (16, 24, 1, true, 21, 30), (24, 16, 1, true, 16, 16)] {
                let x = randn([batch, cin, h, w], seed: 5)
                let w = weight(randn([cout, cin, 1, 1], seed: 6), precision), b = bias ? randn([cout], seed: 7) : nil
                let expected = Ops.conv2d(x, weight: w, bias: b, stride: 1, padding: .uniform(0))
                var y = x
                Ops.conv1x1InPlace(&y, weight: w, bias: b)
                XCTAssertEqual(y, expected, "\(precision) 1x1 \(cin) -> \(cout) x\(batch) in place")
            }
            let x = randn([2, 16, 21, 30], seed: 8)
            let w = weight(randn([8, 16, 3, 3], seed: 9), precision), b = randn([8], seed: 10)
            let nw = randn([16], seed: 11), nb = randn([16], seed: 12)
            for (path, minPixels) in [("winograd", 0), ("im2col", Int.max)] {
                Ops.winogradMinPixels = minPixels
                let label = "\(precision) \(path)"
                // The normalised input read on the fly against normalising first.
                var affine = Ops.groupNormAffine(x, groups: 4, weight: nw, bias: nb, eps: 1e-6)
                affine.silu = true
                let normed = Ops.groupNorm(x, groups: 4, weight: nw, bias: nb, eps: 1e-6, silu: true)
                let viaMap = Ops.conv2d(x, weight: w, bias: b, padding: .uniform(1), input: affine)
                XCTAssertEqual(viaMap, Ops.conv2d(normed, weight: w, bias: b, stride: 1, padding: .uniform(1)), label + ": input map")
                affine.silu = false
                XCTAssertEqual(Ops.conv2d(x, weight: w, bias: b, padding: .uniform(1), input: affine),
                               Ops.conv2d(Ops.groupNorm(x, groups: 4, weight: nw, bias: nb, eps: 1e-6), weight: w, bias: b,
                                          stride: 1, padding: .uniform(1)), label + ": input map without SiLU")
                // The sums written over the residual's storage against a residual added into a new tensor.
                let residual = randn([2, 8, 21, 30], seed: 13)
                var summed = residual
                Ops.conv2d(x, weight: w, bias: b, padding: .uniform(1), addingTo: &summed)
                XCTAssertEqual(summed, Ops.conv2d(x, weight: w, bias: b, stride: 1, padding: .uniform(1), residual: residual),
                               label + ": adding to the residual")
            }
        }
    }
}
