// Matches Training/likeness_train/models.py ObjectEncoder (docs/FORMAT.md, object_encoder/):
// pixels in [0, 1] → normalise with image_mean/std → CLIP vision transformer pooled output [Dv]
// → projection.linear → [K, D] → projection.norm (LayerNorm over D) = K object tokens.
// Limits: the caller resizes the reference to `image_size` (the kit uses antialiased bilinear
// resizing; Toybox references are already 64x64, so no resize happens there).

import Foundation

/// object_encoder/config.json.
public struct ObjectEncoderConfig: Codable, Equatable {
    public var vision_config: CLIPVisionConfig
    public var text_hidden_size: Int
    public var num_tokens: Int
    public var injection: String
    public var placeholder_token: String
    public var null_word: String
    public var image_size: Int
    public var image_mean: [Float]
    public var image_std: [Float]
    /// Object tokens the encoder stage aligned to the words of one attribute (docs/FORMAT.md, word
    /// slots); empty for most encoders. PromptEncoder.wordSlotEdits reads the prompt against them.
    public var word_slots: [WordSlot]

    enum CodingKeys: String, CodingKey {
        case vision_config, text_hidden_size, num_tokens, injection, placeholder_token, null_word, image_size,
             image_mean, image_std, word_slots
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vision_config = try c.decode(CLIPVisionConfig.self, forKey: .vision_config)
        text_hidden_size = try c.decode(Int.self, forKey: .text_hidden_size)
        num_tokens = try c.value(.num_tokens, default: 4)
        injection = try c.value(.injection, default: "input_embedding")
        placeholder_token = try c.value(.placeholder_token, default: "<obj>")
        null_word = try c.value(.null_word, default: "object")
        image_size = try c.value(.image_size, default: vision_config.image_size)
        image_mean = try c.value(.image_mean, default: [0.5, 0.5, 0.5])
        image_std = try c.value(.image_std, default: [0.5, 0.5, 0.5])
        word_slots = try c.value(.word_slots, default: [])
    }
}

/// One entry of object_encoder/config.json's word_slots (models.py ObjectEncoderConfig.word_slots):
/// object token `slot` stands for the reference's `attribute` ("color"); a prompt word of `words`
/// right before the placeholder puts the input embedding of `words[word]` in that slot.
public struct WordSlot: Codable, Equatable, Sendable {
    public var slot: Int
    public var attribute: String
    public var words: [String: String]

    public init(slot: Int, attribute: String, words: [String: String]) {
        self.slot = slot
        self.attribute = attribute
        self.words = words
    }
}

/// How the object tokens enter the text encoder (docs/FORMAT.md).
public enum Injection: String, Sendable {
    /// The slots' input embeddings are the object tokens.
    case inputEmbedding = "input_embedding"
    /// The slots' inputs are `slot_embedding`; their output states are replaced by the object tokens.
    case hiddenState = "hidden_state"
}

/// Linear to K*D, reshape to [K, D], LayerNorm over D.
public struct ObjectProjection {
    public let linear: Linear
    public let norm: LayerNorm
    public let tokens: Int
    public let dim: Int
}

public struct ObjectEncoder {
    public let config: ObjectEncoderConfig
    public let injection: Injection
    public let vision_model: CLIPVisionModel
    public let projection: ObjectProjection
    /// [K, D], only for hidden_state injection.
    public let slot_embedding: Tensor?

    /// Loads object_encoder/config.json and model.safetensors with strict key checking.
    public init(folder: URL) throws {
        let configFile = "object_encoder/config.json"
        let config = try ConfigLoader.load(ObjectEncoderConfig.self, from: folder.appendingPathComponent("config.json"),
                                           displayName: configFile)
        let store = try WeightStore(url: folder.appendingPathComponent("model.safetensors"),
                                    displayName: "object_encoder/model.safetensors")
        try self.init(config: config, weights: store, configFile: configFile)
        try store.finish()
    }

    public init(config: ObjectEncoderConfig, weights store: WeightStore, configFile: String) throws {
        guard let injection = Injection(rawValue: config.injection) else {
            throw ConfigError(file: configFile, field: "injection",
                              reason: "'\(config.injection)' is not supported (use input_embedding or hidden_state)")
        }
        guard config.num_tokens > 0, config.text_hidden_size > 0 else {
            throw ConfigError(file: configFile, field: "num_tokens", reason: "num_tokens and text_hidden_size must be positive")
        }
        guard config.image_mean.count == 3, config.image_std.count == 3, config.image_std.allSatisfy({ $0 > 0 }) else {
            throw ConfigError(file: configFile, field: "image_std", reason: "image_mean and image_std need 3 values, std positive")
        }
        guard config.image_size == config.vision_config.image_size else {
            throw ConfigError(file: configFile, field: "image_size",
                              reason: "\(config.image_size) differs from vision_config.image_size \(config.vision_config.image_size)")
        }
        for entry in config.word_slots {
            guard injection == .inputEmbedding else {
                throw ConfigError(file: configFile, field: "word_slots",
                                  reason: "word slots need input_embedding injection (a slot holds a word's input embedding)")
            }
            guard (0..<config.num_tokens).contains(entry.slot), !entry.words.isEmpty else {
                throw ConfigError(file: configFile, field: "word_slots",
                                  reason: "slot \(entry.slot) (\(entry.attribute)) must be in 0..<\(config.num_tokens) with a non-empty words map")
            }
        }
        self.config = config
        self.injection = injection
        let root = store.root
        vision_model = try CLIPVisionModel(config: config.vision_config, weights: root["vision_model"], configFile: configFile)
        let k = config.num_tokens, d = config.text_hidden_size
        projection = ObjectProjection(
            linear: try Linear(root["projection"]["linear"], inFeatures: config.vision_config.hidden_size, outFeatures: k * d),
            norm: try LayerNorm(root["projection"]["norm"], dim: d, eps: 1e-5), tokens: k, dim: d)
        slot_embedding = injection == .hiddenState ? try root.tensor("slot_embedding", shape: [k, d]) : nil
    }

    public var tokenCount: Int { config.num_tokens }

    /// pixels [B, 3, S, S] in [0, 1] (S = image_size) → object tokens [B, K, D]
    public func callAsFunction(pixels: Tensor) throws -> Tensor {
        var x = pixels
        let s = config.image_size
        guard x.rank == 4, x.shape[1] == 3, x.shape[2] == s, x.shape[3] == s else {
            throw ModelInputError.badShape(what: "object encoder pixels", shape: x.shape, expected: "[B, 3, \(s), \(s)]")
        }
        let plane = s * s, batch = x.shape[0]
        x.withUnsafeMutableBufferPointer { p in
            for b in 0..<batch {
                for c in 0..<3 {
                    let m = config.image_mean[c], sd = config.image_std[c]
                    let base = (b * 3 + c) * plane
                    for i in 0..<plane { p[base + i] = (p[base + i] - m) / sd }
                }
            }
        }
        let pooled = try vision_model.pooled(pixelValues: x) // [B, Dv]
        let flat = projection.linear(pooled)                  // [B, K*D]
        guard let tokens = flat.reshaped([batch, projection.tokens, projection.dim]) else {
            throw ModelInputError.badShape(what: "object projection", shape: flat.shape, expected: "[B, K*D]")
        }
        return projection.norm(tokens)
    }
}
