// Matches diffusers UNet2DConditionModel.forward for SD 1.x/2.x configs (see
// UNet2DConditionConfig for the supported subset): optional center_input_sample,
// sinusoidal time projection (get_timestep_embedding with flip_sin_to_cos/freq_shift)
// (+ cond_proj of the guidance embedding for LCM UNets) → TimestepEmbedding (linear_1, act, linear_2), conv_in, down blocks collecting skip
// states, mid block, up blocks (with diffusers' explicit upsample size when the sample
// is not a multiple of 2^num_upsamplers), conv_norm_out + act, conv_out.
// Float32 throughout; agreement with PyTorch float32 is at rounding level (~1e-5 relative).

import Foundation

/// diffusers `TimestepEmbedding`: (+ cond_proj(condition)) → linear_1 → act → linear_2 (→ optional post act).
public struct TimestepEmbedding {
    /// LCM-distilled UNets (time_cond_proj_dim): the guidance embedding's projection, no bias.
    public let cond_proj: Linear?
    public let linear_1: Linear
    public let linear_2: Linear
    public let act: Activation
    public let postAct: Activation?

    init(_ w: WeightScope, inChannels: Int, timeEmbedDim: Int, act: Activation, postAct: Activation?,
         condProjDim: Int? = nil) throws {
        cond_proj = try condProjDim.map { try Linear(w["cond_proj"], inFeatures: $0, outFeatures: inChannels, bias: false) }
        linear_1 = try Linear(w["linear_1"], inFeatures: inChannels, outFeatures: timeEmbedDim)
        linear_2 = try Linear(w["linear_2"], inFeatures: timeEmbedDim, outFeatures: timeEmbedDim)
        self.act = act
        self.postAct = postAct
    }

    /// [B, inChannels] (+ condition [B, time_cond_proj_dim]) → [B, timeEmbedDim]
    public func callAsFunction(_ x: Tensor, condition: Tensor? = nil) -> Tensor {
        var input = x
        if let condition, let cond_proj {
            let projected = cond_proj(condition) // [B, inChannels]
            input = Tensor(uncheckedShape: x.shape, storage: zip(x.storage, projected.storage).map { $0 + $1 })
        }
        var h = linear_1(input)
        Ops.activate(&h, act)
        h = linear_2(h)
        if let postAct { Ops.activate(&h, postAct) }
        return h
    }
}

/// diffusers `UNet2DConditionModel`.
public struct UNet2DConditionModel {
    public let config: UNet2DConditionConfig
    public let conv_in: Conv2d
    public let time_embedding: TimestepEmbedding
    public let down_blocks: [UNetDownBlock]
    public let mid_block: UNetMidBlock2DCrossAttn?
    public let up_blocks: [UNetUpBlock]
    public let conv_norm_out: GroupNorm
    public let conv_out: Conv2d
    let plan: UNetPlan
    /// Precision of the linear and convolution GEMMs as they run (bf16 only where the CPU has it).
    public let precision: ComputePrecision

    /// Loads `folder/config.json` and `folder/diffusion_pytorch_model.safetensors` (F32/F16/BF16),
    /// failing on any missing, unused or wrong-shaped tensor. `precision` is that of the linear and
    /// convolution GEMMs (ComputePrecision; fp32 is the exact path).
    public init(folder: URL, precision: ComputePrecision = .fp32) throws {
        let component = ComponentFolder(folder)
        let config = try component.config(UNet2DConditionConfig.self)
        let store = try component.weights(["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"])
        store.precision = precision
        try self.init(config: config, weights: store, configFile: component.configDisplayName)
        try store.finish()
    }

    /// Builds the model from `weights` (does not call `finish()`; the caller checks for unused tensors),
    /// at the store's precision.
    public init(config: UNet2DConditionConfig, weights store: WeightStore, configFile: String = "unet/config.json") throws {
        precision = store.precision.effective
        let plan = try UNetPlan(config, file: configFile)
        self.plan = plan
        self.config = config
        let w = store.root
        let ch = config.block_out_channels
        conv_in = try Conv2d(w["conv_in"], inChannels: config.in_channels, outChannels: ch[0],
                             kernelSize: config.conv_in_kernel, padding: (config.conv_in_kernel - 1) / 2)
        time_embedding = try TimestepEmbedding(w["time_embedding"], inChannels: ch[0], timeEmbedDim: plan.timeEmbedDim,
                                               act: plan.act, postAct: plan.timestepPostAct,
                                               condProjDim: config.time_cond_proj_dim)
        var downs: [UNetDownBlock] = []
        var output = ch[0]
        for (i, type) in config.down_block_types.enumerated() {
            let input = output
            output = ch[i]
            downs.append(try UNetDownBlock(w["down_blocks"][i], plan: plan, config: config, index: i,
                                           inChannels: input, outChannels: output,
                                           crossAttention: type == "CrossAttnDownBlock2D",
                                           addDownsample: i != plan.blocks - 1))
        }
        down_blocks = downs
        mid_block = config.mid_block_type == nil ? nil
            : try UNetMidBlock2DCrossAttn(w["mid_block"], plan: plan, config: config, channels: ch[plan.blocks - 1])
        var ups: [UNetUpBlock] = []
        let reversed = Array(ch.reversed())
        output = reversed[0]
        for (i, type) in config.up_block_types.enumerated() {
            let prev = output
            output = reversed[i]
            let input = reversed[min(i + 1, plan.blocks - 1)]
            ups.append(try UNetUpBlock(w["up_blocks"][i], plan: plan, config: config, index: i,
                                       reversedIndex: plan.blocks - 1 - i, inChannels: input,
                                       prevOutputChannels: prev, outChannels: output,
                                       crossAttention: type == "CrossAttnUpBlock2D",
                                       addUpsample: i != plan.blocks - 1))
        }
        up_blocks = ups
        conv_norm_out = try GroupNorm(w["conv_norm_out"], groups: plan.groups, channels: ch[0], eps: config.norm_eps)
        conv_out = try Conv2d(w["conv_out"], inChannels: ch[0], outChannels: config.out_channels,
                              kernelSize: config.conv_out_kernel, padding: (config.conv_out_kernel - 1) / 2)
    }

