// Matches transformers CLIPVisionModel (transformers 4.x and 5.x) for the pooled output:
// patch embedding (conv, kernel = stride = patch_size, no bias) + class embedding + position
// embeddings, pre_layrnorm, bidirectional pre-LN encoder layers, then post_layernorm applied to
// the class token. Limits: square images of exactly `image_size` (no position interpolation);
// no projection head. Weights are read under a caller-given prefix (the object encoder keeps
// them under `vision_model.`).

import Foundation

/// transformers `CLIPVisionConfig` (the fields the vision transformer uses; defaults as in transformers).
public struct CLIPVisionConfig: Codable, Equatable {
    public var hidden_size: Int
    public var intermediate_size: Int
    public var num_hidden_layers: Int
    public var num_attention_heads: Int
    public var num_channels: Int
    public var image_size: Int
    public var patch_size: Int
    public var hidden_act: String
    public var layer_norm_eps: Float

    enum CodingKeys: String, CodingKey {
        case hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_channels, image_size,
             patch_size, hidden_act, layer_norm_eps
    }

    public init() {
        hidden_size = 768
        intermediate_size = 3072
        num_hidden_layers = 12
        num_attention_heads = 12
        num_channels = 3
        image_size = 224
        patch_size = 32
        hidden_act = "quick_gelu"
        layer_norm_eps = 1e-5
    }

    public init(from decoder: Decoder) throws {
        let d = CLIPVisionConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hidden_size = try c.value(.hidden_size, default: d.hidden_size)
        intermediate_size = try c.value(.intermediate_size, default: d.intermediate_size)
        num_hidden_layers = try c.value(.num_hidden_layers, default: d.num_hidden_layers)
        num_attention_heads = try c.value(.num_attention_heads, default: d.num_attention_heads)
        num_channels = try c.value(.num_channels, default: d.num_channels)
        image_size = try c.value(.image_size, default: d.image_size)
        patch_size = try c.value(.patch_size, default: d.patch_size)
        hidden_act = try c.value(.hidden_act, default: d.hidden_act)
        layer_norm_eps = try c.value(.layer_norm_eps, default: d.layer_norm_eps)
    }

    func validated(file: String) throws -> CLIPVisionConfig {
        guard Activation(name: hidden_act) != nil else {
            throw ConfigError(file: file, field: "vision_config.hidden_act", reason: "'\(hidden_act)' is not supported")
        }
        for (name, v) in [("hidden_size", hidden_size), ("intermediate_size", intermediate_size),
                          ("num_hidden_layers", num_hidden_layers), ("num_attention_heads", num_attention_heads),
                          ("num_channels", num_channels), ("image_size", image_size), ("patch_size", patch_size)] where v <= 0 {
            throw ConfigError(file: file, field: "vision_config.\(name)", reason: "must be positive, got \(v)")
        }
        guard hidden_size % num_attention_heads == 0 else {
            throw ConfigError(file: file, field: "vision_config.num_attention_heads",
                              reason: "hidden_size \(hidden_size) is not divisible by \(num_attention_heads) heads")
        }
        guard image_size % patch_size == 0 else {
            throw ConfigError(file: file, field: "vision_config.patch_size",
                              reason: "image_size \(image_size) is not a multiple of patch_size \(patch_size)")
        }
        return self
    }
}

/// transformers `CLIPVisionEmbeddings`.
public struct CLIPVisionEmbeddings {
    public let class_embedding: Tensor      // [D]
    public let patch_embedding: Conv2d      // [D, C, P, P], no bias
    public let position_embedding: Embedding // [(S/P)^2 + 1, D]
}

/// transformers `CLIPVisionModel` (vision transformer without projection): pixels → pooled state.
public struct CLIPVisionModel {
    public let config: CLIPVisionConfig
    public let embeddings: CLIPVisionEmbeddings
    public let pre_layrnorm: LayerNorm
    public let encoder: CLIPEncoder
    public let post_layernorm: LayerNorm

    public init(config: CLIPVisionConfig, weights w: WeightScope, configFile: String) throws {
        let c = try config.validated(file: configFile)
        self.config = c
        guard let act = Activation(name: c.hidden_act) else {
            throw ConfigError(file: configFile, field: "vision_config.hidden_act", reason: "'\(c.hidden_act)' is not supported")
        }
        let d = c.hidden_size
        let positions = (c.image_size / c.patch_size) * (c.image_size / c.patch_size) + 1
        embeddings = CLIPVisionEmbeddings(
            class_embedding: try w["embeddings"].tensor("class_embedding", shape: [d]),
            patch_embedding: try Conv2d(w["embeddings"]["patch_embedding"], inChannels: c.num_channels, outChannels: d,
                                        kernelSize: c.patch_size, stride: c.patch_size, padding: 0, bias: false),
            position_embedding: try Embedding(w["embeddings"]["position_embedding"], count: positions, dim: d))
        // transformers 4 keeps position_ids = arange(positions) as a buffer; it is recomputed here.
        let positionIDs = w["embeddings"].key("position_ids")
        if w.store.shape(of: positionIDs) == [1, positions] {
            w.store.markUsed(positionIDs)
        }
        pre_layrnorm = try LayerNorm(w["pre_layrnorm"], dim: d, eps: c.layer_norm_eps)
        encoder = CLIPEncoder(layers: try (0..<c.num_hidden_layers).map {
            try CLIPEncoderLayer(w["encoder"]["layers"][$0], dim: d, heads: c.num_attention_heads,
                                 intermediate: c.intermediate_size, eps: c.layer_norm_eps, act: act, causal: false)
        })
        post_layernorm = try LayerNorm(w["post_layernorm"], dim: d, eps: c.layer_norm_eps)
    }

    /// pixel_values [B, C, S, S] (already normalised) → pooled output [B, D]
    /// (post_layernorm of the class token, transformers' `pooler_output`).
    public func pooled(pixelValues x: Tensor) throws -> Tensor {
        let c = config
        guard x.rank == 4, x.shape[1] == c.num_channels, x.shape[2] == c.image_size, x.shape[3] == c.image_size else {
            throw ModelInputError.badShape(what: "vision model pixel values", shape: x.shape,
                                           expected: "[B, \(c.num_channels), \(c.image_size), \(c.image_size)]")
        }
        let b = x.shape[0], d = c.hidden_size, g = c.image_size / c.patch_size, n = g * g + 1
        let patches = embeddings.patch_embedding(x) // [B, D, g, g]
        var h = Tensor(zeros: [b, n, d])
        patches.withUnsafeBufferPointer { p in
            embeddings.class_embedding.withUnsafeBufferPointer { cls in
                embeddings.position_embedding.weight.withUnsafeBufferPointer { pos in
                    h.withUnsafeMutableBufferPointer { out in
                        for bi in 0..<b {
                            let base = bi * n * d
                            for k in 0..<d { out[base + k] = cls[k] + pos[k] }
                            for t in 0..<(g * g) {
                                for k in 0..<d {
                                    out[base + (t + 1) * d + k] = p[bi * d * g * g + k * g * g + t] + pos[(t + 1) * d + k]
                                }
                            }
                        }
                    }
                }
            }
        }
        h = pre_layrnorm(h)
        for layer in encoder.layers { h = layer(h) }
        var cls = Tensor(zeros: [b, d])
        h.withUnsafeBufferPointer { hb in
            cls.withUnsafeMutableBufferPointer { out in
                for bi in 0..<b { for k in 0..<d { out[bi * d + k] = hb[bi * n * d + k] } }
            }
        }
        return post_layernorm(cls)
    }
}
