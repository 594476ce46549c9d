// Matches PyTorch's at::mt19937 (ATen/core/MT19937RNGEngine.h), the engine behind
// torch.Generator("cpu"): standard 32-bit MT19937 seeded with Knuth's initialisation from the
// low 32 bits of the seed (so seeds S and S + 2**32 give the same stream, as in PyTorch).
// Bit-exact; no limits beyond that.

/// The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it.
public struct MersenneTwister: Sendable {
    private static let n = 624
    private static let m = 397
    private static let matrixA: UInt32 = 0x9908_b0df
    private static let upperMask: UInt32 = 0x8000_0000
    private static let lowerMask: UInt32 = 0x7fff_ffff

    private var state: [UInt32]
    private var left: Int
    private var next: Int

    /// Seeds like `at::mt19937(seed)`: only the low 32 bits of `seed` enter the state.
    public init(seed: UInt64) {
        var s = [UInt32](repeating: 0, count: Self.n)
        s[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<Self.n {
            s[j] = 1_812_433_253 &* (s[j - 1] ^ (s[j - 1] >> 30)) &+ UInt32(j)
        }
        state = s
        left = 1
        next = 0
    }

    @inline(__always)
    private static func twist(_ u: UInt32, _ v: UInt32) -> UInt32 {
        let mixed = (u & upperMask) | (v & lowerMask)
        return (mixed >> 1) ^ ((v & 1) != 0 ? matrixA : 0)
    }

    private mutating func nextState() {
        let n = Self.n, m = Self.m
        state.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < n - m {
                p[i] = p[i + m] ^ Self.twist(p[i], p[i + 1])
                i += 1
            }
            while i < n - 1 {
                p[i] = p[i + m - n] ^ Self.twist(p[i], p[i + 1])
                i += 1
            }
            p[n - 1] = p[m - 1] ^ Self.twist(p[n - 1], p[0])
        }
        left = n
        next = 0
    }

    /// The next 32-bit output (`engine_()` in PyTorch).
    @inline(__always)
    public mutating func nextUInt32() -> UInt32 {
        left -= 1
        if left == 0 { nextState() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }
}
