// What a caller asks the engine for, and what it gets back. Plain values, so the studio and the
// CLI can keep, compare and repeat them.

import Foundation

public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var seed: UInt64 = 0
    public var steps: Int = 25
    /// s_text: classifier-free text guidance (diffusers guidance_scale).
    public var textGuidance: Float = 5.0
    /// s_id: identity guidance, used only with an object and a placeholder.
    public var identityGuidance: Float = 3.0
    public var sampler: SamplerKind = .ddim
    public var karras: Bool = false
    /// Image size in pixels; nil takes the UNet's sample_size times the VAE factor.
    public var width: Int?
    public var height: Int?
    /// Object tokens [1, K, D] from `LikenessPipeline.encodeObject`; nil for text only.
    public var objectTokens: Tensor?
    /// Initial noise [1, C, h, w] instead of drawing it from the seed (diffusers' `latents=`).
    public var initialNoise: Tensor?
    /// Cut over-long prompts (after the placeholder first) instead of failing.
    public var allowTruncation: Bool = false
    /// Map words outside the vocabulary to the unknown token instead of failing.
    public var allowUnknownWords: Bool = false
    /// Produce a preview image every N steps (0: none).
    public var previewEvery: Int = 1

    public init(prompt: String) { self.prompt = prompt }
}

/// An RGB8 image, interleaved, row-major.
public struct RGBPixels: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var bytes: [UInt8]
}

/// One finished sampling step.
public struct StepEvent: Sendable {
    public var step: Int
    public var total: Int
    /// Latents after this step, diffusers' representation, [1, C, h, w].
    public var latents: Tensor
    /// A small preview of the predicted clean image (from preview/latent_rgb.json), if any.
    public var preview: RGBPixels?
    /// Seconds since the job started.
    public var elapsed: Double
}

public struct GenerationResult: Sendable {
    public var request: GenerationRequest
    /// The decoded image, [1, 3, H, W] in [-1, 1].
    public var image: Tensor
    public var pixels: RGBPixels
    public var finalLatents: Tensor
    /// Non-fatal notes, e.g. truncation when it was allowed.
    public var warnings: [String]
    public var elapsed: Double
}

/// Thrown when a job is cancelled; never an empty result.
public struct GenerationCancelled: Error, CustomStringConvertible, Equatable {
    public var afterStep: Int
    public var description: String { "generation cancelled after step \(afterStep)" }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case badSize(width: Int, height: Int, multiple: Int, limit: Int)
    case noObjectEncoder(model: String)
    case badInitialNoise(shape: [Int], expected: [Int])
    case badGuidance(String)

    public var description: String {
        switch self {
        case let .badSize(w, h, m, limit):
            return "image size \(w)x\(h) is not allowed: width and height must be positive multiples of \(m), at most \(limit)"
        case let .noObjectEncoder(model):
            return "\(model) has no object_encoder/; it generates from text only (prompts without <obj>)"
        case let .badInitialNoise(shape, expected):
            return "initial latents have shape \(shape), this model and size need \(expected)"
        case let .badGuidance(message):
            return message
        }
    }
}

/// Converts [1, 3, H, W] in [-1, 1] to RGB8 as diffusers' VaeImageProcessor.postprocess does:
/// (x / 2 + 0.5).clamp(0, 1) * 255, rounded half to even.
public func rgbPixels(fromImage image: Tensor) -> RGBPixels {
    let h = image.shape[2], w = image.shape[3], plane = h * w
    var bytes = [UInt8](repeating: 0, count: plane * 3)
    image.withUnsafeBufferPointer { p in
        for c in 0..<3 {
            for i in 0..<plane {
                let v = min(max(p[c * plane + i] / 2 + 0.5, 0), 1) * 255
                bytes[i * 3 + c] = UInt8(v.rounded(.toNearestOrEven))
            }
        }
    }
    return RGBPixels(width: w, height: h, bytes: bytes)
}
