// Matches diffusers CrossAttnDownBlock2D / DownBlock2D (one struct: `attentions` empty
// for DownBlock2D), UNetMidBlock2DCrossAttn, and CrossAttnUpBlock2D / UpBlock2D (one
// struct), as built by UNet2DConditionModel.__init__ for SD 1.x/2.x configs:
// resnet → attention per layer, then the down/up sampler; up blocks concatenate the
// popped skip state on channels before each resnet (torch.cat([h, skip], dim=1)).

/// diffusers `CrossAttnDownBlock2D` (with attentions) or `DownBlock2D` (without).
public struct UNetDownBlock {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let downsamplers: [Downsample2D]

    init(_ w: WeightScope, plan: UNetPlan, config c: UNet2DConditionConfig, index i: Int,
         inChannels: Int, outChannels: Int, crossAttention: Bool, addDownsample: Bool) throws {
        resnets = try (0..<plan.layersPerBlock[i]).map { j in
            try ResnetBlock2D(w["resnets"][j], inChannels: j == 0 ? inChannels : outChannels, outChannels: outChannels,
                              tembChannels: plan.timeEmbedDim, groups: plan.groups, eps: c.norm_eps, act: plan.act)
        }
        attentions = crossAttention ? try (0..<plan.layersPerBlock[i]).map { j in
            try Transformer2DModel(w["attentions"][j], channels: outChannels, heads: plan.heads[i],
                                   layers: plan.transformerLayers[i], crossAttentionDim: plan.crossAttentionDim[i],
                                   groups: plan.groups, useLinearProjection: c.use_linear_projection)
        } : []
        downsamplers = addDownsample
            ? [try Downsample2D(w["downsamplers"][0], channels: outChannels, padding: c.downsample_padding)]
            : []
    }

    /// Returns the block output and the states it adds to the skip list.
    /// `check` runs after each resnet and attention (cancellation within a block).
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, check: (() throws -> Void)? = nil) throws -> (Tensor, [Tensor]) {
        var h = x
        var states: [Tensor] = []
        for (j, resnet) in resnets.enumerated() {
            h = resnet(h, temb: temb)
            try check?()
            if !attentions.isEmpty {
                h = attentions[j](h, context: context)
                try check?()
            }
            states.append(h)
        }
        for down in downsamplers {
            h = down(h)
            states.append(h)
        }
        return (h, states)
    }
}

/// diffusers `UNetMidBlock2DCrossAttn`.
public struct UNetMidBlock2DCrossAttn {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]

    init(_ w: WeightScope, plan: UNetPlan, config c: UNet2DConditionConfig, channels: Int) throws {
        let last = plan.blocks - 1
        resnets = try (0..<2).map { j in
            try ResnetBlock2D(w["resnets"][j], inChannels: channels, outChannels: channels, tembChannels: plan.timeEmbedDim,
                              groups: plan.groups, eps: c.norm_eps, act: plan.act, outputScaleFactor: c.mid_block_scale_factor)
        }
        attentions = [try Transformer2DModel(w["attentions"][0], channels: channels, heads: plan.heads[last],
                                             layers: plan.transformerLayers[last], crossAttentionDim: plan.crossAttentionDim[last],
                                             groups: plan.groups, useLinearProjection: c.use_linear_projection)]
    }

    /// `check` runs after each resnet and attention (cancellation within a block).
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, check: (() throws -> Void)? = nil) throws -> Tensor {
        var h = resnets[0](x, temb: temb)
        try check?()
        for (attn, resnet) in zip(attentions, resnets.dropFirst()) {
            h = attn(h, context: context)
            try check?()
            h = resnet(h, temb: temb)
            try check?()
        }
        return h
    }
}

/// diffusers `CrossAttnUpBlock2D` (with attentions) or `UpBlock2D` (without).
public struct UNetUpBlock {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let upsamplers: [Upsample2D]

    init(_ w: WeightScope, plan: UNetPlan, config c: UNet2DConditionConfig, index i: Int, reversedIndex ri: Int,
         inChannels: Int, prevOutputChannels: Int, outChannels: Int, crossAttention: Bool, addUpsample: Bool) throws {
        let layers = plan.layersPerBlock[ri] + 1
        resnets = try (0..<layers).map { j in
            let skip = j == layers - 1 ? inChannels : outChannels
            let resIn = j == 0 ? prevOutputChannels : outChannels
            return try ResnetBlock2D(w["resnets"][j], inChannels: resIn + skip, outChannels: outChannels,
                                     tembChannels: plan.timeEmbedDim, groups: plan.groups, eps: c.norm_eps, act: plan.act)
        }
        attentions = crossAttention ? try (0..<layers).map { j in
            try Transformer2DModel(w["attentions"][j], channels: outChannels, heads: plan.heads[ri],
                                   layers: plan.transformerLayers[ri], crossAttentionDim: plan.crossAttentionDim[ri],
                                   groups: plan.groups, useLinearProjection: c.use_linear_projection)
        } : []
        upsamplers = addUpsample ? [try Upsample2D(w["upsamplers"][0], channels: outChannels)] : []
    }

    /// `skips` are this block's skip states, last one consumed first.
    /// `check` runs after each resnet and attention (cancellation within a block).
    func callAsFunction(_ x: Tensor, skips: [Tensor], temb: Tensor, context: Tensor, upsampleSize: (Int, Int)?,
                        check: (() throws -> Void)? = nil) throws -> Tensor {
        var h = x
        var remaining = skips
        for (j, resnet) in resnets.enumerated() {
            guard let skip = remaining.popLast() else { break }
            h = resnet(Ops.concatChannels([h, skip]), temb: temb)
            try check?()
            if !attentions.isEmpty {
                h = attentions[j](h, context: context)
                try check?()
            }
        }
        for up in upsamplers { h = up(h, outputSize: upsampleSize) }
        return h
    }
}