    /// One denoiser evaluation.
    /// - Parameters:
    ///   - sample: noisy latents [B, in_channels, H, W]
    ///   - timestep: the diffusion timestep, broadcast over the batch
    ///   - encoderHiddenStates: text conditioning [B, L, cross_attention_dim]
    ///   - timestepCond: LCM-distilled UNets: the guidance embedding [B, time_cond_proj_dim]
    ///     (`Ops.guidanceScaleEmbedding`); nil leaves the time embedding as it is, as in diffusers.
    ///   - checkpoint: called after conv_in and after every resnet and attention of every block;
    ///     throwing from it (e.g. `GenerationCancelled`) stops the pass there, so a cancellation
    ///     lands within a fraction of a step (one layer, not one block).
    /// - Returns: the model output [B, out_channels, H, W] (noise or v prediction per the scheduler).
    public func callAsFunction(sample: Tensor, timestep: Float, encoderHiddenStates: Tensor, timestepCond: Tensor? = nil,
                               checkpoint: (() throws -> Void)? = nil) throws -> Tensor {
        // Padding-0 downsamplers pad one row/column and need 2 pixels per step; padding >= 1 handles any size.
        let minSide = config.downsample_padding == 0 ? 1 << (plan.blocks - 1) : 1
        guard sample.rank == 4, sample.shape[1] == config.in_channels, sample.shape[2] >= minSide, sample.shape[3] >= minSide else {
            throw ModelInputError.badShape(what: "UNet sample", shape: sample.shape,
                                           expected: "[B, \(config.in_channels), H, W] with H, W >= \(minSide)")
        }
        let batch = sample.shape[0]
        let crossDims = Set(plan.crossAttentionDim)
        guard encoderHiddenStates.rank == 3, encoderHiddenStates.shape[0] == batch,
              crossDims.count == 1, crossDims.first == encoderHiddenStates.shape[2] else {
            throw ModelInputError.badShape(what: "UNet encoder_hidden_states", shape: encoderHiddenStates.shape,
                                           expected: "[\(batch), L, \(plan.crossAttentionDim[0])]")
        }
        if let timestepCond {
            guard let dim = config.time_cond_proj_dim else {
                throw ModelInputError.badShape(what: "UNet timestep_cond", shape: timestepCond.shape,
                                               expected: "none (this UNet has no time_cond_proj_dim)")
            }
            guard timestepCond.shape == [batch, dim] else {
                throw ModelInputError.badShape(what: "UNet timestep_cond", shape: timestepCond.shape, expected: "[\(batch), \(dim)]")
            }
        }
        let context = encoderHiddenStates
        var x = sample
        if config.center_input_sample {
            x.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = 2 * p[i] - 1 } }
        }

        // Time embedding.
        let tProj = Ops.timestepEmbedding(timesteps: Array(repeating: timestep, count: batch), dim: config.block_out_channels[0],
                                          flipSinToCos: config.flip_sin_to_cos, downscaleFreqShift: config.freq_shift)
        var temb = time_embedding(tProj, condition: timestepCond) // [B, timeEmbedDim]
        if let act = plan.timeEmbeddingAct { Ops.activate(&temb, act) }

        // diffusers forwards an explicit upsample size when H or W is not a multiple of 2^num_upsamplers.
        let factor = 1 << (plan.blocks - 1)
        let forwardUpsampleSize = x.shape[2] % factor != 0 || x.shape[3] % factor != 0

        var h = conv_in(x)
        try checkpoint?()
        var skips: [Tensor] = [h]
        for block in down_blocks {
            let (out, states) = try block(h, temb: temb, context: context, check: checkpoint)
            h = out
            skips.append(contentsOf: states)
        }
        if let mid = mid_block {
            h = try mid(h, temb: temb, context: context, check: checkpoint)
        }
        for (i, block) in up_blocks.enumerated() {
            let n = block.resnets.count
            let mine = Array(skips.suffix(n))
            skips.removeLast(min(n, skips.count))
            var size: (Int, Int)?
            if i != up_blocks.count - 1, forwardUpsampleSize, let last = skips.last {
                size = (last.shape[2], last.shape[3])
            }
            h = try block(h, skips: mine, temb: temb, context: context, upsampleSize: size, check: checkpoint)
        }
        h = plan.act == .silu ? conv_norm_out(h, silu: true) : Ops.activated(conv_norm_out(h), plan.act)
        return conv_out(h)
    }
}
