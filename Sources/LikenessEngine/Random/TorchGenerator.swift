// Matches torch.Generator("cpu").manual_seed(S) followed by any sequence of
// torch.randn(shape, generator=g, dtype=torch.float32) and torch.rand(shape, generator=g,
// dtype=torch.float32) calls, bit for bit, as PyTorch 2.x x86-64 builds compute them
// (ATen/native/cpu/DistributionTemplates.h, DistributionKernels.cpp):
//  - rand: one 32-bit draw per element, (v & 0xFFFFFF) * 2^-24.
//  - randn with >= 16 elements (contiguous float32): fill every element with such a uniform,
//    then Box–Muller in blocks of 16 (lanes j and j+8 share one (u1, u2) pair) using the
//    avx_mathfun log/sincos (CephesMath); when the count is not a multiple of 16, 16 fresh
//    uniforms overwrite the last 16 elements and that block is transformed again.
//  - randn with < 16 elements: per element, double-precision Box–Muller from two 53-bit
//    uniforms (two 32-bit draws each), caching the second value (r * sin) in the generator,
//    exactly like at::normal_distribution<double>; the cache survives between calls and is
//    cleared by reseeding.
// Limits: ARM/macOS builds of PyTorch (no AVX2) use libm log/cos/sin for >= 16 elements and
// may differ from these values in the last bit; float64/float16 draws are not provided.

import Foundation

/// PyTorch's CPU generator: seed-exact random streams for latents and sampler noise.
public struct TorchGenerator: Sendable {
    private var engine: MersenneTwister
    private var cachedNormal: Double?

    /// The seed the generator was last seeded with (`g.initial_seed()`).
    public private(set) var seed: UInt64

    /// `torch.Generator("cpu").manual_seed(seed)`.
    public init(seed: UInt64) {
        self.seed = seed
        engine = MersenneTwister(seed: seed)
        cachedNormal = nil
    }

    /// `g.manual_seed(seed)`: restarts the stream and forgets the cached normal sample.
    public mutating func manualSeed(_ seed: UInt64) {
        self = TorchGenerator(seed: seed)
    }

    /// One raw 32-bit draw (`CPUGeneratorImpl::random()`).
    public mutating func random() -> UInt32 {
        engine.nextUInt32()
    }

    /// One raw 64-bit draw (`CPUGeneratorImpl::random64()`): first draw is the high half.
    public mutating func random64() -> UInt64 {
        let hi = UInt64(engine.nextUInt32())
        let lo = UInt64(engine.nextUInt32())
        return (hi << 32) | lo
    }

    @inline(__always)
    private mutating func uniformFloat() -> Float {
        Float(engine.nextUInt32() & 0x00ff_ffff) * 0x1p-24
    }

    @inline(__always)
    private mutating func uniformDouble() -> Double {
        Double(random64() & ((1 << 53) - 1)) * 0x1p-53
    }

    /// `torch.rand(count, generator=g, dtype=torch.float32)`, values in [0, 1).
    public mutating func rand(_ count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: max(count, 0))
        for i in 0..<out.count { out[i] = uniformFloat() }
        return out
    }

    /// `torch.randn(shape, generator=g, dtype=torch.float32)` flattened in row-major order.
    public mutating func randn(shape: [Int]) -> [Float] {
        randn(shape.reduce(1, *))
    }

    /// `torch.randn(count, generator=g, dtype=torch.float32)`.
    public mutating func randn(_ count: Int) -> [Float] {
        if count <= 0 { return [] }
        if count >= 16 { return randnBlocks(count) }
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count { out[i] = Float(normalDouble()) }
        return out
    }

    /// `at::normal_distribution<double>(0, 1)` with the generator's cached second sample.
    private mutating func normalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = uniformDouble()
        let u2 = uniformDouble()
        let r = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    private mutating func randnBlocks(_ count: Int) -> [Float] {
        var data = [Float](repeating: 0, count: count)
        for i in 0..<count { data[i] = uniformFloat() }
        data.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i + 16 <= count {
                Self.boxMuller16(p, at: i)
                i += 16
            }
        }
        if count % 16 != 0 {
            let start = count - 16
            for i in 0..<16 { data[start + i] = uniformFloat() }
            data.withUnsafeMutableBufferPointer { p in Self.boxMuller16(p, at: start) }
        }
        return data
    }

    private static let twoPi = Float(2.0 * Double.pi)

    /// normal_fill_16_AVX2: lanes j and j + 8 (j < 8) form one Box–Muller pair.
    @inline(__always)
    private static func boxMuller16(_ p: UnsafeMutableBufferPointer<Float>, at base: Int) {
        for j in 0..<8 {
            let u1 = 1 - p[base + j]
            let u2 = p[base + j + 8]
            let radius = (-2 * CephesMath.log(u1)).squareRoot()
            let theta = twoPi * u2
            let (s, c) = CephesMath.sincos(theta)
            p[base + j] = radius * c
            p[base + j + 8] = radius * s
        }
    }
}
