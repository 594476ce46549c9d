// diffusers UNet2DConditionModel config (diffusers 0.42 key names and defaults). The engine
// supports the SD 1.x/2.x subset: block types CrossAttnDownBlock2D / DownBlock2D /
// UNetMidBlock2DCrossAttn / CrossAttnUpBlock2D / UpBlock2D, positional time embedding (with the
// LCM guidance condition `time_cond_proj_dim`), no class/addition embeddings; `validated` rejects anything else, naming the field.
// As in diffusers, `attention_head_dim` means the number of heads when
// `num_attention_heads` is absent (and a non-null `num_attention_heads` is an error there too).

import Foundation

/// diffusers `UNet2DConditionModel` config.
public struct UNet2DConditionConfig: Codable, Equatable {
    public var sample_size: Int?
    public var in_channels: Int
    public var out_channels: Int
    public var center_input_sample: Bool
    public var flip_sin_to_cos: Bool
    public var freq_shift: Float
    public var down_block_types: [String]
    public var mid_block_type: String?
    public var up_block_types: [String]
    public var only_cross_attention: Bool
    public var block_out_channels: [Int]
    public var layers_per_block: IntOrList
    public var downsample_padding: Int
    public var mid_block_scale_factor: Float
    public var act_fn: String
    public var norm_num_groups: Int?
    public var norm_eps: Float
    public var cross_attention_dim: IntOrList
    public var transformer_layers_per_block: IntOrList
    public var attention_head_dim: IntOrList
    public var num_attention_heads: IntOrList?
    public var dual_cross_attention: Bool
    public var use_linear_projection: Bool
    public var class_embed_type: String?
    public var addition_embed_type: String?
    public var num_class_embeds: Int?
    public var upcast_attention: Bool
    public var resnet_time_scale_shift: String
    public var time_embedding_type: String
    public var time_embedding_dim: Int?
    public var time_embedding_act_fn: String?
    public var timestep_post_act: String?
    public var time_cond_proj_dim: Int?
    public var conv_in_kernel: Int
    public var conv_out_kernel: Int
    public var encoder_hid_dim: Int?
    public var encoder_hid_dim_type: String?
    public var attention_type: String
    public var cross_attention_norm: String?

    enum CodingKeys: String, CodingKey {
        case sample_size, in_channels, out_channels, center_input_sample, flip_sin_to_cos, freq_shift,
             down_block_types, mid_block_type, up_block_types, only_cross_attention, block_out_channels,
             layers_per_block, downsample_padding, mid_block_scale_factor, act_fn, norm_num_groups, norm_eps,
             cross_attention_dim, transformer_layers_per_block, attention_head_dim, num_attention_heads,
             dual_cross_attention, use_linear_projection, class_embed_type, addition_embed_type, num_class_embeds,
             upcast_attention, resnet_time_scale_shift, time_embedding_type, time_embedding_dim,
             time_embedding_act_fn, timestep_post_act, time_cond_proj_dim, conv_in_kernel, conv_out_kernel,
             encoder_hid_dim, encoder_hid_dim_type, attention_type, cross_attention_norm
    }

    /// diffusers defaults (the SD 1.x layout).
    public init() {
        sample_size = nil
        in_channels = 4
        out_channels = 4
        center_input_sample = false
        flip_sin_to_cos = true
        freq_shift = 0
        down_block_types = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
        mid_block_type = "UNetMidBlock2DCrossAttn"
        up_block_types = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
        only_cross_attention = false
        block_out_channels = [320, 640, 1280, 1280]
        layers_per_block = .int(2)
        downsample_padding = 1
        mid_block_scale_factor = 1
        act_fn = "silu"
        norm_num_groups = 32
        norm_eps = 1e-5
        cross_attention_dim = .int(1280)
        transformer_layers_per_block = .int(1)
        attention_head_dim = .int(8)
        num_attention_heads = nil
        dual_cross_attention = false
        use_linear_projection = false
        class_embed_type = nil
        addition_embed_type = nil
        num_class_embeds = nil
        upcast_attention = false
        resnet_time_scale_shift = "default"
        time_embedding_type = "positional"
        time_embedding_dim = nil
        time_embedding_act_fn = nil
        timestep_post_act = nil
        time_cond_proj_dim = nil
        conv_in_kernel = 3
        conv_out_kernel = 3
        encoder_hid_dim = nil
        encoder_hid_dim_type = nil
        attention_type = "default"
        cross_attention_norm = nil
    }

