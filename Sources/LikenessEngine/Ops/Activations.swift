// Matches torch.nn.functional.silu, gelu (approximate="none", erf form), gelu
// (approximate="tanh"), and transformers' QuickGELUActivation (x * sigmoid(1.702 x)),
// elementwise on float32. SiLU, QuickGELU and GELU run in the vectorised kernels of
// CLikenessKernels (Cephes-style exp, Abramowitz-Stegun erf as PyTorch's vectorised erf);
// the scalar `apply` (libm) and the tanh form serve small and rare cases. Agreement ~1e-6
// relative.

import CLikenessKernels
import Foundation

/// Elementwise activation functions by their PyTorch / transformers names.
public enum Activation: String, Codable, Equatable, CaseIterable {
    /// torch.nn.functional.silu.
    case silu
    /// torch.nn.functional.gelu, exact erf form (transformers "gelu").
    case gelu
    /// torch.nn.functional.gelu(approximate="tanh") (transformers "gelu_new"/"gelu_pytorch_tanh").
    case geluTanh = "gelu_pytorch_tanh"
    /// transformers QuickGELUActivation.
    case quickGelu = "quick_gelu"

    /// Parses a transformers `hidden_act` / diffusers `act_fn` string.
    public init?(name: String) {
        switch name {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast": self = .geluTanh
        case "quick_gelu": self = .quickGelu
        default: return nil
        }
    }

    @inline(__always)
    func apply(_ v: Float) -> Float {
        switch self {
        case .silu: return v / (1 + Foundation.exp(-v))
        case .gelu: return 0.5 * v * (1 + Foundation.erf(v * 0.70710678118654752440))
        case .geluTanh:
            let inner: Float = 0.79788456080286535588 * (v + 0.044715 * v * v * v)
            return 0.5 * v * (1 + Foundation.tanh(inner))
        case .quickGelu: return v / (1 + Foundation.exp(-1.702 * v))
        }
    }
}

extension Ops {
    /// Applies `activation` elementwise in place.
    public static func activate(_ x: inout Tensor, _ activation: Activation) {
        let profileStart = OpProfile.start(); defer { OpProfile.stop("activation", profileStart) }
        let n = x.count
        x.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            parallelChunks(n, minChunk: 16384) { range in
                switch activation {
                case .silu: lk_silu(p + range.lowerBound, range.count)
                case .gelu: lk_gelu(p + range.lowerBound, range.count)
                case .geluTanh: for i in range { p[i] = Activation.geluTanh.apply(p[i]) }
                case .quickGelu: lk_quick_gelu(p + range.lowerBound, range.count)
                }
            }
        }
    }

    /// Returns `activation` applied elementwise.
    public static func activated(_ x: Tensor, _ activation: Activation) -> Tensor {
        var y = x
        activate(&y, activation)
        return y
    }

    /// torch.nn.functional.silu.
    public static func silu(_ x: Tensor) -> Tensor { activated(x, .silu) }
    /// torch.nn.functional.gelu (exact).
    public static func gelu(_ x: Tensor) -> Tensor { activated(x, .gelu) }
    /// torch.nn.functional.gelu(approximate="tanh").
    public static func geluTanh(_ x: Tensor) -> Tensor { activated(x, .geluTanh) }
    /// transformers QuickGELU.
    public static func quickGelu(_ x: Tensor) -> Tensor { activated(x, .quickGelu) }
}

