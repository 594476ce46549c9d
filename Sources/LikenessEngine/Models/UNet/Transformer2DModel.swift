// Matches diffusers Transformer2DModel for continuous input (norm_type "layer_norm"):
//   residual = x; x = GroupNorm(norm_num_groups, eps=1e-6)(x)
//   use_linear_projection false: proj_in = 1x1 conv, then [B, HW, inner] tokens
//   use_linear_projection true:  [B, HW, C] tokens, then proj_in = Linear
//   BasicTransformerBlock × num_layers; proj_out mirrors proj_in; out = x + residual.
// BasicTransformerBlock: x += attn1(norm1(x)); x += attn2(norm2(x), context);
// x += ff(norm3(x)), LayerNorm eps 1e-5, GEGLU feed-forward (inner 4·dim, exact gelu).

/// diffusers `FeedForward` with GEGLU: `net.0.proj` [2·inner, dim], `net.2` [dim, inner].
public struct FeedForward {
    /// `net.0.proj`
    public let net_0_proj: Linear
    /// `net.2`
    public let net_2: Linear

    public init(_ w: WeightScope, dim: Int, mult: Int = 4) throws {
        let inner = dim * mult
        net_0_proj = try Linear(w["net"][0]["proj"], inFeatures: dim, outFeatures: inner * 2)
        net_2 = try Linear(w["net"][2], inFeatures: inner, outFeatures: dim)
    }

    /// [B, N, dim] → [B, N, dim]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        net_2(Ops.geglu(net_0_proj(x)))
    }
}

/// diffusers `BasicTransformerBlock` (layer_norm, self- then cross-attention, GEGLU).
public struct BasicTransformerBlock {
    public let norm1: LayerNorm
    public let attn1: DiffusersAttention
    public let norm2: LayerNorm
    public let attn2: DiffusersAttention
    public let norm3: LayerNorm
    public let ff: FeedForward

    public init(_ w: WeightScope, dim: Int, heads: Int, dimHead: Int, crossAttentionDim: Int) throws {
        norm1 = try LayerNorm(w["norm1"], dim: dim, eps: 1e-5)
        attn1 = try DiffusersAttention(w["attn1"], queryDim: dim, crossAttentionDim: nil, heads: heads, dimHead: dimHead)
        norm2 = try LayerNorm(w["norm2"], dim: dim, eps: 1e-5)
        attn2 = try DiffusersAttention(w["attn2"], queryDim: dim, crossAttentionDim: crossAttentionDim, heads: heads, dimHead: dimHead)
        norm3 = try LayerNorm(w["norm3"], dim: dim, eps: 1e-5)
        ff = try FeedForward(w["ff"], dim: dim)
    }

    /// `x` [B, N, dim], `context` [B, L, crossDim] → [B, N, dim]
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = x
        Ops.addInPlace(&h, attn1(norm1(h)))
        Ops.addInPlace(&h, attn2(norm2(h), context: context))
        Ops.addInPlace(&h, ff(norm3(h)))
        return h
    }
}

/// diffusers `Transformer2DModel` over continuous [B, C, H, W] input.
public struct Transformer2DModel {
    /// A 1x1 convolution or a Linear, per `use_linear_projection`.
    public enum Projection {
        case conv(Conv2d)
        case linear(Linear)
    }

    public let norm: GroupNorm
    public let proj_in: Projection
    public let transformer_blocks: [BasicTransformerBlock]
    public let proj_out: Projection

    public init(
        _ w: WeightScope, channels: Int, heads: Int, layers: Int, crossAttentionDim: Int,
        groups: Int, useLinearProjection: Bool
    ) throws {
        let dimHead = channels / heads
        let inner = heads * dimHead
        norm = try GroupNorm(w["norm"], groups: groups, channels: channels, eps: 1e-6)
        if useLinearProjection {
            proj_in = .linear(try Linear(w["proj_in"], inFeatures: channels, outFeatures: inner))
        } else {
            proj_in = .conv(try Conv2d(w["proj_in"], inChannels: channels, outChannels: inner, kernelSize: 1))
        }
        transformer_blocks = try (0..<layers).map {
            try BasicTransformerBlock(w["transformer_blocks"][$0], dim: inner, heads: heads, dimHead: dimHead,
                                      crossAttentionDim: crossAttentionDim)
        }
        if useLinearProjection {
            proj_out = .linear(try Linear(w["proj_out"], inFeatures: inner, outFeatures: channels))
        } else {
            proj_out = .conv(try Conv2d(w["proj_out"], inChannels: inner, outChannels: channels, kernelSize: 1))
        }
    }

    /// `x` [B, C, H, W], `context` [B, L, crossDim] → [B, C, H, W]
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let height = x.shape[2], width = x.shape[3]
        let normed = norm(x)
        var tokens: Tensor // [B, HW, inner]
        switch proj_in {
        case let .conv(conv): tokens = Ops.channelsToTokens(conv(normed))
        case let .linear(linear): tokens = linear(Ops.channelsToTokens(normed))
        }
        for block in transformer_blocks { tokens = block(tokens, context: context) }
        var out: Tensor // [B, C, H, W]
        switch proj_out {
        case let .conv(conv): out = conv(Ops.tokensToChannels(tokens, height: height, width: width))
        case let .linear(linear): out = Ops.tokensToChannels(linear(tokens), height: height, width: width)
        }
        Ops.addInPlace(&out, x)
        return out
    }
}
