// diffusers AutoencoderTiny config (diffusers 0.42 key names and defaults). Supported: relu,
// nearest 2x upsampling, equal channels in every decoder stage (as diffusers' DecoderTiny
// itself requires: each stage's blocks and conv keep the stage's width). The encoder's keys are
// read but not used (Likeness only decodes); latent_magnitude / latent_shift belong to the
// encoder's uint8 round trip and are not used by decoding either.

import Foundation

/// diffusers `AutoencoderTiny` config.
public struct AutoencoderTinyConfig: Codable, Equatable, Sendable {
    public var in_channels: Int
    public var out_channels: Int
    public var decoder_block_out_channels: [Int]
    public var num_decoder_blocks: [Int]
    public var act_fn: String
    public var upsample_fn: String
    public var latent_channels: Int
    public var upsampling_scaling_factor: Int
    public var scaling_factor: Float
    public var shift_factor: Float

    enum CodingKeys: String, CodingKey {
        case in_channels, out_channels, decoder_block_out_channels, num_decoder_blocks, act_fn, upsample_fn,
             latent_channels, upsampling_scaling_factor, scaling_factor, shift_factor
    }

    /// diffusers defaults (the released taesd / taesdxl folders use them).
    public init() {
        in_channels = 3
        out_channels = 3
        decoder_block_out_channels = [64, 64, 64, 64]
        num_decoder_blocks = [3, 3, 3, 1]
        act_fn = "relu"
        upsample_fn = "nearest"
        latent_channels = 4
        upsampling_scaling_factor = 2
        scaling_factor = 1.0
        shift_factor = 0.0
    }

    public init(from decoder: Decoder) throws {
        let d = AutoencoderTinyConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        in_channels = try c.value(.in_channels, default: d.in_channels)
        out_channels = try c.value(.out_channels, default: d.out_channels)
        decoder_block_out_channels = try c.value(.decoder_block_out_channels, default: d.decoder_block_out_channels)
        num_decoder_blocks = try c.value(.num_decoder_blocks, default: d.num_decoder_blocks)
        act_fn = try c.value(.act_fn, default: d.act_fn)
        upsample_fn = try c.value(.upsample_fn, default: d.upsample_fn)
        latent_channels = try c.value(.latent_channels, default: d.latent_channels)
        upsampling_scaling_factor = try c.value(.upsampling_scaling_factor, default: d.upsampling_scaling_factor)
        scaling_factor = try c.value(.scaling_factor, default: d.scaling_factor)
        shift_factor = try c.value(.shift_factor, default: d.shift_factor)
    }

    func validated(file: String) throws -> AutoencoderTinyConfig {
        func fail(_ field: String, _ reason: String) -> ConfigError { ConfigError(file: file, field: field, reason: reason) }
        let n = decoder_block_out_channels.count
        guard n > 0 else { throw fail("decoder_block_out_channels", "must not be empty") }
        guard num_decoder_blocks.count == n else {
            throw fail("num_decoder_blocks", "needs \(n) entries like decoder_block_out_channels")
        }
        guard num_decoder_blocks.allSatisfy({ $0 >= 0 }) else { throw fail("num_decoder_blocks", "must not be negative") }
        guard let width = decoder_block_out_channels.first, width > 0,
              decoder_block_out_channels.allSatisfy({ $0 == width }) else {
            throw fail("decoder_block_out_channels", "needs one positive width for every stage (diffusers' DecoderTiny cannot change width), got \(decoder_block_out_channels)")
        }
        guard act_fn == "relu" else { throw fail("act_fn", "'\(act_fn)' is not supported (relu)") }
        guard upsample_fn == "nearest" else { throw fail("upsample_fn", "'\(upsample_fn)' is not supported (nearest)") }
        guard upsampling_scaling_factor == 2 else {
            throw fail("upsampling_scaling_factor", "\(upsampling_scaling_factor) is not supported (2)")
        }
        guard latent_channels > 0, out_channels > 0 else { throw fail("latent_channels", "channels must be positive") }
        guard scaling_factor.isFinite, scaling_factor != 0 else { throw fail("scaling_factor", "must be a finite non-zero number") }
        return self
    }
}
