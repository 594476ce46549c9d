// Matches transformers CLIPTextModel (transformers 4.x and 5.x, eager/sdpa attention are
// numerically the same) for the last hidden state: token + position embeddings, pre-LN
// encoder layers with causal self-attention (no padding mask, as SD pipelines call it),
// final_layer_norm. `clipSkip` follows diffusers' clip_skip: the output of layer
// N - clipSkip, then final_layer_norm. No pooled output or projection.
// Weights load from both layouts: "text_model."-prefixed (transformers 4, SD 1.5 releases,
// which may also hold an int64 `embeddings.position_ids` buffer, ignored here) and
// unprefixed (transformers 5 save_pretrained).

import Foundation

/// transformers `CLIPAttention` (q/k/v/out projections with bias).
public struct CLIPAttention {
    public let q_proj: Linear
    public let k_proj: Linear
    public let v_proj: Linear
    public let out_proj: Linear
    public let heads: Int
    /// Causal for the text transformer, bidirectional for the vision transformer.
    public let causal: Bool

    init(_ w: WeightScope, dim: Int, heads: Int, causal: Bool = true) throws {
        q_proj = try Linear(w["q_proj"], inFeatures: dim, outFeatures: dim)
        k_proj = try Linear(w["k_proj"], inFeatures: dim, outFeatures: dim)
        v_proj = try Linear(w["v_proj"], inFeatures: dim, outFeatures: dim)
        out_proj = try Linear(w["out_proj"], inFeatures: dim, outFeatures: dim)
        self.heads = heads
        self.causal = causal
    }

    /// [B, L, D] → [B, L, D]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let o = Ops.scaledDotProductAttention(query: q_proj(x), key: k_proj(x), value: v_proj(x), heads: heads, causal: causal)
        return out_proj(o)
    }
}

/// transformers `CLIPMLP`: fc1 → act → fc2.
public struct CLIPMLP {
    public let fc1: Linear
    public let fc2: Linear
    public let act: Activation

    init(_ w: WeightScope, dim: Int, intermediate: Int, act: Activation) throws {
        fc1 = try Linear(w["fc1"], inFeatures: dim, outFeatures: intermediate)
        fc2 = try Linear(w["fc2"], inFeatures: intermediate, outFeatures: dim)
        self.act = act
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = fc1(x)
        Ops.activate(&h, act)
        return fc2(h)
    }
}

/// transformers `CLIPEncoderLayer` (pre-LN).
public struct CLIPEncoderLayer {
    public let self_attn: CLIPAttention
    public let layer_norm1: LayerNorm
    public let mlp: CLIPMLP
    public let layer_norm2: LayerNorm

    init(_ w: WeightScope, config c: CLIPTextConfig, act: Activation) throws {
        try self.init(w, dim: c.hidden_size, heads: c.num_attention_heads, intermediate: c.intermediate_size,
                      eps: c.layer_norm_eps, act: act, causal: true)
    }

    init(_ w: WeightScope, dim: Int, heads: Int, intermediate: Int, eps: Float, act: Activation, causal: Bool) throws {
        self_attn = try CLIPAttention(w["self_attn"], dim: dim, heads: heads, causal: causal)
        layer_norm1 = try LayerNorm(w["layer_norm1"], dim: dim, eps: eps)
        mlp = try CLIPMLP(w["mlp"], dim: dim, intermediate: intermediate, act: act)
        layer_norm2 = try LayerNorm(w["layer_norm2"], dim: dim, eps: eps)
    }

    /// [B, L, D] → [B, L, D]
    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        Ops.addInPlace(&h, self_attn(layer_norm1(h)))
        Ops.addInPlace(&h, mlp(layer_norm2(h)))
        return h
    }
}

/// transformers `CLIPTextEmbeddings`.
public struct CLIPTextEmbeddings {
    public let token_embedding: Embedding
    public let position_embedding: Embedding
}

/// transformers `CLIPEncoder`.
public struct CLIPEncoder {
    public let layers: [CLIPEncoderLayer]
}

/// transformers `CLIPTextModel` (text transformer without projection).
public struct CLIPTextModel {
    /// Where the checkpoint keeps the weights.
    public enum WeightLayout: String {
        /// `text_model.embeddings…` (transformers 4, SD 1.x/2.x releases).
        case prefixed = "text_model."
        /// `embeddings…` (transformers 5).
        case unprefixed = ""
    }

    public let config: CLIPTextConfig
    public let layout: WeightLayout
    public let embeddings: CLIPTextEmbeddings
    public let encoder: CLIPEncoder
    public let final_layer_norm: LayerNorm
    /// Precision the linear layers run at (the store's, `effective` on this CPU).
    public let precision: ComputePrecision

