// What a caller asks the engine for, and what it gets back. Plain values, so the studio and the
// CLI can keep, compare and repeat them.

import Foundation

/// How step previews are made.
public enum PreviewKind: String, Sendable, CaseIterable, Codable {
    /// No previews.
    case none
    /// The linear latent→RGB map of preview/latent_rgb.json applied to the predicted clean
    /// latents (A1111's "approx cheap"); models without the map fall back to `decode`.
    case latent
    /// A full VAE decode of the predicted clean latents (cheap at the built-in model's size).
    case decode
    /// The pipeline's tiny decoder (TAESD, `LikenessPipeline.attachTinyDecoder`) on the predicted
    /// clean latents: a full-resolution preview at a small fraction of the VAE's cost; without a
    /// tiny decoder it falls back as `latent` does.
    case tiny
}

/// What decodes the final latents into the image.
public enum FinalDecoder: String, Sendable, CaseIterable, Codable {
    /// The model's VAE (or its `--vae` replacement).
    case full
    /// The pipeline's tiny decoder (TAESD); an error when none is attached.
    case tiny
}

public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    /// One image per seed; all seeds run as one batch through the UNet. Each image equals the
    /// one-seed run of its seed (see LikenessPipeline.generate).
    public var seeds: [UInt64] = [0]
    public var steps: Int = 25
    /// s_text: classifier-free text guidance (diffusers guidance_scale).
    public var textGuidance: Float = 5.0
    /// s_id: identity guidance, used only with an object and a placeholder.
    public var identityGuidance: Float = 3.0
    public var sampler: SamplerKind = .ddim
    /// Karras sigmas; nil takes the scheduler config's `use_karras_sigmas` (false when absent).
    public var karras: Bool?
    /// Image size in pixels; nil takes the UNet's sample_size times the VAE factor.
    public var width: Int?
    public var height: Int?
    /// Object tokens [1, K, D] from `LikenessPipeline.encodeObject`; nil for text only.
    public var objectTokens: Tensor?
    /// Initial noise [N, C, h, w] (N = seeds.count) instead of drawing it from the seeds
    /// (diffusers' `latents=`).
    public var initialNoise: Tensor?
    /// Cut over-long prompts (after the placeholder first) instead of failing.
    public var allowTruncation: Bool = false
    /// Map words outside the vocabulary to the unknown token instead of failing.
    public var allowUnknownWords: Bool = false
    /// AUTOMATIC1111 prompt emphasis ((a), [a], (a:1.3), BREAK) and prompts longer than the text
    /// encoder's window in chunks (PromptEncoder+Emphasis.swift). Off: the prompt is encoded as
    /// diffusers does (one window, brackets are text). The CLI and the studio turn it on.
    public var emphasis: Bool = false
    /// Word slots: with an object encoder that records them, a property word right before the
    /// placeholder ("a red <obj>") sets the object token of its attribute to that word
    /// (PromptEncoder+WordSlots.swift). Off: the object tokens as the encoder gave them.
    public var wordSlots: Bool = true
    /// How step previews are made.
    public var preview: PreviewKind = .latent
    /// What decodes the final image.
    public var decoder: FinalDecoder = .full
    /// Produce previews every N steps (0: none); the last step always has one when enabled.
    public var previewEvery: Int = 1
    /// Image-to-image (diffusers StableDiffusionImg2ImgPipeline): the init image [1, 3, H, W] in
    /// [-1, 1] at the request's size; nil generates from noise.
    public var initImage: Tensor?
    /// How far the init image is noised, 0...1 (diffusers `strength`, A1111 "Denoising
    /// strength"): the last `int(steps * strength)` steps run (with the LCM sampler on an
    /// LCM-distilled UNet all steps run, from the distillation schedule's first
    /// int(original_inference_steps * strength) timesteps). Used only with `initImage`.
    public var strength: Float = 0.75
    /// The LoRAs this job runs with, merged into the weights before it starts
    /// (`LikenessPipeline.setLoRAs`: only a change costs a merge); nil keeps the pipeline's.
    public var loras: [LoRAApplication]?

    public init(prompt: String) { self.prompt = prompt }

    /// The first seed; setting it makes this a one-seed request.
    public var seed: UInt64 {
        get { seeds.first ?? 0 }
        set { seeds = [newValue] }
    }
}

/// An RGB8 image, interleaved, row-major.
public struct RGBPixels: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var bytes: [UInt8]
    public init(width: Int, height: Int, bytes: [UInt8]) {
        self.width = width; self.height = height; self.bytes = bytes
    }
}

