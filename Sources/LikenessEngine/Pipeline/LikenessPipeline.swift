// Matches Training/likeness_train/pipeline.py LikenessPipeline.__call__ and, without an object,
// diffusers StableDiffusionPipeline.__call__ (text-to-image, one image per prompt):
//   cond = [e(negative), e(prompt)]                                   (text only, s_text > 1)
//   cond = [e(negative), e(prompt with null word), e(prompt + object)] (with an object)
//   e = e_u + s_text (e_t - e_u) [+ s_id (e_o - e_t)]
//   latents = randn(seed) * init_noise_sigma, sampled with the chosen scheduler, decoded by the VAE,
//   image clamped to [-1, 1].
// As diffusers, guidance with s_text <= 1 and no object runs the conditional branch alone.
// Several seeds run as one batch: seed n's latents and ancestral noise come from its own
// torch.Generator, so each image is the one its seed gives alone (diffusers with a list of
// generators). Generation itself lives in LikenessPipeline+Generate.swift.

import Foundation

extension Tensor: @unchecked Sendable {}

public final class LikenessPipeline: @unchecked Sendable {
    public let folder: ModelFolder
    public let tokenizer: TextTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let objectEncoder: ObjectEncoder?
    public let preview: LatentPreview?
    public let schedulerConfig: SchedulerConfig
    public let promptEncoder: PromptEncoder
    /// Prompt encodings of recent jobs, reused while the prompt, object and options are unchanged.
    let conditioning = ConditioningCache(capacity: 16)

    /// Largest width or height accepted, in pixels.
    public static let maxImageSide = 2048

    /// Loads every component, failing with the missing or malformed part named.
    public init(folder url: URL) throws {
        let folder = try ModelFolder(url)
        self.folder = folder
        tokenizer = try loadTokenizer(folder: folder.component("tokenizer"))
        textEncoder = try CLIPTextModel(folder: folder.component("text_encoder"))
        unet = try UNet2DConditionModel(folder: folder.component("unet"))
        vae = try AutoencoderKL(folder: folder.component("vae"))
        schedulerConfig = try folder.schedulerConfig()
        objectEncoder = folder.hasObjectEncoder ? try ObjectEncoder(folder: folder.component("object_encoder")) : nil
        preview = folder.hasLatentPreview
            ? try LatentPreview(url: folder.component("preview/latent_rgb.json"), channels: unet.config.in_channels)
            : nil
        if let enc = objectEncoder, enc.config.text_hidden_size != textEncoder.config.hidden_size {
            throw ConfigError(file: "object_encoder/config.json", field: "text_hidden_size",
                              reason: "\(enc.config.text_hidden_size) differs from the text encoder's hidden_size \(textEncoder.config.hidden_size)")
        }
        promptEncoder = PromptEncoder(tokenizer: tokenizer, textEncoder: textEncoder,
                                      placeholder: objectEncoder?.config.placeholder_token ?? "<obj>",
                                      injection: objectEncoder?.injection ?? .inputEmbedding,
                                      slotEmbedding: objectEncoder?.slot_embedding)
    }

    /// Pixels per latent cell (2^(VAE blocks - 1)).
    public var vaeFactor: Int { 1 << max(0, vae.config.block_out_channels.count - 1) }
    /// Width and height must be multiples of this.
    public var sizeMultiple: Int { vaeFactor * (1 << max(0, unet.config.block_out_channels.count - 1)) }
    public var defaultSize: Int { (unet.config.sample_size ?? 64) * vaeFactor }
    /// The reference image size the object encoder takes (square).
    public var objectImageSize: Int? { objectEncoder?.config.image_size }

    /// One encoder pass: pixels [1, 3, S, S] in [0, 1] → object tokens [1, K, D]. Cache the result per object.
    public func encodeObject(pixels: Tensor) throws -> Tensor {
        guard let enc = objectEncoder else { throw GenerationError.noObjectEncoder(model: folder.url.path) }
        return try enc(pixels: pixels)
    }

}

extension Tensor {
    /// This shape with `values` as storage (counts must agree; used for sampler arrays of known size).
    func replacing(_ values: [Float]) -> Tensor {
        precondition(values.count == count, "replacing \(shape) with \(values.count) values")
        return Tensor(uncheckedShape: shape, storage: values)
    }
}

/// Stacks [1, L, D] rows into [B, L, D].
func concatBatch(_ rows: [Tensor]) -> Tensor {
    let shape = rows[0].shape
    var storage = [Float](); storage.reserveCapacity(rows.count * rows[0].count)
    for r in rows { storage += r.storage }
    return Tensor(uncheckedShape: [rows.count] + shape.dropFirst(), storage: storage)
}
