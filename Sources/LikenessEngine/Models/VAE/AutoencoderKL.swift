// Matches diffusers AutoencoderKL (Encoder/Decoder of diffusers.models.autoencoders.vae
// with DownEncoderBlock2D/UpDecoderBlock2D, UNetMidBlock2D with one spatial attention,
// norm_type "group"): encode → quant_conv → moments (mean, logvar clamped to [-30, 20]
// as DiagonalGaussianDistribution does); decode(z) → post_quant_conv → decoder.
// `decode` takes latents in the VAE's own space, i.e. what diffusers' `vae.decode` takes:
// the caller divides diffusion latents by `scaling_factor` (and adds `shift_factor`) first,
// or calls `decode(diffusionLatents:)` which does it. Output images are in about [-1, 1],
// unclamped, as diffusers returns them.

import Foundation

/// diffusers `UNetMidBlock2D` as the VAE uses it (no time embedding).
public struct UNetMidBlock2D {
    public let resnets: [ResnetBlock2D]
    public let attentions: [DiffusersAttention]

    init(_ w: WeightScope, channels: Int, groups: Int, addAttention: Bool) throws {
        resnets = try (0..<2).map {
            try ResnetBlock2D(w["resnets"][$0], inChannels: channels, outChannels: channels, tembChannels: nil, groups: groups, eps: 1e-6)
        }
        attentions = addAttention
            ? [try DiffusersAttention(spatial: w["attentions"][0], channels: channels, dimHead: channels, groups: groups, eps: 1e-6)]
            : []
    }

    /// Replaces `h` with the block's output (see ResnetBlock2D.apply).
    func apply(to h: inout Tensor) {
        resnets[0].apply(to: &h)
        if let attn = attentions.first { h = attn.spatial(h) }
        resnets[1].apply(to: &h)
    }
}

/// diffusers `DownEncoderBlock2D`.
public struct DownEncoderBlock2D {
    public let resnets: [ResnetBlock2D]
    public let downsamplers: [Downsample2D]

    init(_ w: WeightScope, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addDownsample: Bool) throws {
        resnets = try (0..<layers).map {
            try ResnetBlock2D(w["resnets"][$0], inChannels: $0 == 0 ? inChannels : outChannels, outChannels: outChannels,
                              tembChannels: nil, groups: groups, eps: 1e-6)
        }
        downsamplers = addDownsample ? [try Downsample2D(w["downsamplers"][0], channels: outChannels, padding: 0)] : []
    }

    /// Replaces `h` with the block's output (see ResnetBlock2D.apply).
    func apply(to h: inout Tensor) {
        for r in resnets { r.apply(to: &h) }
        for d in downsamplers { h = d(h) }
    }
}

/// diffusers `UpDecoderBlock2D`.
public struct UpDecoderBlock2D {
    public let resnets: [ResnetBlock2D]
    public let upsamplers: [Upsample2D]

    init(_ w: WeightScope, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addUpsample: Bool) throws {
        resnets = try (0..<layers).map {
            try ResnetBlock2D(w["resnets"][$0], inChannels: $0 == 0 ? inChannels : outChannels, outChannels: outChannels,
                              tembChannels: nil, groups: groups, eps: 1e-6)
        }
        upsamplers = addUpsample ? [try Upsample2D(w["upsamplers"][0], channels: outChannels)] : []
    }

    /// Replaces `h` with the block's output (see ResnetBlock2D.apply).
    func apply(to h: inout Tensor) {
        for r in resnets { r.apply(to: &h) }
        for u in upsamplers { u.apply(to: &h) }
    }
}

/// diffusers VAE `Encoder` (double_z).
public struct VAEEncoder {
    public let conv_in: Conv2d
    public let down_blocks: [DownEncoderBlock2D]
    public let mid_block: UNetMidBlock2D
    public let conv_norm_out: GroupNorm
    public let conv_out: Conv2d

