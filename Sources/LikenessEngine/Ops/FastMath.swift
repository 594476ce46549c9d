// Vectorised expf for the engine's hot loops (softmax, SiLU), matching libm/PyTorch's
// vectorised exp to about 1-2 ulp: Cephes' expf scheme (range reduction by ln 2 split in
// two constants, degree-6 polynomial, 2^n by exponent bits). Inputs below -87.33 give 0,
// above 88.72 give +inf, NaN stays NaN.

typealias FloatVector = SIMD8<Float>

@inline(__always)
func vexp(_ xIn: FloatVector) -> FloatVector {
    let hi = FloatVector(repeating: 88.72283)
    let lo = FloatVector(repeating: -87.33654)
    let x = xIn.clamped(lowerBound: lo, upperBound: hi)
    // Round to nearest even by the 1.5·2^23 trick; its bit pattern also yields the integer.
    let magic = FloatVector(repeating: 12_582_912)
    let shifted = x * 1.44269504088896341 + magic
    let n = shifted - magic
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    let r2 = r * r
    var p = FloatVector(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let y = p * r2 + r + 1
    // 2^n through the exponent field; n is in [-126, 128] after clamping, split to stay finite.
    let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let half = ni &>> 1
    let s1 = unsafeBitCast((half &+ 127) &<< 23, to: FloatVector.self)
    let s2 = unsafeBitCast((ni &- half &+ 127) &<< 23, to: FloatVector.self)
    var result = y * s1 * s2
    result.replace(with: 0, where: xIn .< lo)
    result.replace(with: .infinity, where: xIn .> hi)
    result.replace(with: xIn, where: xIn .!= xIn)
    return result
}

/// exp of a scalar through the same kernel (for loop tails, so results do not depend on alignment).
@inline(__always)
func vexp(_ x: Float) -> Float {
    vexp(FloatVector(repeating: x))[0]
}

/// `dst[i] = exp(src[i] - shift)` for `count` floats; returns their sum.
@inline(__always)
func expShiftSum(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    var i = 0
    var acc = FloatVector(repeating: 0)
    let w = FloatVector.scalarCount
    while i + w <= count {
        let v = vexp(UnsafeRawPointer(src + i).loadUnaligned(as: FloatVector.self) - shift)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: v, as: FloatVector.self)
        acc += v
        i += w
    }
    var sum = acc.sum()
    while i < count {
        let e = vexp(src[i] - shift)
        dst[i] = e
        sum += e
        i += 1
    }
    return sum
}

/// In place `x / (1 + exp(-x))` over `count` floats.
@inline(__always)
func siluInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let w = FloatVector.scalarCount
    while i + w <= count {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: FloatVector.self)
        UnsafeMutableRawPointer(p + i).storeBytes(of: v / (1 + vexp(-v)), as: FloatVector.self)
        i += w
    }
    while i < count {
        p[i] = p[i] / (1 + vexp(-p[i]))
        i += 1
    }
}
