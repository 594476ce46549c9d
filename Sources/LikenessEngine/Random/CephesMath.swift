// Matches the single-precision log and sincos of avx_mathfun.h (Julien Pommier's Cephes-based
// AVX routines, ATen/native/cpu/avx_mathfun.h) that PyTorch's x86 CPU build uses inside
// torch.randn / Tensor.normal_ (normal_fill_16_AVX2). Each lane of the AVX code is computed
// independently, so a scalar port reproduces it bit for bit, provided every multiply-add is
// rounded the way the shipped binary rounds it. The compiler that built PyTorch contracted the
// intrinsics' separate multiplies and adds into FMAs; where an add had two products as operands
// it fused the first (`(y * x) * z + e * q1` became fma(y * x, z, e * q1), and the cosine's
// `c * z * z - 0.5 * z` became fma(c * z, z, -0.5 * z)). This pattern was found by comparing
// against torch 2.13 x86-64 wheels and gives 0 differing bits over millions of draws
// (RandomTorchTests).
// Limits: meant for the inputs Box–Muller gives it (log on (0, 1], sincos on [0, 2π)); it is
// not a general-purpose libm.

import Foundation

enum CephesMath {
    // log256_ps constants
    private static let sqrtHalf: Float = 0.707106781186547524
    private static let logP0: Float = 7.0376836292e-2
    private static let logP1: Float = -1.1514610310e-1
    private static let logP2: Float = 1.1676998740e-1
    private static let logP3: Float = -1.2420140846e-1
    private static let logP4: Float = 1.4249322787e-1
    private static let logP5: Float = -1.6668057665e-1
    private static let logP6: Float = 2.0000714765e-1
    private static let logP7: Float = -2.4999993993e-1
    private static let logP8: Float = 3.3333331174e-1
    private static let logQ1: Float = -2.12194440e-4
    private static let logQ2: Float = 0.693359375

    // sincos256_ps constants
    private static let fourOverPi: Float = 1.27323954473516
    private static let minusDP1: Float = -0.78515625
    private static let minusDP2: Float = -2.4187564849853515625e-4
    private static let minusDP3: Float = -3.77489497744594108e-8
    private static let sinP0: Float = -1.9515295891e-4
    private static let sinP1: Float = 8.3321608736e-3
    private static let sinP2: Float = -1.6666654611e-1
    private static let cosP0: Float = 2.443315711809948e-5
    private static let cosP1: Float = -1.388731625493765e-3
    private static let cosP2: Float = 4.166664568298827e-2

    /// a * b + c rounded once, as the compiled AVX code does it.
    @inline(__always)
    private static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float {
        c.addingProduct(a, b)
    }

    /// log256_ps for one lane.
    static func log(_ input: Float) -> Float {
        if !(input > 0) { return input == 0 ? -Float.infinity : Float.nan }
        var x = Swift.max(input, Float(bitPattern: 0x0080_0000))
        let bits = x.bitPattern
        let exponent = Int32(bitPattern: bits >> 23) - 0x7f
        x = Float(bitPattern: (bits & ~0x7f80_0000) | Float(0.5).bitPattern)
        var e = Float(exponent) + 1
        let one: Float = 1
        let tmp: Float
        if x < sqrtHalf {
            tmp = x
            e -= one
        } else {
            tmp = 0
        }
        x = x - one
        x = x + tmp
        let z = x * x
        var y = logP0
        y = fma(y, x, logP1)
        y = fma(y, x, logP2)
        y = fma(y, x, logP3)
        y = fma(y, x, logP4)
        y = fma(y, x, logP5)
        y = fma(y, x, logP6)
        y = fma(y, x, logP7)
        y = fma(y, x, logP8)
        y = y * x
        y = fma(y, z, e * logQ1)
        y = y - z * 0.5
        x = x + y
        x = fma(e, logQ2, x)
        return x
    }

    /// sincos256_ps for one lane: (sin, cos).
    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        var x = Swift.abs(input)
        let signSin: UInt32 = input.bitPattern & 0x8000_0000
        var y = x * fourOverPi
        var j = Int32(y)  // truncation, like _mm256_cvttps_epi32
        j = (j &+ 1) & ~1
        y = Float(j)
        let swapSignSin = UInt32(bitPattern: (j & 4) << 29)
        let polyMask = (j & 2) == 0
        x = fma(y, minusDP1, x)
        x = fma(y, minusDP2, x)
        x = fma(y, minusDP3, x)
        let signCos = UInt32(bitPattern: (~(j &- 2) & 4) << 29)
        let sinSign = signSin ^ swapSignSin

        let z = x * x
        var c = cosP0
        c = fma(c, z, cosP1)
        c = fma(c, z, cosP2)
        c = c * z
        c = fma(c, z, -(z * 0.5))
        c = c + 1

        var s = sinP0
        s = fma(s, z, sinP1)
        s = fma(s, z, sinP2)
        s = s * z
        s = fma(s, x, x)

        let sinValue = polyMask ? s : c
        let cosValue = polyMask ? c : s
        return (Float(bitPattern: sinValue.bitPattern ^ sinSign), Float(bitPattern: cosValue.bitPattern ^ signCos))
    }
}
