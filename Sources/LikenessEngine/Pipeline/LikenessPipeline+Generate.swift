// Matches Training/likeness_train/pipeline.py LikenessPipeline.__call__ and, without an object,
// diffusers StableDiffusionPipeline.__call__ (text-to-image), for each seed of the request:
//   cond = [e(negative), e(prompt)]                                   (text only, s_text > 1)
//   cond = [e(negative), e(prompt with null word), e(prompt + object)] (with an object)
//   e = e_u + s_text (e_t - e_u) [+ s_id (e_o - e_t)]
//   latents = randn(seed) * init_noise_sigma, sampled with the chosen scheduler, decoded by the VAE,
//   image clamped to [-1, 1].
// With an init image, diffusers StableDiffusionImg2ImgPipeline's start instead (ImageToImage.swift):
//   x0 = vae.encode(init).latent_dist.sample(g) * scaling_factor; latents = add_noise(x0, randn(g), t_start)
// and only the last int(steps * strength) steps run; guidance (and the object) as above. The LCM
// sampler on an LCM-distilled UNet starts as LatentConsistencyModelImg2ImgPipeline instead (all
// steps run, on the distillation schedule cut by the strength; ImageToImage.swift).
// N seeds are one UNet batch of N x branches rows (branch-major: all seeds' e_u rows, then e_t,
// then e_o); the samplers are elementwise and the ancestral noise is drawn per seed from that
// seed's generator, so each image is its one-seed image (bit for bit where the batched kernels
// sum in the same order; tests allow 1/255 per pixel). Each seed is decoded on its own.
// As diffusers, guidance with s_text <= 1 and no object runs the conditional branch alone.
// LCM-distilled UNets (time_cond_proj_dim) have the text guidance embedded, as diffusers'
// LatentConsistencyModelPipeline and StableDiffusionPipeline run them: the UNet gets
// get_guidance_scale_embedding(s_text - 1) and no unconditional branch runs (the negative prompt
// is unused). With an object, identity guidance is applied on top of the embedded guidance:
//   M(c) = the distilled model, ≈ e_u + s_text (e_c - e_u)
//   e = M(c_t) + (s_id / s_text) (M(c_o) - M(c_t))
// which is the formula above whenever M is that linear combination (M(c_o) - M(c_t) =
// s_text (e_o - e_t)); two branches run (c_t, c_o), and s_text must be positive.

import Foundation

/// Called between UNet layers, between steps and before each VAE decode; throwing from it
/// (`GenerationCancelled`) stops the job there.
public typealias GenerationCheckpoint = (_ stepsDone: Int) throws -> Void

/// The LoRAs a request names could not be merged (a file that cannot be read or does not fit the
/// model); the weights are as they were.
public struct LoRASwitchError: Error, CustomStringConvertible {
    public let underlying: Error
    public var description: String { "\(underlying)" }
}

extension LikenessPipeline {
    /// Text encoder passes so far (prompt encodings not found in the cache).
    public var textEncoderPasses: Int { conditioning.missCount }