    init(_ w: WeightScope, config c: AutoencoderKLConfig) throws {
        let ch = c.block_out_channels
        conv_in = try Conv2d(w["conv_in"], inChannels: c.in_channels, outChannels: ch[0], kernelSize: 3, padding: 1)
        var output = ch[0]
        down_blocks = try ch.indices.map { i in
            let input = output
            output = ch[i]
            return try DownEncoderBlock2D(w["down_blocks"][i], inChannels: input, outChannels: output, layers: c.layers_per_block,
                                          groups: c.norm_num_groups, addDownsample: i != ch.count - 1)
        }
        let last = ch[ch.count - 1]
        mid_block = try UNetMidBlock2D(w["mid_block"], channels: last, groups: c.norm_num_groups, addAttention: c.mid_block_add_attention)
        conv_norm_out = try GroupNorm(w["conv_norm_out"], groups: c.norm_num_groups, channels: last, eps: 1e-6)
        conv_out = try Conv2d(w["conv_out"], inChannels: last, outChannels: 2 * c.latent_channels, kernelSize: 3, padding: 1)
    }

    /// [B, in, H, W] → moments [B, 2·latent, H/f, W/f]
    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv_in(x)
        for block in down_blocks { block.apply(to: &h) }
        mid_block.apply(to: &h)
        conv_norm_out.apply(to: &h, silu: true)
        return conv_out(h)
    }
}

/// diffusers VAE `Decoder`.
public struct VAEDecoder {
    public let conv_in: Conv2d
    public let mid_block: UNetMidBlock2D
    public let up_blocks: [UpDecoderBlock2D]
    public let conv_norm_out: GroupNorm
    public let conv_out: Conv2d

    init(_ w: WeightScope, config c: AutoencoderKLConfig) throws {
        let reversed = Array(c.block_out_channels.reversed())
        conv_in = try Conv2d(w["conv_in"], inChannels: c.latent_channels, outChannels: reversed[0], kernelSize: 3, padding: 1)
        mid_block = try UNetMidBlock2D(w["mid_block"], channels: reversed[0], groups: c.norm_num_groups, addAttention: c.mid_block_add_attention)
        var output = reversed[0]
        up_blocks = try reversed.indices.map { i in
            let prev = output
            output = reversed[i]
            return try UpDecoderBlock2D(w["up_blocks"][i], inChannels: prev, outChannels: output, layers: c.layers_per_block + 1,
                                        groups: c.norm_num_groups, addUpsample: i != reversed.count - 1)
        }
        conv_norm_out = try GroupNorm(w["conv_norm_out"], groups: c.norm_num_groups, channels: c.block_out_channels[0], eps: 1e-6)
        conv_out = try Conv2d(w["conv_out"], inChannels: c.block_out_channels[0], outChannels: c.out_channels, kernelSize: 3, padding: 1)
    }

    /// [B, latent, h, w] → [B, out, h·f, w·f]
    /// Each block replaces `h` with its output, so that a block's input is freed while it runs
    /// (at 512x512 the planes are 134-268 MB; see ResnetBlock2D.apply).
    func callAsFunction(_ z: Tensor) -> Tensor {
        var h = conv_in(z)
        mid_block.apply(to: &h)
        for block in up_blocks { block.apply(to: &h) }
        conv_norm_out.apply(to: &h, silu: true)
        return conv_out(h)
    }
}

/// diffusers `AutoencoderKL`.
public struct AutoencoderKL {
    /// The encoder's latent distribution (diffusers DiagonalGaussianDistribution).
    public struct LatentDistribution {
        /// [B, latent, h, w]
        public let mean: Tensor
        /// [B, latent, h, w], clamped to [-30, 20]
        public let logvar: Tensor

        /// mean + exp(0.5·logvar) · noise, for `noise` of the mean's shape (the caller draws it).
        public func sample(noise: Tensor) -> Tensor {
            precondition(noise.shape == mean.shape, "latent noise \(noise.shape) != \(mean.shape)")
            var out = mean
            out.withUnsafeMutableBufferPointer { o in
                logvar.withUnsafeBufferPointer { lv in
                    noise.withUnsafeBufferPointer { n in
                        for i in 0..<o.count { o[i] += Foundation.exp(0.5 * lv[i]) * n[i] }
                    }
                }
            }
            return out
        }
    }

