// Parameter-holding layers named as in torch.nn: Linear, Conv2d, GroupNorm, LayerNorm,
// Embedding. Each loads `weight`/`bias` from a WeightScope with the exact PyTorch shapes
// and forwards to the matching op in Ops (see those files for what they match).

/// torch.nn.Linear: weight [out, in], optional bias [out]. The weight is held at the store's
/// precision (bfloat16 packed for the kernel when `bf16`, see Ops/Precision.swift).
public struct Linear {
    public let gemmWeight: GEMMWeight
    public let bias: Tensor?

    public init(_ w: WeightScope, inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        gemmWeight = try w.gemmWeight("weight", shape: [outFeatures, inFeatures], layout: .packedTransposed)
        self.bias = bias ? try w.tensor("bias", shape: [outFeatures]) : nil
    }

    /// The weight as float32 (widened when held as bfloat16).
    public var weight: Tensor { gemmWeight.tensor }
    public var inFeatures: Int { gemmWeight.shape[1] }
    public var outFeatures: Int { gemmWeight.shape[0] }

    /// [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Ops.linear(x, weight: gemmWeight, bias: bias)
    }
}

/// torch.nn.Conv2d (groups 1, dilation 1): weight [out, in, k, k], bias [out]. The weight is
/// held at the store's precision (bfloat16 rows [out, in*k*k] when `bf16`).
public struct Conv2d {
    public let gemmWeight: GEMMWeight
    public let bias: Tensor?
    public let stride: Int
    public let padding: Ops.Padding2D

    public init(
        _ w: WeightScope, inChannels: Int, outChannels: Int, kernelSize: Int,
        stride: Int = 1, padding: Int = 0, bias: Bool = true
    ) throws {
        gemmWeight = try w.gemmWeight("weight", shape: [outChannels, inChannels, kernelSize, kernelSize], layout: .rows)
        self.bias = bias ? try w.tensor("bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = .uniform(padding)
    }

    /// The weight as float32 (widened when held as bfloat16).
    public var weight: Tensor { gemmWeight.tensor }

    /// [B, in, H, W] → [B, out, H', W']
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Ops.conv2d(x, weight: gemmWeight, bias: bias, stride: stride, padding: padding)
    }

    /// relu(conv(x) + residual) (residual optional), the sum and clamp done in the convolution's
    /// output pass where it can (Ops.conv2d).
    public func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil, relu: Bool) -> Tensor {
        Ops.conv2d(x, weight: gemmWeight, bias: bias, stride: stride, padding: padding, residual: residual, relu: relu)
    }

    /// conv(nearest 2x upsample of x), stride 1 (Ops.conv2dUpsampled2x: the upsampled tensor is not
    /// built where the Winograd path runs).
    public func callAsFunction(upsampling x: Tensor, relu: Bool = false) -> Tensor {
        precondition(stride == 1, "Conv2d(upsampling:): stride \(stride)")
        return Ops.conv2dUpsampled2x(x, weight: gemmWeight, bias: bias, padding: padding, relu: relu)
    }

    /// Convolution with explicit padding instead of the layer's own (diffusers' padded downsample).
    public func callAsFunction(_ x: Tensor, padding: Ops.Padding2D) -> Tensor {
        Ops.conv2d(x, weight: gemmWeight, bias: bias, stride: stride, padding: padding)
    }
}

/// torch.nn.GroupNorm (affine).
public struct GroupNorm {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(_ w: WeightScope, groups: Int, channels: Int, eps: Float) throws {
        weight = try w.tensor("weight", shape: [channels])
        bias = try w.tensor("bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    /// [B, C, ...] → [B, C, ...]; `silu` fuses a following SiLU.
    public func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        Ops.groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }

    /// The same, written over `x` (for an input with no further use).
    public func apply(to x: inout Tensor, silu: Bool = false) {
        Ops.groupNormInPlace(&x, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }
}

/// torch.nn.LayerNorm over the last dimension (elementwise affine).
public struct LayerNorm {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ w: WeightScope, dim: Int, eps: Float) throws {
        weight = try w.tensor("weight", shape: [dim])
        bias = try w.tensor("bias", shape: [dim])
        self.eps = eps
    }

    /// [..., D] → [..., D]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Ops.layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}

/// torch.nn.Embedding: weight [num, dim].
public struct Embedding {
    /// The table held as float32, or nil when the rows are read from the file's mapping.
    private let held: Tensor?
    /// The table's 16-bit values in the model file's mapping (`mapped` loads of F16/BF16 files).
    private let mapped: HalfValues?
    public let count: Int
    public let dim: Int

    /// Takes `weight` [count, dim]. With `mapped`, a table stored as F16 or BF16 is not copied:
    /// each lookup widens its rows from the file's mapping (exactly, as a load would), so the
    /// table (49408 x 768 for CLIP's tokens: 0.15 GB as float32) is never resident as a whole.
    public init(_ w: WeightScope, count: Int, dim: Int, mapped: Bool = false) throws {
        self.count = count
        self.dim = dim
        if mapped, let values = w.store.takeHalfValues([w.key("weight")], shape: [count, dim]) {
            held = nil
            self.mapped = values
        } else {
            held = try w.tensor("weight", shape: [count, dim])
            self.mapped = nil
        }
    }

    /// The whole table as float32 (widened from the mapping when mapped).
    public var weight: Tensor {
        if let held { return held }
        return Tensor(shape: [count, dim]) { out in copyRows(0..<count, to: out.baseAddress!) }
    }

    /// Rows `rows` of the table as float32, contiguous at `dst`.
    private func copyRows(_ rows: Range<Int>, to dst: UnsafeMutablePointer<Float>) {
        if let held {
            held.withUnsafeBufferPointer { wb in dst.update(from: wb.baseAddress! + rows.lowerBound * dim, count: rows.count * dim) }
        } else if let mapped {
            let src = mapped.bits + rows.lowerBound * dim
            let widen = mapped.isBF16 ? bfloat16BitsToFloat : halfBitsToFloat
            for i in 0..<(rows.count * dim) { dst[i] = widen(UInt16(littleEndian: src[i])) }
        }
    }

    /// Rows for `ids` ([B][L] as a flat list with `batch` rows) → [B, L, dim].
    /// Throws `ModelInputError.tokenOutOfRange` for ids outside 0..<count.
    public func callAsFunction(_ ids: [[Int]]) throws -> Tensor {
        let batch = ids.count
        let length = ids.first?.count ?? 0
        let d = dim, n = count
        for (b, row) in ids.enumerated() {
            guard row.count == length else {
                throw ModelInputError.raggedBatch(row: b, length: row.count, expected: length)
            }
            for id in row where id < 0 || id >= n {
                throw ModelInputError.tokenOutOfRange(id: id, vocabularySize: n)
            }
        }
        return Tensor(shape: [batch, length, d]) { out in
            for (b, row) in ids.enumerated() {
                for (l, id) in row.enumerated() { copyRows(id..<(id + 1), to: out.baseAddress! + (b * length + l) * d) }
            }
        }
    }
}