/// One finished sampling step. The sampling loop reports `latents`, `denoised` and the
/// timestep; the pipeline adds previews and timing.
public struct StepEvent: Sendable {
    /// 1-based number of the step just finished.
    public var step: Int
    public var total: Int
    /// The timestep the model saw in this step.
    public var timestep: Float
    /// Latents after this step, diffusers' representation (`prev_sample`), flat; for the
    /// pipeline's events, one [C, h, w] block per seed.
    public var latents: [Float]
    /// The x0 prediction of this step (diffusers `pred_original_sample`), flat like `latents`.
    public var denoised: [Float]
    /// One preview per seed, in seed order; empty when this step has none.
    public var previews: [RGBPixels] = []
    /// Seconds since the job started.
    public var elapsed: Double = 0
    /// Sampling steps per second so far.
    public var stepsPerSecond: Double = 0

    public init(step: Int, total: Int, timestep: Float, latents: [Float], denoised: [Float]) {
        self.step = step; self.total = total; self.timestep = timestep; self.latents = latents; self.denoised = denoised
    }
}

/// One seed's image.
public struct GeneratedImage: Sendable {
    public var seed: UInt64
    /// The decoded image, [1, 3, H, W] in [-1, 1].
    public var image: Tensor
    public var pixels: RGBPixels
    /// [1, C, h, w], diffusers' representation.
    public var finalLatents: Tensor
}

public struct GenerationResult: Sendable {
    public var request: GenerationRequest
    /// One image per seed, in the request's seed order.
    public var images: [GeneratedImage]
    /// Whether Karras sigmas were used (the request's choice or the scheduler config's default).
    public var karras: Bool
    /// Non-fatal notes, e.g. truncation when it was allowed.
    public var warnings: [String]
    public var elapsed: Double

    /// The first seed's image.
    public var image: Tensor { images[0].image }
    public var pixels: RGBPixels { images[0].pixels }
    public var finalLatents: Tensor { images[0].finalLatents }
}

/// Thrown when a job is cancelled (between UNet layers, between steps or before the decode);
/// never an empty result. `afterStep` is the number of sampling steps finished.
public struct GenerationCancelled: Error, CustomStringConvertible, Equatable {
    public var afterStep: Int
    public init(afterStep: Int) { self.afterStep = afterStep }
    public var description: String { "generation cancelled after step \(afterStep)" }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case badSize(width: Int, height: Int, multiple: Int, limit: Int)
    case noObjectEncoder(model: String)
    case badInitialNoise(shape: [Int], expected: [Int])
    case badGuidance(String)
    case badSeeds(String)
    case noTinyDecoder
    case badInitImage(shape: [Int], expected: [Int])
    case badStrength(Float)
    case initImageWithNoise

    public var description: String {
        switch self {
        case let .badSize(w, h, m, limit):
            return "image size \(w)x\(h) is not allowed: width and height must be positive multiples of \(m), at most \(limit)"
        case let .noObjectEncoder(model):
            return "\(model) has no object_encoder/; it generates from text only (prompts without <obj>)"
        case let .badInitialNoise(shape, expected):
            return "initial latents have shape \(shape), this model and size need \(expected)"
        case let .badGuidance(message), let .badSeeds(message):
            return message
        case .noTinyDecoder:
            return "the tiny decoder was asked for, but none is loaded (a diffusers AutoencoderTiny folder or file, e.g. taesd)"
        case let .badInitImage(shape, expected):
            return "the init image has shape \(shape), this request needs \(expected) (resize it to the image size first)"
        case let .badStrength(s):
            return "strength must be a number from 0 to 1 (how far the init image is noised), got \(s)"
        case .initImageWithNoise:
            return "initial noise and an init image cannot be given together (image-to-image draws its noise from the seed)"
        }
    }
}

/// Converts [N, 3, H, W] in [-1, 1] (image `index`) to RGB8 as diffusers'
/// VaeImageProcessor.postprocess does: (x / 2 + 0.5).clamp(0, 1) * 255, rounded half to even.
public func rgbPixels(fromImage image: Tensor, index: Int = 0) -> RGBPixels {
    let h = image.shape[2], w = image.shape[3], plane = h * w
    var bytes = [UInt8](repeating: 0, count: plane * 3)
    image.withUnsafeBufferPointer { p in
        let base = index * 3 * plane
        for c in 0..<3 {
            for i in 0..<plane {
                let v = min(max(p[base + c * plane + i] / 2 + 0.5, 0), 1) * 255
                bytes[i * 3 + c] = UInt8(v.rounded(.toNearestOrEven))
            }
        }
    }
    return RGBPixels(width: w, height: h, bytes: bytes)
}