    /// Loads `folder/config.json` and `folder/model.safetensors` (F32/F16/BF16), failing on
    /// any missing, unused or wrong-shaped tensor. `precision` is that of the linear layers
    /// (ComputePrecision; fp32 is the exact path).
    public init(folder: URL, precision: ComputePrecision = .fp32) throws {
        let component = ComponentFolder(folder)
        let config = try component.config(CLIPTextConfig.self)
        let store = try component.weights(["model.safetensors", "model.fp16.safetensors"])
        store.precision = precision
        try self.init(config: config, weights: store, configFile: component.configDisplayName)
        try store.finish()
    }

    /// Builds the model from `weights`, detecting the key layout (does not call `finish()`).
    public init(config: CLIPTextConfig, weights store: WeightStore, configFile: String = "text_encoder/config.json") throws {
        let c = try config.validated(file: configFile)
        self.config = c
        precision = store.precision.effective
        let prefixed = store.contains("text_model.embeddings.token_embedding.weight")
        layout = prefixed ? .prefixed : .unprefixed
        let w = prefixed ? store.root["text_model"] : store.root
        guard let act = Activation(name: c.hidden_act) else {
            throw ConfigError(file: configFile, field: "hidden_act", reason: "'\(c.hidden_act)' is not supported")
        }
        embeddings = CLIPTextEmbeddings(
            token_embedding: try Embedding(w["embeddings"]["token_embedding"], count: c.vocab_size, dim: c.hidden_size, mapped: true),
            position_embedding: try Embedding(w["embeddings"]["position_embedding"], count: c.max_position_embeddings, dim: c.hidden_size))
        // transformers 4 saved position_ids = arange(max_positions) as a persistent buffer; it is recomputed here.
        let positionIDs = w["embeddings"].key("position_ids")
        if store.shape(of: positionIDs) == [1, c.max_position_embeddings] {
            store.markUsed(positionIDs)
        }
        encoder = CLIPEncoder(layers: try (0..<c.num_hidden_layers).map {
            try CLIPEncoderLayer(w["encoder"]["layers"][$0], config: c, act: act)
        })
        final_layer_norm = try LayerNorm(w["final_layer_norm"], dim: c.hidden_size, eps: c.layer_norm_eps)
    }

    /// Token embeddings alone: ids [B][L] → [B, L, hidden_size] (no position embeddings).
    public func tokenEmbeddings(ids: [[Int]]) throws -> Tensor {
        try embeddings.token_embedding(ids)
    }

    /// Runs the transformer over input embeddings (position embeddings are added here).
    /// - Parameters:
    ///   - inputEmbeddings: [B, L, hidden_size], L <= max_position_embeddings
    ///   - clipSkip: 0 for the last layer; k uses the output of layer N - k (diffusers' clip_skip)
    /// - Returns: hidden states after final_layer_norm, [B, L, hidden_size]
    public func callAsFunction(inputEmbeddings: Tensor, clipSkip: Int = 0) throws -> Tensor {
        let c = config
        guard inputEmbeddings.rank == 3, inputEmbeddings.shape[2] == c.hidden_size else {
            throw ModelInputError.badShape(what: "text encoder input embeddings", shape: inputEmbeddings.shape,
                                           expected: "[B, L, \(c.hidden_size)]")
        }
        let batch = inputEmbeddings.shape[0], length = inputEmbeddings.shape[1]
        guard length <= c.max_position_embeddings else {
            throw ModelInputError.sequenceTooLong(length: length, limit: c.max_position_embeddings)
        }
        guard clipSkip >= 0, clipSkip < c.num_hidden_layers else {
            throw ModelInputError.badShape(what: "clip_skip", shape: [clipSkip], expected: "0..<\(c.num_hidden_layers)")
        }
        var h = inputEmbeddings // [B, L, D]
        let d = c.hidden_size
        embeddings.position_embedding.weight.withUnsafeBufferPointer { pos in
            h.withUnsafeMutableBufferPointer { hb in
                for b in 0..<batch {
                    for i in 0..<(length * d) { hb[b * length * d + i] += pos[i] }
                }
            }
        }
        for layer in encoder.layers.prefix(c.num_hidden_layers - clipSkip) { h = layer(h) }
        return final_layer_norm(h)
    }

    /// ids [B][L] → last hidden state [B, L, hidden_size] (after final_layer_norm).
    public func callAsFunction(ids: [[Int]], clipSkip: Int = 0) throws -> Tensor {
        try self(inputEmbeddings: tokenEmbeddings(ids: ids), clipSkip: clipSkip)
    }
}
