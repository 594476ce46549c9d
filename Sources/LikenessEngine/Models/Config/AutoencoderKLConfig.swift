// diffusers AutoencoderKL config (diffusers 0.42 key names and defaults). Supported:
// DownEncoderBlock2D / UpDecoderBlock2D blocks, silu, optional quant/post-quant convs,
// optional mid-block attention, scaling_factor and shift_factor.

import Foundation

/// diffusers `AutoencoderKL` config.
public struct AutoencoderKLConfig: Codable, Equatable {
    public var in_channels: Int
    public var out_channels: Int
    public var down_block_types: [String]
    public var up_block_types: [String]
    public var block_out_channels: [Int]
    public var layers_per_block: Int
    public var act_fn: String
    public var latent_channels: Int
    public var norm_num_groups: Int
    public var sample_size: Int?
    public var scaling_factor: Float
    public var shift_factor: Float?
    public var use_quant_conv: Bool
    public var use_post_quant_conv: Bool
    public var mid_block_add_attention: Bool

    enum CodingKeys: String, CodingKey {
        case in_channels, out_channels, down_block_types, up_block_types, block_out_channels, layers_per_block,
             act_fn, latent_channels, norm_num_groups, sample_size, scaling_factor, shift_factor, use_quant_conv,
             use_post_quant_conv, mid_block_add_attention
    }

    /// diffusers defaults.
    public init() {
        in_channels = 3
        out_channels = 3
        down_block_types = ["DownEncoderBlock2D"]
        up_block_types = ["UpDecoderBlock2D"]
        block_out_channels = [64]
        layers_per_block = 1
        act_fn = "silu"
        latent_channels = 4
        norm_num_groups = 32
        sample_size = 32
        scaling_factor = 0.18215
        shift_factor = nil
        use_quant_conv = true
        use_post_quant_conv = true
        mid_block_add_attention = true
    }

    public init(from decoder: Decoder) throws {
        let d = AutoencoderKLConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        in_channels = try c.value(.in_channels, default: d.in_channels)
        out_channels = try c.value(.out_channels, default: d.out_channels)
        down_block_types = try c.value(.down_block_types, default: d.down_block_types)
        up_block_types = try c.value(.up_block_types, default: d.up_block_types)
        block_out_channels = try c.value(.block_out_channels, default: d.block_out_channels)
        layers_per_block = try c.value(.layers_per_block, default: d.layers_per_block)
        act_fn = try c.value(.act_fn, default: d.act_fn)
        latent_channels = try c.value(.latent_channels, default: d.latent_channels)
        norm_num_groups = try c.value(.norm_num_groups, default: d.norm_num_groups)
        sample_size = try c.value(.sample_size, default: d.sample_size)
        scaling_factor = try c.value(.scaling_factor, default: d.scaling_factor)
        shift_factor = try c.decodeIfPresent(Float.self, forKey: .shift_factor)
        use_quant_conv = try c.value(.use_quant_conv, default: d.use_quant_conv)
        use_post_quant_conv = try c.value(.use_post_quant_conv, default: d.use_post_quant_conv)
        mid_block_add_attention = try c.value(.mid_block_add_attention, default: d.mid_block_add_attention)
    }

    func validated(file: String) throws -> AutoencoderKLConfig {
        func fail(_ field: String, _ reason: String) -> ConfigError { ConfigError(file: file, field: field, reason: reason) }
        let n = block_out_channels.count
        guard n > 0 else { throw fail("block_out_channels", "must not be empty") }
        guard down_block_types.count == n else { throw fail("down_block_types", "needs \(n) entries like block_out_channels") }
        guard up_block_types.count == n else { throw fail("up_block_types", "needs \(n) entries like block_out_channels") }
        for t in down_block_types where t != "DownEncoderBlock2D" {
            throw fail("down_block_types", "'\(t)' is not supported (DownEncoderBlock2D)")
        }
        for t in up_block_types where t != "UpDecoderBlock2D" {
            throw fail("up_block_types", "'\(t)' is not supported (UpDecoderBlock2D)")
        }
        guard act_fn == "silu" || act_fn == "swish" else { throw fail("act_fn", "'\(act_fn)' is not supported (silu)") }
        guard layers_per_block > 0 else { throw fail("layers_per_block", "must be positive") }
        guard norm_num_groups > 0 else { throw fail("norm_num_groups", "must be positive") }
        for ch in block_out_channels where ch <= 0 || ch % norm_num_groups != 0 {
            throw fail("norm_num_groups", "\(ch) channels are not divisible by \(norm_num_groups) groups")
        }
        return self
    }
}

extension AutoencoderKLConfig {
    /// The config of an SD VAE file without a config.json, from its tensor shapes (`shape` of a
    /// diffusers-named tensor, or of its original-layout equivalent: conv_in, conv_out, the
    /// quant convs keep their names in both layouts). SD's fixed values: 32 groups, scaling
    /// factor 0.18215, sample size 512.
    init(inferredFrom shape: (String) -> [Int]?, channels: [Int], layersPerBlock: Int, midAttention: Bool,
         missing: () -> Error) throws {
        guard let convIn = shape("encoder.conv_in.weight"), let convOut = shape("decoder.conv_out.weight"),
              let decIn = shape("decoder.conv_in.weight") else { throw missing() }
        self.init()
        block_out_channels = channels
        down_block_types = channels.map { _ in "DownEncoderBlock2D" }
        up_block_types = channels.map { _ in "UpDecoderBlock2D" }
        layers_per_block = layersPerBlock
        in_channels = convIn[1]
        out_channels = convOut[0]
        latent_channels = decIn[1]
        norm_num_groups = 32
        scaling_factor = 0.18215
        use_quant_conv = shape("quant_conv.weight") != nil
        use_post_quant_conv = shape("post_quant_conv.weight") != nil
        mid_block_add_attention = midAttention
        sample_size = 512
    }
}
