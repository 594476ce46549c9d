// Matches Training/likeness_train/pipeline.py LikenessPipeline.__call__ and, without an object,
// diffusers StableDiffusionPipeline.__call__ (text-to-image, one image per prompt):
//   cond = [e(negative), e(prompt)]                                   (text only, s_text > 1)
//   cond = [e(negative), e(prompt with null word), e(prompt + object)] (with an object)
//   e = e_u + s_text (e_t - e_u) [+ s_id (e_o - e_t)]
//   latents = randn(seed) * init_noise_sigma, sampled with the chosen scheduler, decoded by the VAE,
//   image clamped to [-1, 1].
// As diffusers, guidance with s_text <= 1 and no object runs the conditional branch alone.
// Limits: batch of one image per request; one torch.Generator stream per request.

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

    /// Runs a request on the calling thread. `onStep` may throw (e.g. `GenerationCancelled`) to stop.
    public func generate(_ request: GenerationRequest, onStep: ((StepEvent) throws -> Void)? = nil) throws -> GenerationResult {
        let start = Date()
        var warnings: [String] = []
        let width = request.width ?? defaultSize, height = request.height ?? defaultSize
        let m = sizeMultiple
        guard width > 0, height > 0, width % m == 0, height % m == 0,
              width <= Self.maxImageSide, height <= Self.maxImageSide else {
            throw GenerationError.badSize(width: width, height: height, multiple: m, limit: Self.maxImageSide)
        }
        guard request.textGuidance.isFinite, request.identityGuidance.isFinite else {
            throw GenerationError.badGuidance("guidance scales must be finite numbers")
        }
        let hasSlot = try promptEncoder.split(request.prompt) != nil
        if hasSlot && request.objectTokens == nil {
            throw PromptError.placeholderWithoutObject(placeholder: promptEncoder.placeholder)
        }
        if request.objectTokens != nil && !hasSlot {
            throw PromptError.objectWithoutPlaceholder(placeholder: promptEncoder.placeholder)
        }
        if let tokens = request.objectTokens {
            // Tokens from another model (other K or D) would be read out of bounds.
            guard let enc = objectEncoder else { throw GenerationError.noObjectEncoder(model: folder.url.path) }
            let expected = [1, enc.tokenCount, textEncoder.config.hidden_size]
            guard tokens.shape == expected else {
                throw ModelInputError.badShape(what: "object tokens", shape: tokens.shape,
                                               expected: "\(expected) for \(folder.name) (encode the object with this model)")
            }
        }

        // Conditioning.
        let withObject = hasSlot
        var rows: [Tensor] = []
        var unknown: [String] = []
        func encode(_ text: String, _ tokens: Tensor?) throws -> Tensor {
            let (states, slots) = try promptEncoder.encode(text, objectTokens: tokens, allowTruncation: request.allowTruncation)
            unknown += slots.unknownWords
            if slots.droppedTokens > 0 {
                warnings.append("prompt truncated: \(slots.droppedTokens) token\(slots.droppedTokens == 1 ? "" : "s") cut from \"\(text)\"")
            }
            return states
        }
        let useCFG = withObject || request.textGuidance > 1
        if withObject, let enc = objectEncoder {
            rows.append(try encode(request.negativePrompt, nil))
            let nullPrompt = request.prompt.split(whereSeparator: { $0.isWhitespace })
                .map { $0 == enc.config.placeholder_token ? enc.config.null_word : String($0) }.joined(separator: " ")
            rows.append(try encode(nullPrompt, nil))
            rows.append(try encode(request.prompt, request.objectTokens))
        } else if useCFG {
            rows.append(try encode(request.negativePrompt, nil))
            rows.append(try encode(request.prompt, nil))
        } else {
            rows.append(try encode(request.prompt, nil))
        }
        if !unknown.isEmpty && !request.allowUnknownWords {
            var seen = Set<String>()
            throw PromptError.unknownWords(unknown.filter { seen.insert($0).inserted })
        }
        let cond = concatBatch(rows) // [B, L, D]
        let branches = rows.count

        // Noise and schedule.
        let plan = try makeSamplingPlan(kind: request.sampler, config: schedulerConfig, steps: request.steps,
                                        karras: request.karras ? true : nil)
        let c = unet.config.in_channels, h = height / vaeFactor, w = width / vaeFactor
        let count = c * h * w
        var generator = TorchGenerator(seed: request.seed)
        let latents0: [Float]
        if let noise = request.initialNoise {
            guard noise.shape == [1, c, h, w] else {
                throw GenerationError.badInitialNoise(shape: noise.shape, expected: [1, c, h, w])
            }
            latents0 = noise.storage.map { $0 * plan.initNoiseSigma }
        } else {
            latents0 = initialLatents(plan: plan, count: count, generator: &generator)
        }

        let sText = request.textGuidance, sID = request.identityGuidance
        let model: ModelFunction = { [unet] input, t in
            var batch = [Float](); batch.reserveCapacity(count * branches)
            for _ in 0..<branches { batch += input }
            let x = Tensor(uncheckedShape: [branches, c, h, w], storage: batch)
            let out = try unet(sample: x, timestep: t, encoderHiddenStates: cond).storage
            if branches == 1 { return out }
            var e = [Float](repeating: 0, count: count)
            if branches == 2 {
                for i in 0..<count { e[i] = out[i] + sText * (out[count + i] - out[i]) }
            } else {
                for i in 0..<count {
                    let eu = out[i], et = out[count + i], eo = out[2 * count + i]
                    e[i] = eu + sText * (et - eu) + sID * (eo - et)
                }
            }
            return e
        }
        let previewEvery = request.previewEvery
        let final = try runSampling(plan: plan, latents: latents0, generator: &generator, model: model) { [preview] p in
            guard let onStep else { return }
            var image: RGBPixels?
            if let preview, previewEvery > 0, p.step % previewEvery == 0 || p.step == p.totalSteps {
                image = preview.render(latents: p.denoised, channels: c, height: h, width: w)
            }
            try onStep(StepEvent(step: p.step, total: p.totalSteps, latents: Tensor(zeros: [1, c, h, w]).replacing(p.latents),
                                 preview: image, elapsed: Date().timeIntervalSince(start)))
        }
        let finalLatents = Tensor(zeros: [1, c, h, w]).replacing(final)
        var image = try vae.decode(diffusionLatents: finalLatents) // [1, 3, H, W]
        // As the reference pipeline's .clamp(-1, 1) (diffusers' postprocess clamps the same range).
        image.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = min(max(p[i], -1), 1) } }
        return GenerationResult(request: request, image: image, pixels: rgbPixels(fromImage: image),
                                finalLatents: finalLatents, warnings: warnings, elapsed: Date().timeIntervalSince(start))
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