    public init(from decoder: Decoder) throws {
        let d = UNet2DConditionConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sample_size = try c.value(.sample_size, default: d.sample_size)
        in_channels = try c.value(.in_channels, default: d.in_channels)
        out_channels = try c.value(.out_channels, default: d.out_channels)
        center_input_sample = try c.value(.center_input_sample, default: d.center_input_sample)
        flip_sin_to_cos = try c.value(.flip_sin_to_cos, default: d.flip_sin_to_cos)
        freq_shift = try c.value(.freq_shift, default: d.freq_shift)
        down_block_types = try c.value(.down_block_types, default: d.down_block_types)
        // An explicit null mid_block_type means "no mid block" in diffusers; absent means the default.
        if c.contains(.mid_block_type) {
            mid_block_type = try c.decodeIfPresent(String.self, forKey: .mid_block_type)
        } else {
            mid_block_type = d.mid_block_type
        }
        up_block_types = try c.value(.up_block_types, default: d.up_block_types)
        only_cross_attention = try c.value(.only_cross_attention, default: d.only_cross_attention)
        block_out_channels = try c.value(.block_out_channels, default: d.block_out_channels)
        layers_per_block = try c.value(.layers_per_block, default: d.layers_per_block)
        downsample_padding = try c.value(.downsample_padding, default: d.downsample_padding)
        mid_block_scale_factor = try c.value(.mid_block_scale_factor, default: d.mid_block_scale_factor)
        act_fn = try c.value(.act_fn, default: d.act_fn)
        if c.contains(.norm_num_groups) {
            norm_num_groups = try c.decodeIfPresent(Int.self, forKey: .norm_num_groups)
        } else {
            norm_num_groups = d.norm_num_groups
        }
        norm_eps = try c.value(.norm_eps, default: d.norm_eps)
        cross_attention_dim = try c.value(.cross_attention_dim, default: d.cross_attention_dim)
        transformer_layers_per_block = try c.value(.transformer_layers_per_block, default: d.transformer_layers_per_block)
        attention_head_dim = try c.value(.attention_head_dim, default: d.attention_head_dim)
        num_attention_heads = try c.decodeIfPresent(IntOrList.self, forKey: .num_attention_heads)
        dual_cross_attention = try c.value(.dual_cross_attention, default: d.dual_cross_attention)
        use_linear_projection = try c.value(.use_linear_projection, default: d.use_linear_projection)
        class_embed_type = try c.decodeIfPresent(String.self, forKey: .class_embed_type)
        addition_embed_type = try c.decodeIfPresent(String.self, forKey: .addition_embed_type)
        num_class_embeds = try c.decodeIfPresent(Int.self, forKey: .num_class_embeds)
        upcast_attention = try c.value(.upcast_attention, default: d.upcast_attention)
        resnet_time_scale_shift = try c.value(.resnet_time_scale_shift, default: d.resnet_time_scale_shift)
        time_embedding_type = try c.value(.time_embedding_type, default: d.time_embedding_type)
        time_embedding_dim = try c.decodeIfPresent(Int.self, forKey: .time_embedding_dim)
        time_embedding_act_fn = try c.decodeIfPresent(String.self, forKey: .time_embedding_act_fn)
        timestep_post_act = try c.decodeIfPresent(String.self, forKey: .timestep_post_act)
        time_cond_proj_dim = try c.decodeIfPresent(Int.self, forKey: .time_cond_proj_dim)
        conv_in_kernel = try c.value(.conv_in_kernel, default: d.conv_in_kernel)
        conv_out_kernel = try c.value(.conv_out_kernel, default: d.conv_out_kernel)
        encoder_hid_dim = try c.decodeIfPresent(Int.self, forKey: .encoder_hid_dim)
        encoder_hid_dim_type = try c.decodeIfPresent(String.self, forKey: .encoder_hid_dim_type)
        attention_type = try c.value(.attention_type, default: d.attention_type)
        cross_attention_norm = try c.decodeIfPresent(String.self, forKey: .cross_attention_norm)
    }
}

/// Per-block values resolved from a UNet2DConditionConfig exactly as diffusers' __init__ does.
struct UNetPlan {
    let blocks: Int
    let heads: [Int]
    let layersPerBlock: [Int]
    let crossAttentionDim: [Int]
    let transformerLayers: [Int]
    let groups: Int
    let timeEmbedDim: Int
    let act: Activation
    let timeEmbeddingAct: Activation?
    let timestepPostAct: Activation?

