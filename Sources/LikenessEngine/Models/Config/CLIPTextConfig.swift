// transformers CLIPTextConfig (transformers 4.x/5.x key names and defaults). Only the
// fields the text transformer uses are kept; unknown keys are ignored.

import Foundation

/// transformers `CLIPTextConfig`.
public struct CLIPTextConfig: Codable, Equatable {
    public var vocab_size: Int
    public var hidden_size: Int
    public var intermediate_size: Int
    public var projection_dim: Int
    public var num_hidden_layers: Int
    public var num_attention_heads: Int
    public var max_position_embeddings: Int
    public var hidden_act: String
    public var layer_norm_eps: Float
    public var pad_token_id: Int?
    public var bos_token_id: Int?
    public var eos_token_id: Int?

    enum CodingKeys: String, CodingKey {
        case vocab_size, hidden_size, intermediate_size, projection_dim, num_hidden_layers, num_attention_heads,
             max_position_embeddings, hidden_act, layer_norm_eps, pad_token_id, bos_token_id, eos_token_id
    }

    /// transformers defaults.
    public init() {
        vocab_size = 49408
        hidden_size = 512
        intermediate_size = 2048
        projection_dim = 512
        num_hidden_layers = 12
        num_attention_heads = 8
        max_position_embeddings = 77
        hidden_act = "quick_gelu"
        layer_norm_eps = 1e-5
        pad_token_id = 1
        bos_token_id = 49406
        eos_token_id = 49407
    }

    public init(from decoder: Decoder) throws {
        let d = CLIPTextConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocab_size = try c.value(.vocab_size, default: d.vocab_size)
        hidden_size = try c.value(.hidden_size, default: d.hidden_size)
        intermediate_size = try c.value(.intermediate_size, default: d.intermediate_size)
        projection_dim = try c.value(.projection_dim, default: d.projection_dim)
        num_hidden_layers = try c.value(.num_hidden_layers, default: d.num_hidden_layers)
        num_attention_heads = try c.value(.num_attention_heads, default: d.num_attention_heads)
        max_position_embeddings = try c.value(.max_position_embeddings, default: d.max_position_embeddings)
        hidden_act = try c.value(.hidden_act, default: d.hidden_act)
        layer_norm_eps = try c.value(.layer_norm_eps, default: d.layer_norm_eps)
        pad_token_id = try c.value(.pad_token_id, default: d.pad_token_id)
        bos_token_id = try c.value(.bos_token_id, default: d.bos_token_id)
        eos_token_id = try c.value(.eos_token_id, default: d.eos_token_id)
    }

    /// Checks the values the model needs, naming the field.
    func validated(file: String) throws -> CLIPTextConfig {
        guard Activation(name: hidden_act) != nil else {
            throw ConfigError(file: file, field: "hidden_act", reason: "'\(hidden_act)' is not supported (use gelu, quick_gelu or gelu_pytorch_tanh)")
        }
        for (name, v) in [("vocab_size", vocab_size), ("hidden_size", hidden_size), ("intermediate_size", intermediate_size),
                          ("num_hidden_layers", num_hidden_layers), ("num_attention_heads", num_attention_heads),
                          ("max_position_embeddings", max_position_embeddings)] where v <= 0 {
            throw ConfigError(file: file, field: name, reason: "must be positive, got \(v)")
        }
        guard hidden_size % num_attention_heads == 0 else {
            throw ConfigError(file: file, field: "num_attention_heads", reason: "hidden_size \(hidden_size) is not divisible by \(num_attention_heads) heads")
        }
        return self
    }
}
