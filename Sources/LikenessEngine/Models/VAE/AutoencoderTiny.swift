// Matches diffusers AutoencoderTiny's decoder (DecoderTiny of diffusers.models.autoencoders.vae,
// AutoencoderTinyBlock of unets.unet_2d_blocks), the TAESD architecture:
//   x = tanh(x / 3) * 3                                  (the decoder's clamp)
//   layers: conv3x3(latent → C) + relu,
//           per stage: num_decoder_blocks[i] x block, then (not last) nearest 2x upsample and a
//           bias-free conv3x3(C → C); the last stage ends in conv3x3(C → out_channels) with bias;
//   block(x) = relu(conv3x3 · relu · conv3x3 · relu · conv3x3 (x) + x)
//   image = 2 · layers(x) - 1                            ([0, 1] → diffusers' [-1, 1], unclamped)
// `decode(diffusionLatents:)` is what diffusers' Stable Diffusion pipelines do with
// `vae = AutoencoderTiny`: `vae.decode(latents / scaling_factor)` (1.0 in the released taesd
// folders: TAESD takes diffusion latents as they are); shift_factor (0 there) is added as for
// AutoencoderKL. latent_magnitude / latent_shift only scale the encoder's uint8 round trip and
// are not part of decoding. The encoder (EncoderTiny) is not implemented: its tensors in a
// diffusers file are accepted by name and not read.

import Foundation

/// diffusers `AutoencoderTinyBlock` with equal in/out channels (skip is the identity).
public struct AutoencoderTinyBlock {
    /// `conv.0`, `conv.2`, `conv.4` (`conv.1`, `conv.3` are the activations).
    public let conv_0: Conv2d
    public let conv_2: Conv2d
    public let conv_4: Conv2d

    init(_ w: WeightScope, channels: Int) throws {
        let c = w["conv"]
        conv_0 = try Conv2d(c[0], inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1)
        conv_2 = try Conv2d(c[2], inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1)
        conv_4 = try Conv2d(c[4], inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1)
    }

    /// [B, C, H, W] → [B, C, H, W]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv_2(conv_0(x, relu: true), relu: true)
        return conv_4(h, adding: x, relu: true) // relu(conv(x) + skip(x))
    }
}

/// diffusers `DecoderTiny`: `layers` is its nn.Sequential, indexed as in the checkpoint.
public struct DecoderTiny {
    public enum Layer {
        case conv(Conv2d)
        case relu
        case block(AutoencoderTinyBlock)
        case upsample
    }

    public let layers: [Layer]

    init(_ w: WeightScope, config c: AutoencoderTinyConfig) throws {
        let l = w["layers"]
        let width = c.decoder_block_out_channels[0]
        var layers: [Layer] = [
            .conv(try Conv2d(l[0], inChannels: c.latent_channels, outChannels: width, kernelSize: 3, padding: 1)),
            .relu,
        ]
        for (i, count) in c.num_decoder_blocks.enumerated() {
            let last = i == c.num_decoder_blocks.count - 1
            for _ in 0..<count { layers.append(.block(try AutoencoderTinyBlock(l[layers.count], channels: width))) }
            if !last { layers.append(.upsample) }
            layers.append(.conv(try Conv2d(l[layers.count], inChannels: width, outChannels: last ? c.out_channels : width,
                                           kernelSize: 3, padding: 1, bias: last)))
        }
        self.layers = layers
    }

    /// Latents in the decoder's space [B, latent, h, w] → image [B, out, h·f, w·f] in about [-1, 1].
    func callAsFunction(_ z: Tensor) -> Tensor {
        var x = z
        x.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = Foundation.tanh(p[i] / 3) * 3 } }
        var upsampled = false // an upsample waits for the convolution after it, which reads it from x
        for (i, layer) in layers.enumerated() {
            switch layer {
            case let .conv(conv):
                // A convolution followed by a ReLU clamps in its own output pass (the ReLU is then skipped).
                var relu = false
                if i + 1 < layers.count, case .relu = layers[i + 1] { relu = true }
                x = upsampled ? conv(upsampling: x, relu: relu) : conv(x, relu: relu)
                upsampled = false
            case .relu:
                if i > 0, case .conv = layers[i - 1] { continue }
                AutoencoderTiny.relu(&x)
            case let .block(block): x = block(x)
            case .upsample:
                if i + 1 < layers.count, case .conv = layers[i + 1] { upsampled = true } else { x = Ops.upsampleNearest2x(x) }
            }
        }
        x.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = p[i] * 2 - 1 } }
        return x
    }
}

/// diffusers `AutoencoderTiny`, decoder only (TAESD as a preview or final decoder).
public struct AutoencoderTiny {
    public let config: AutoencoderTinyConfig
    public let decoder: DecoderTiny

    /// Loads `folder/config.json` and `folder/diffusion_pytorch_model.safetensors` (F32/F16/BF16),
    /// failing on any missing, unused or wrong-shaped decoder tensor; `encoder.*` is not read.
    public init(folder: URL) throws {
        let component = ComponentFolder(folder)
        let config = try component.config(AutoencoderTinyConfig.self)
        let store = try component.weights(["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"])
        try self.init(config: config, weights: store, configFile: component.configDisplayName)
        try store.finish()
    }

    /// Builds the decoder from `weights` (decoder.layers.*); marks `encoder.*` as read; does not call `finish()`.
    public init(config: AutoencoderTinyConfig, weights store: WeightStore, configFile: String = "config.json") throws {
        let c = try config.validated(file: configFile)
        self.config = c
        decoder = try DecoderTiny(store.root["decoder"], config: c)
        for key in store.source.names where key.hasPrefix("encoder.") { store.markUsed(key) }
    }

    /// Pixels per latent cell (2^(stages - 1)).
    public var downscaleFactor: Int { 1 << (config.decoder_block_out_channels.count - 1) }

    /// Latents in the decoder's space (diffusers `vae.decode(z)`) → image [B, out, h·f, w·f].
    public func decode(_ z: Tensor) throws -> Tensor {
        guard z.rank == 4, z.shape[1] == config.latent_channels else {
            throw ModelInputError.badShape(what: "tiny decoder latents", shape: z.shape,
                                           expected: "[B, \(config.latent_channels), h, w]")
        }
        return decoder(z)
    }

    /// Diffusion latents → image: divides by scaling_factor and adds shift_factor, then decodes.
    public func decode(diffusionLatents latents: Tensor) throws -> Tensor {
        var z = latents
        let scale = 1 / config.scaling_factor, shift = config.shift_factor
        z.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = p[i] * scale + shift } }
        return try decode(z)
    }

    static func relu(_ x: inout Tensor) {
        x.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = max(p[i], 0) } }
    }
}