    init(_ c: UNet2DConditionConfig, file: String) throws {
        func fail(_ field: String, _ reason: String) -> ConfigError { ConfigError(file: file, field: field, reason: reason) }
        let n = c.down_block_types.count
        blocks = n
        guard n > 0 else { throw fail("down_block_types", "must not be empty") }
        guard c.up_block_types.count == n else { throw fail("up_block_types", "needs \(n) entries like down_block_types") }
        guard c.block_out_channels.count == n else { throw fail("block_out_channels", "needs \(n) entries like down_block_types") }
        for t in c.down_block_types where t != "CrossAttnDownBlock2D" && t != "DownBlock2D" {
            throw fail("down_block_types", "'\(t)' is not supported (CrossAttnDownBlock2D, DownBlock2D)")
        }
        for t in c.up_block_types where t != "CrossAttnUpBlock2D" && t != "UpBlock2D" {
            throw fail("up_block_types", "'\(t)' is not supported (CrossAttnUpBlock2D, UpBlock2D)")
        }
        if let m = c.mid_block_type, m != "UNetMidBlock2DCrossAttn" {
            throw fail("mid_block_type", "'\(m)' is not supported (UNetMidBlock2DCrossAttn or null)")
        }
        // diffusers raises on num_attention_heads too; attention_head_dim is the head count.
        if c.num_attention_heads != nil {
            throw fail("num_attention_heads", "diffusers does not accept num_attention_heads for UNet2DConditionModel; set attention_head_dim (it is the number of heads)")
        }
        guard let heads = c.attention_head_dim.expanded(n) else { throw fail("attention_head_dim", "needs one value or \(n) values") }
        guard let lpb = c.layers_per_block.expanded(n) else { throw fail("layers_per_block", "needs one value or \(n) values") }
        guard let cad = c.cross_attention_dim.expanded(n) else { throw fail("cross_attention_dim", "needs one value or \(n) values") }
        guard let tlb = c.transformer_layers_per_block.expanded(n) else { throw fail("transformer_layers_per_block", "needs one value or \(n) values") }
        self.heads = heads
        layersPerBlock = lpb
        crossAttentionDim = cad
        transformerLayers = tlb
        for (i, ch) in c.block_out_channels.enumerated() {
            guard ch > 0, heads[i] > 0, ch % heads[i] == 0 else {
                throw fail("attention_head_dim", "block \(i): \(ch) channels are not divisible by \(heads[i]) heads")
            }
        }
        guard let g = c.norm_num_groups else { throw fail("norm_num_groups", "null (no output norm) is not supported") }
        groups = g
        for ch in c.block_out_channels where ch % g != 0 {
            throw fail("norm_num_groups", "\(ch) channels are not divisible by \(g) groups")
        }
        guard let act = Activation(name: c.act_fn) else { throw fail("act_fn", "'\(c.act_fn)' is not supported") }
        self.act = act
        if let name = c.time_embedding_act_fn {
            guard let a = Activation(name: name) else { throw fail("time_embedding_act_fn", "'\(name)' is not supported") }
            timeEmbeddingAct = a
        } else { timeEmbeddingAct = nil }
        if let name = c.timestep_post_act {
            guard let a = Activation(name: name) else { throw fail("timestep_post_act", "'\(name)' is not supported") }
            timestepPostAct = a
        } else { timestepPostAct = nil }
        guard c.time_embedding_type == "positional" else { throw fail("time_embedding_type", "only 'positional' is supported") }
        timeEmbedDim = c.time_embedding_dim ?? c.block_out_channels[0] * 4
        guard !c.only_cross_attention else { throw fail("only_cross_attention", "true is not supported") }
        guard !c.dual_cross_attention else { throw fail("dual_cross_attention", "true is not supported") }
        guard c.class_embed_type == nil, c.num_class_embeds == nil else { throw fail("class_embed_type", "class embeddings are not supported") }
        guard c.addition_embed_type == nil else { throw fail("addition_embed_type", "additional embeddings (SDXL) are not supported") }
        guard c.encoder_hid_dim == nil, c.encoder_hid_dim_type == nil else { throw fail("encoder_hid_dim", "encoder projections are not supported") }
        if let d = c.time_cond_proj_dim, d < 1 { throw fail("time_cond_proj_dim", "must be positive or null, got \(d)") }
        guard c.resnet_time_scale_shift == "default" else { throw fail("resnet_time_scale_shift", "only 'default' is supported") }
        guard c.attention_type == "default" else { throw fail("attention_type", "only 'default' is supported") }
        guard c.cross_attention_norm == nil else { throw fail("cross_attention_norm", "only null is supported") }
        for (field, k) in [("conv_in_kernel", c.conv_in_kernel), ("conv_out_kernel", c.conv_out_kernel)] where k < 1 || k % 2 == 0 {
            throw fail(field, "kernel size \(k) must be odd and positive")
        }
    }
}
