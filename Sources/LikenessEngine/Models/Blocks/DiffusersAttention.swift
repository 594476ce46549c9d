// Matches diffusers Attention with AttnProcessor2_0 for the configurations SD uses:
//  - UNet self/cross attention: to_q/to_k/to_v without bias, to_out.0 with bias,
//    heads × dim_head, no residual inside (BasicTransformerBlock adds it);
//  - VAE mid-block attention: group_norm first, q/k/v with bias, a single head, and
//    residual_connection=True on [B, C, H, W] input (rescale_output_factor 1).
// Old diffusers VAE checkpoints name the projections query/key/value/proj_attn; those
// names are accepted as aliases, as diffusers converts them on load.

/// diffusers `Attention`.
public struct DiffusersAttention {
    public let to_q: Linear
    public let to_k: Linear
    public let to_v: Linear
    /// `to_out.0`
    public let to_out_0: Linear
    /// Present for the VAE's spatial attention.
    public let group_norm: GroupNorm?
    public let heads: Int

    /// UNet attention: `queryDim` tokens attend over `crossAttentionDim` context (or themselves when nil).
    public init(_ w: WeightScope, queryDim: Int, crossAttentionDim: Int?, heads: Int, dimHead: Int) throws {
        let inner = heads * dimHead
        to_q = try Linear(w["to_q"], inFeatures: queryDim, outFeatures: inner, bias: false)
        to_k = try Linear(w["to_k"], inFeatures: crossAttentionDim ?? queryDim, outFeatures: inner, bias: false)
        to_v = try Linear(w["to_v"], inFeatures: crossAttentionDim ?? queryDim, outFeatures: inner, bias: false)
        to_out_0 = try Linear(w["to_out"][0], inFeatures: inner, outFeatures: queryDim)
        group_norm = nil
        self.heads = heads
    }

    /// VAE spatial attention over `channels` with `channels / dimHead` heads.
    public init(spatial w: WeightScope, channels: Int, dimHead: Int, groups: Int, eps: Float) throws {
        func linear(_ name: String, alias: String) throws -> Linear {
            let scope = w.contains("\(name).weight") || !w.contains("\(alias).weight") ? w[name] : w[alias]
            return try Linear(scope, inFeatures: channels, outFeatures: channels)
        }
        group_norm = try GroupNorm(w["group_norm"], groups: groups, channels: channels, eps: eps)
        to_q = try linear("to_q", alias: "query")
        to_k = try linear("to_k", alias: "key")
        to_v = try linear("to_v", alias: "value")
        to_out_0 = try linear("to_out.0", alias: "proj_attn")
        heads = max(1, channels / dimHead)
    }

    /// Token attention: `x` [B, N, queryDim], `context` [B, L, crossDim] (nil: self-attention) → [B, N, queryDim].
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let q = to_q(x)
        let kv = context ?? x
        let k = to_k(kv)
        let v = to_v(kv)
        let o = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: heads,
                                              precision: to_q.gemmWeight.precision)
        return to_out_0(o)
    }

    /// Spatial attention with residual: `x` [B, C, H, W] → [B, C, H, W].
    public func spatial(_ x: Tensor) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        let normed = group_norm.map { $0(x) } ?? x
        let tokens = Ops.channelsToTokens(normed) // [B, HW, C]
        let attended = self(tokens) // [B, HW, C]
        var out = Ops.tokensToChannels(attended, height: h, width: w)
        Ops.addInPlace(&out, x)
        return out
    }
}