    public let config: AutoencoderKLConfig
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    /// The encoder's linear and convolution weights (with quant_conv's), which a pipeline may give
    /// back between image-to-image jobs (`WeightResidency`); each reads itself again on its next use.
    public let encoderMatrices: [GEMMWeight]
    public let quant_conv: Conv2d?
    public let post_quant_conv: Conv2d?
    /// Precision the convolutions and linear layers run at (the store's, `effective` on this CPU).
    public let precision: ComputePrecision

    /// Loads `folder/config.json` and `folder/diffusion_pytorch_model.safetensors` (F32/F16/BF16),
    /// failing on any missing, unused or wrong-shaped tensor. `precision` is that of the
    /// convolutions and linear layers (ComputePrecision; fp32 is the exact path).
    public init(folder: URL, precision: ComputePrecision = .fp32) throws {
        let component = ComponentFolder(folder)
        let config = try component.config(AutoencoderKLConfig.self)
        let store = try component.weights(["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"])
        store.precision = precision
        try self.init(config: config, weights: store, configFile: component.configDisplayName)
        try store.finish()
    }

    /// Builds the model from `weights` (does not call `finish()`).
    public init(config: AutoencoderKLConfig, weights store: WeightStore, configFile: String = "vae/config.json") throws {
        let c = try config.validated(file: configFile)
        self.config = c
        precision = store.precision.effective
        let w = store.root
        let before = store.matrices.count
        encoder = try VAEEncoder(w["encoder"], config: c)
        let l2 = 2 * c.latent_channels
        quant_conv = c.use_quant_conv ? try Conv2d(w["quant_conv"], inChannels: l2, outChannels: l2, kernelSize: 1) : nil
        encoderMatrices = Array(store.matrices[before...])
        decoder = try VAEDecoder(w["decoder"], config: c)
        post_quant_conv = c.use_post_quant_conv
            ? try Conv2d(w["post_quant_conv"], inChannels: c.latent_channels, outChannels: c.latent_channels, kernelSize: 1)
            : nil
    }

    /// Spatial downscale factor (2^(blocks-1)).
    public var downscaleFactor: Int { 1 << (config.block_out_channels.count - 1) }

    /// Image [B, in_channels, H, W] in [-1, 1] → latent distribution in VAE space (unscaled).
    public func encode(_ image: Tensor) throws -> LatentDistribution {
        let f = downscaleFactor
        guard image.rank == 4, image.shape[1] == config.in_channels, image.shape[2] >= f, image.shape[3] >= f else {
            throw ModelInputError.badShape(what: "VAE image", shape: image.shape,
                                           expected: "[B, \(config.in_channels), H, W] with H, W >= \(f)")
        }
        var moments = encoder(image)
        if let q = quant_conv { moments = q(moments) }
        let (mean, rawLogvar) = Ops.chunkChannels(moments)
        var logvar = rawLogvar
        logvar.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = min(max(p[i], -30), 20) } }
        return LatentDistribution(mean: mean, logvar: logvar)
    }

    /// Latents in VAE space [B, latent_channels, h, w] (diffusers `vae.decode(z)`) → image [B, out, h·f, w·f].
    public func decode(_ z: Tensor) throws -> Tensor {
        guard z.rank == 4, z.shape[1] == config.latent_channels else {
            throw ModelInputError.badShape(what: "VAE latents", shape: z.shape, expected: "[B, \(config.latent_channels), h, w]")
        }
        let h = post_quant_conv.map { $0(z) } ?? z
        return decoder(h)
    }

    /// Diffusion latents (scaled) → image: divides by scaling_factor and adds shift_factor, then decodes.
    public func decode(diffusionLatents latents: Tensor) throws -> Tensor {
        var z = latents
        let scale = 1 / config.scaling_factor, shift = config.shift_factor ?? 0
        z.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = p[i] * scale + shift } }
        return try decode(z)
    }

    /// VAE-space latents → diffusion latents: (z - shift_factor) · scaling_factor.
    public func diffusionLatents(fromVAELatents z: Tensor) -> Tensor {
        var out = z
        let scale = config.scaling_factor, shift = config.shift_factor ?? 0
        out.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = (p[i] - shift) * scale } }
        return out
    }
}
