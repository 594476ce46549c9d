// safetensors dtype names and element sizes (per the safetensors format spec), and
// conversion of F16 (IEEE 754 binary16) and BF16 (bfloat16) to Float32, bit-exact as
// torch's .float() (every binary16/bfloat16 value is exactly representable in float32).

/// A safetensors element type.
public enum SafeTensorsDType: Equatable, Hashable {
    case f32, f16, bf16
    /// A dtype the format knows but the engine does not compute in (e.g. I64, F64, BOOL).
    case other(String)

    /// Parses a header dtype string; nil for names the format does not define.
    init?(name: String) {
        switch name {
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        default:
            guard SafeTensorsDType.otherSizes[name] != nil else { return nil }
            self = .other(name)
        }
    }

    private static let otherSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    /// The header spelling.
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case let .other(name): return name
        }
    }

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case let .other(name): return SafeTensorsDType.otherSizes[name] ?? 1
        }
    }
}

/// IEEE binary16 bits → Float32 (exact, including subnormals, infinities and NaN).
@inline(__always)
func halfBitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x03FF)
    if exponent == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {
        // Zero or subnormal: value = mantissa * 2^-24.
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// bfloat16 bits → Float32 (exact).
@inline(__always)
func bfloat16BitsToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Float32 → IEEE binary16 bits, round-to-nearest-even (as torch's .half()).
func floatToHalfBits(_ f: Float) -> UInt16 {
    Float16(f).bitPattern
}