    /// Runs a request on the calling thread. `checkpoint` may throw (e.g. `GenerationCancelled`)
    /// to stop between UNet layers; `onStep` may throw to stop after a step.
    public func generate(_ request: GenerationRequest, checkpoint: GenerationCheckpoint? = nil,
                         onStep: ((StepEvent) throws -> Void)? = nil) throws -> GenerationResult {
        let start = Date()
        if let loras = request.loras {
            do { try setLoRAs(loras) } catch { throw LoRASwitchError(underlying: error) }
        }
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
        let seeds = request.seeds
        guard !seeds.isEmpty, seeds.count <= 64 else {
            throw GenerationError.badSeeds("a request needs 1 to 64 seeds, got \(seeds.count)")
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
            guard let enc = objectEncoder else { throw GenerationError.noObjectEncoder(model: modelURL.path) }
            let expected = [1, enc.tokenCount, textEncoder.config.hidden_size]
            guard tokens.shape == expected else {
                throw ModelInputError.badShape(what: "object tokens", shape: tokens.shape,
                                               expected: "\(expected) for \(modelName) (encode the object with this model)")
            }
        }

        // Conditioning, from the cache when the same text was encoded before.
        var rows: [Tensor] = []
        var unknown: [String] = []
        func encode(_ text: String, _ tokens: Tensor?) throws -> Tensor {
            let key = ConditioningKey(text: text, objectTokens: tokens?.storage, allowTruncation: request.allowTruncation,
                                      emphasis: request.emphasis)
            let entry = try conditioning.value(for: key) {
                if request.emphasis {
                    let (states, info) = try promptEncoder.encodeWeighted(text, objectTokens: tokens)
                    let slots = PromptSlots(ids: info.chunks.flatMap { $0 }, slotStart: nil, slotCount: tokens?.shape[1] ?? 0,
                                            droppedTokens: 0, unknownWords: info.unknownWords)
                    return ConditioningEntry(states: states, slots: slots, warnings: info.warnings)
                }
                let (states, slots) = try promptEncoder.encode(text, objectTokens: tokens, allowTruncation: request.allowTruncation)
                return ConditioningEntry(states: states, slots: slots)
            }
            for w in entry.warnings where !warnings.contains(w) { warnings.append(w) }
            unknown += entry.slots.unknownWords
            if entry.slots.droppedTokens > 0 {
                let n = entry.slots.droppedTokens
                warnings.append("prompt truncated: \(n) token\(n == 1 ? "" : "s") cut from \"\(text)\"")
            }
            return entry.states
        }
        // A property word before the placeholder sets the object token of its word slot (models
        // that record word_slots; PromptEncoder+WordSlots.swift).
        func wordSlotTokens(_ prompt: String, _ tokens: Tensor?, _ enc: ObjectEncoder) throws -> Tensor? {
            guard let tokens, request.wordSlots else { return tokens }
            return try promptEncoder.applyingWordSlots(try promptEncoder.wordSlotEdits(in: prompt, slots: enc.config.word_slots),
                                                       to: tokens)
        }
        let withObject = hasSlot
        let embeddedGuidance = unet.config.time_cond_proj_dim != nil
        if embeddedGuidance && withObject && !(request.textGuidance > 0) {
            throw GenerationError.badGuidance(
                "\(modelName) has embedded (LCM) guidance: with an object the text guidance must be positive, got \(request.textGuidance)")
        }
        if embeddedGuidance && !request.negativePrompt.isEmpty {
            warnings.append("negative prompt unused: \(modelName) has its text guidance embedded (an LCM-distilled UNet) and runs no unconditional branch")
        }
        if let note = lcmSamplerNote(request.sampler) { warnings.append(note) }
        let useCFG = !embeddedGuidance && (withObject || request.textGuidance > 1)
        if embeddedGuidance {
            if withObject, let enc = objectEncoder {
                rows.append(try encode(promptEncoder.replacingPlaceholder(in: request.prompt, with: enc.config.null_word), nil))
                rows.append(try encode(request.prompt, try wordSlotTokens(request.prompt, request.objectTokens, enc)))
            } else {
                rows.append(try encode(request.prompt, nil))
            }
        } else if withObject, let enc = objectEncoder {
            rows.append(try encode(request.negativePrompt, nil))
            rows.append(try encode(promptEncoder.replacingPlaceholder(in: request.prompt, with: enc.config.null_word), nil))
            rows.append(try encode(request.prompt, try wordSlotTokens(request.prompt, request.objectTokens, enc)))
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
        // Chunked prompts of different lengths: the shorter rows are completed with the empty
        // prompt's chunk, as A1111 does, so that all rows share one sequence length.
        let longest = rows.map { $0.shape[1] }.max() ?? 0
        if rows.contains(where: { $0.shape[1] != longest }) {
            let empty = try encode("", nil) // [1, L, D]
            rows = rows.map { row in
                var storage = row.storage
                var length = row.shape[1]
                while length < longest { storage += empty.storage; length += empty.shape[1] }
                return Tensor(uncheckedShape: [1, length, row.shape[2]], storage: storage)
            }
        }
        if weightResidency.releasesTextEncoder { giveBack(matrices.textEncoder) }
        let n = seeds.count
        let branches = rows.count
        // [branches * N, L, D]: each branch's row once per seed.
        let cond = concatBatch(rows.flatMap { Array(repeating: $0, count: n) })

        // Noise and schedule.
        var plan = try makeSamplingPlan(kind: request.sampler, config: schedulerConfig, steps: request.steps,
                                        karras: request.karras)
        let c = unet.config.in_channels, h = height / vaeFactor, w = width / vaeFactor
        let count = c * h * w, total = count * n
        var generators = seeds.map { TorchGenerator(seed: $0) }
        var latents0: [Float] = []
        latents0.reserveCapacity(total)
        if let initImage = request.initImage {
            // Image-to-image (ImageToImage.swift): per seed, a posterior sample of the init image
            // and then the noise, both from that seed's generator, as diffusers draws them.
            guard request.strength.isFinite, (0...1).contains(request.strength) else {
                throw GenerationError.badStrength(request.strength)
            }
            guard initImage.shape == [1, vae.config.in_channels, height, width] else {
                throw GenerationError.badInitImage(shape: initImage.shape, expected: [1, vae.config.in_channels, height, width])
            }
            guard request.initialNoise == nil else { throw GenerationError.initImageWithNoise }
            if request.sampler == .lcm && embeddedGuidance {
                plan = try SamplingPlan.lcmImageToImage(config: schedulerConfig, steps: request.steps, strength: request.strength)
            } else {
                plan = plan.starting(at: SamplingPlan.imageToImageStart(steps: request.steps, strength: request.strength))
            }
            try checkpoint?(0)
            let posterior = try vae.encode(initImage) // [1, C, h, w]
            if weightResidency.releasesVAEEncoder { giveBack(vae.encoderMatrices, touchedByLoRAs: false) }
            for i in 0..<n {
                let draw = Tensor(uncheckedShape: posterior.mean.shape, storage: generators[i].randn(count))
                let x0 = vae.diffusionLatents(fromVAELatents: posterior.sample(noise: draw)).storage
                latents0 += plan.stepCount > 0 ? plan.noised(x0, noise: generators[i].randn(count)) : x0
            }
        } else if let noise = request.initialNoise {
            guard noise.shape == [n, c, h, w] else {
                throw GenerationError.badInitialNoise(shape: noise.shape, expected: [n, c, h, w])
            }
            latents0 = noise.storage.map { $0 * plan.initNoiseSigma }
        } else {
            for i in 0..<n { latents0 += initialLatents(plan: plan, count: count, generator: &generators[i]) }
        }

        var stepsDone = 0
        let blockCheck: (() throws -> Void)? = checkpoint.map { check in { try check(stepsDone) } }
        let sText = request.textGuidance, sID = request.identityGuidance
        // LCM UNets: the guidance embedding of w = s_text - 1, one row per UNet batch row.
        let timestepCond = unet.config.time_cond_proj_dim.map {
            Ops.guidanceScaleEmbedding(Array(repeating: sText - 1, count: branches * n), dim: $0)
        }
        let model: ModelFunction = { [unet] input, t in
            var batch = [Float](); batch.reserveCapacity(total * branches)
            for _ in 0..<branches { batch += input }
            let x = Tensor(uncheckedShape: [branches * n, c, h, w], storage: batch)
            let out = try unet(sample: x, timestep: t, encoderHiddenStates: cond, timestepCond: timestepCond,
                               checkpoint: blockCheck).storage
            if branches == 1 { return out }
            var e = [Float](repeating: 0, count: total)
            if embeddedGuidance {
                let ratio = sID / sText
                for i in 0..<total { e[i] = out[i] + ratio * (out[total + i] - out[i]) }
            } else if branches == 2 {
                for i in 0..<total { e[i] = out[i] + sText * (out[total + i] - out[i]) }
            } else {
                for i in 0..<total {
                    let eu = out[i], et = out[total + i], eo = out[2 * total + i]
                    e[i] = eu + sText * (et - eu) + sID * (eo - et)
                }
            }
            return e
        }
        var previewKind = request.preview
        if previewKind == .tiny && tinyDecoder == nil { previewKind = .latent }
        if previewKind == .latent && preview == nil { previewKind = .decode }
        if request.decoder == .tiny && tinyDecoder == nil { throw GenerationError.noTinyDecoder }
        let previewEvery = request.previewEvery
        let final = try runSampling(plan: plan, latents: latents0, generators: &generators, model: model) { event in
            stepsDone = event.step
            try checkpoint?(stepsDone)
            guard let onStep else { return }
            var e = event
            if previewKind != .none, previewEvery > 0, e.step % previewEvery == 0 || e.step == e.total {
                e.previews = try self.previews(denoised: e.denoised, kind: previewKind, seeds: n, shape: [c, h, w])
            }
            e.elapsed = Date().timeIntervalSince(start)
            e.stepsPerSecond = e.elapsed > 0 ? Double(e.step) / e.elapsed : 0
            try onStep(e)
        }
        if weightResidency.releasesUNet { giveBack(matrices.unet) }
        if weightResidency != .keepAll { EngineMemory.returnFreed() } // the steps' freed planes, before the decoder's
        var images: [GeneratedImage] = []
        for i in 0..<n {
            try checkpoint?(stepsDone)
            let latents = Tensor(uncheckedShape: [1, c, h, w], storage: Array(final[i * count..<(i + 1) * count]))
            var image = try decode(latents, with: request.decoder) // [1, 3, H, W]
            // As the reference pipeline's .clamp(-1, 1) (diffusers' postprocess clamps the same range).
            image.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = min(max(p[i], -1), 1) } }
            images.append(GeneratedImage(seed: seeds[i], image: image, pixels: rgbPixels(fromImage: image), finalLatents: latents))
        }
        return GenerationResult(request: request, images: images, karras: plan.settings.useKarrasSigmas,
                                warnings: warnings, elapsed: Date().timeIntervalSince(start))
    }

    /// Gives `parts` back to the system (see `weightResidency`), unless they are weights LoRAs
    /// merge into (the text encoder's, the UNet's) and a LoRA is merged: a merged weight is not in
    /// the file. A bfloat16 matrix is its own mapping, unmapped at once; float32 ones go to the
    /// engine's heap, whose free pages are then returned (EngineMemory.returnFreed).
    func giveBack(_ parts: [GEMMWeight], touchedByLoRAs: Bool = true) {
        guard loras.isEmpty || !touchedByLoRAs else { return }
        var heapFreed = false
        for m in parts where m.isResident && m.isReleasable {
            m.release()
            if case .fp32 = m { heapFreed = true }
        }
        if heapFreed { EngineMemory.returnFreed() }
    }

    /// One preview per seed of the predicted clean latents (`denoised`, N blocks of [C, h, w]).
    func previews(denoised: [Float], kind: PreviewKind, seeds n: Int, shape: [Int]) throws -> [RGBPixels] {
        let (c, h, w) = (shape[0], shape[1], shape[2]), count = c * h * w
        var out: [RGBPixels] = []
        for i in 0..<n {
            let block = Array(denoised[i * count..<(i + 1) * count])
            if kind == .latent, let preview {
                out.append(preview.render(latents: block, channels: c, height: h, width: w))
            } else {
                let latents = Tensor(uncheckedShape: [1, c, h, w], storage: block)
                var image = try decode(latents, with: kind == .tiny ? .tiny : .full)
                image.withUnsafeMutableBufferPointer { p in for j in 0..<p.count { p[j] = min(max(p[j], -1), 1) } }
                out.append(rgbPixels(fromImage: image))
            }
        }
        return out
    }

    /// Diffusion latents [1, C, h, w] → image [1, 3, H, W] by the VAE or the tiny decoder.
    func decode(_ latents: Tensor, with decoder: FinalDecoder) throws -> Tensor {
        switch decoder {
        case .full: return try vae.decode(diffusionLatents: latents)
        case .tiny:
            guard let tinyDecoder else { throw GenerationError.noTinyDecoder }
            return try tinyDecoder.decode(diffusionLatents: latents)
        }
    }

    /// The sampler the folder's scheduler config names where it is not the general default
    /// (`lcm` for LCMScheduler); nil otherwise.
    public var folderSampler: SamplerKind? { SamplerKind.folderDefault(schedulerClass: schedulerConfig.className) }

    /// The warning for the LCM sampler on a model that is neither LCM-distilled (time_cond_proj_dim,
    /// or a folder whose scheduler is LCMScheduler) nor given a LoRA named for LCM: it runs, as in
    /// diffusers, but few-step images from such a model are noise or blur.
    func lcmSamplerNote(_ sampler: SamplerKind) -> String? {
        guard sampler == .lcm, unet.config.time_cond_proj_dim == nil, schedulerConfig.className != "LCMScheduler",
              !loras.contains(where: { $0.name.lowercased().contains("lcm") }) else { return nil }
        return "the lcm sampler is meant for LCM-distilled models or an LCM-LoRA; \(modelName) is neither (no time_cond_proj_dim, "
            + "LCMScheduler or LoRA named lcm): it runs as diffusers does, but expect a noisy or blurred image"
    }
}
