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

/// Which of a pipeline's weights stay resident (LikenessPipeline.weightResidency). Given back means
/// the linear and convolution matrices go back to the system and are read again from the model
/// file when next needed (about as long as loading that part).
public enum WeightResidency: String, Sendable, CaseIterable {
    /// Everything stays loaded: every job starts at once.
    case keepAll = "keep"
    /// The UNet and the VAE's decoder stay; the text encoder goes back once a job's prompts are
    /// encoded (read again only when a later prompt is not in the conditioning cache) and the
    /// VAE's encoder as soon as this is set and after each init image it encodes. For
    /// interactive use (the studio): job after job at full speed, while the parts a job runs once
    /// are not resident during the steps and the decode.
    case keepDenoiser = "denoiser"
    /// The text encoder goes back once the prompts are encoded, the UNet once the last step is
    /// done, so that the VAE decodes with neither resident. For one job (the CLI's `generate`).
    case releaseAfterUse = "release"

    /// Whether the text encoder's weights go back after encoding.
    var releasesTextEncoder: Bool { self != .keepAll }
    /// Whether the UNet's weights go back after the last step.
    var releasesUNet: Bool { self == .releaseAfterUse }
    /// Whether the VAE encoder's weights go back after use (and are not read before).
    var releasesVAEEncoder: Bool { self != .keepAll }
}

public final class LikenessPipeline: @unchecked Sendable {
    /// The model folder, nil for a single-file checkpoint.
    public let folder: ModelFolder?
    /// The single-file checkpoint, nil for a model folder.
    public let checkpoint: SingleFileCheckpoint?
    /// The folder or file the model was loaded from.
    public let modelURL: URL
    /// The folder's name or the file's name without its extension.
    public let modelName: String
    public let tokenizer: TextTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let objectEncoder: ObjectEncoder?
    public let preview: LatentPreview?
    public let schedulerConfig: SchedulerConfig
    public let promptEncoder: PromptEncoder
    /// How the prediction type was chosen for a single file ("stated by the file (...)", "--prediction",
    /// "SD 2.x default"); nil for a folder, whose scheduler config states it.
    public let predictionNote: String?
    /// The standalone VAE used instead of the model's own, nil when the model's VAE is used.
    public let vaeReplacement: URL?
    /// The tiny decoder (TAESD) for `.tiny` previews and `FinalDecoder.tiny`; set with
    /// `attachTinyDecoder` before generating.
    public private(set) var tinyDecoder: AutoencoderTiny?
    /// Where `tinyDecoder` was loaded from.
    public private(set) var tinyDecoderURL: URL?
    /// Merges LoRAs into the UNet's and text encoder's weights in place (Checkpoints/LoRA.swift).
    let merger: LoRAMerger
    /// Prompt encodings of recent jobs, reused while the prompt, object and options are unchanged.
    let conditioning = ConditioningCache(capacity: 16)
    /// The linear and convolution weight matrices of the text encoder and the UNet (either precision).
    let matrices: (textEncoder: [GEMMWeight], unet: [GEMMWeight])
    /// Which weights stay resident between the phases of a job and between jobs
    /// (`WeightResidency`); weights given back are read (and at bf16 converted) again from the
    /// model file on their next use, bit for bit the same. Only while no LoRA is merged (a merged
    /// weight is not in the file); otherwise everything stays.
    public var weightResidency: WeightResidency = .keepAll {
        didSet { if weightResidency.releasesVAEEncoder { giveBack(vae.encoderMatrices, touchedByLoRAs: false) } }
    }

    /// Largest width or height accepted, in pixels.
    public static let maxImageSide = 2048

    /// Loads every component of a model folder, failing with the missing or malformed part named.
    public convenience init(folder url: URL) throws {
        try self.init(model: url)
    }

    /// Loads a model folder or a single-file checkpoint (.safetensors, SD 1.x/2.x original layout).
    /// `prediction` overrides the file's prediction type (single files only; a folder's scheduler config states it).
    /// `vae`, a standalone VAE (file or folder, see `StandaloneVAE`), replaces the model's own.
    /// `loras` are merged into the UNet and text encoder weights once loaded (see `setLoRAs`).
    /// `precision` is the GEMM precision (linear layers and convolutions) of the text encoder, UNet
    /// and VAE (ComputePrecision; fp32 is the exact path). The object encoder stays fp32.
    public convenience init(model url: URL, prediction: PredictionType? = nil, vae: URL? = nil, loras: [LoRAApplication] = [],
                            precision: ComputePrecision = .fp32) throws {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        if exists && !isDir.boolValue {
            try self.init(checkpoint: SingleFileCheckpoint(url: url), prediction: prediction, vae: vae, loras: loras,
                          precision: precision)
            return
        }
        let folder = try ModelFolder(url)
        if prediction != nil {
            throw ConfigError(file: folder.url.appendingPathComponent("scheduler/scheduler_config.json").path, field: "prediction_type",
                              reason: "--prediction applies to single-file checkpoints; a model folder's scheduler config states it")
        }
        let te = ComponentFolder(folder.component("text_encoder")), un = ComponentFolder(folder.component("unet"))
        let teStore = try te.weights(["model.safetensors", "model.fp16.safetensors"])
        teStore.keepsTaken = true
        teStore.precision = precision
        let textEncoder = try CLIPTextModel(config: te.config(CLIPTextConfig.self), weights: teStore, configFile: te.configDisplayName)
        try teStore.finish()
        let unStore = try un.weights(["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"])
        unStore.keepsTaken = true
        unStore.precision = precision
        let unet = try UNet2DConditionModel(config: un.config(UNet2DConditionConfig.self), weights: unStore, configFile: un.configDisplayName)
        try unStore.finish()
        try self.init(folder: folder, checkpoint: nil, url: url, name: folder.name,
                      tokenizer: try loadTokenizer(folder: folder.component("tokenizer")),
                      textEncoder: textEncoder, unet: unet,
                      vae: try vae.map { try StandaloneVAE.load($0, precision: precision) }
                          ?? AutoencoderKL(folder: folder.component("vae"), precision: precision), vaeReplacement: vae,
                      schedulerConfig: try folder.schedulerConfig(),
                      objectEncoder: folder.hasObjectEncoder ? try ObjectEncoder(folder: folder.component("object_encoder")) : nil,
                      preview: folder.hasLatentPreview
                          ? try LatentPreview(url: folder.component("preview/latent_rgb.json"), channels: unet.config.in_channels) : nil,
                      predictionNote: nil, merger: LoRAMerger(stores: (teStore, unStore)),
                      matrices: (teStore.matrices, unStore.matrices))
        try setLoRAs(loras)
    }

    /// Loads the three components of a single-file checkpoint from its mapping, failing on any
    /// missing, unused or wrong-shaped tensor (named with the file's own key).
    public convenience init(checkpoint ckpt: SingleFileCheckpoint, prediction: PredictionType? = nil, vae vaeURL: URL? = nil,
                            loras: [LoRAApplication] = [], precision: ComputePrecision = .fp32) throws {
        func load<T>(_ source: TensorSource, _ make: (WeightStore) throws -> T) throws -> T {
            try load(WeightStore(source: source), make)
        }
        func load<T>(_ store: WeightStore, _ make: (WeightStore) throws -> T) throws -> T {
            let model = try make(store)
            try store.finish()
            return model
        }
        let name = ckpt.url.lastPathComponent
        let teStore = WeightStore(source: try ckpt.textSource()), unStore = WeightStore(source: try ckpt.unetSource())
        teStore.keepsTaken = true
        unStore.keepsTaken = true
        teStore.precision = precision
        unStore.precision = precision
        let text = try load(teStore) { try CLIPTextModel(config: ckpt.textConfig, weights: $0, configFile: "\(name) (text encoder)") }
        let unet = try load(unStore) { try UNet2DConditionModel(config: ckpt.unetConfig, weights: $0, configFile: "\(name) (UNet)") }
        let vae: AutoencoderKL
        if let vaeURL {
            vae = try StandaloneVAE.load(vaeURL, precision: precision)
        } else if let config = ckpt.vaeConfig {
            let vaeStore = WeightStore(source: ckpt.vaeSource())
            vaeStore.precision = precision
            vae = try load(vaeStore) { try AutoencoderKL(config: config, weights: $0, configFile: "\(name) (VAE)") }
        } else {
            throw CheckpointError(file: name, reason: "the file holds no VAE (first_stage_model.*); pass one with --vae FILE")
        }
        let used = prediction ?? ckpt.defaultPrediction
        let note: String
        if prediction != nil {
            note = "\(used.shortName) (--prediction)"
        } else if let evidence = ckpt.predictionEvidence {
            note = "\(used.shortName) (stated by the file: \(evidence))"
        } else {
            note = ckpt.version == .v1
                ? "epsilon (SD 1.x default)"
                : "v (SD 2.x default, the 768-v model; pass --prediction epsilon for 512-base models)"
        }
        try self.init(folder: nil, checkpoint: ckpt, url: ckpt.url, name: ckpt.name, tokenizer: try ckpt.tokenizer(),
                      textEncoder: text, unet: unet, vae: vae, vaeReplacement: vaeURL, schedulerConfig: ckpt.schedulerConfig(prediction: used),
                      objectEncoder: nil, preview: nil, predictionNote: note, merger: LoRAMerger(stores: (teStore, unStore)),
                      matrices: (teStore.matrices, unStore.matrices))
        try setLoRAs(loras)
    }

    private init(folder: ModelFolder?, checkpoint: SingleFileCheckpoint?, url: URL, name: String, tokenizer: TextTokenizer,
                 textEncoder: CLIPTextModel, unet: UNet2DConditionModel, vae: AutoencoderKL, vaeReplacement: URL?, schedulerConfig: SchedulerConfig,
                 objectEncoder: ObjectEncoder?, preview: LatentPreview?, predictionNote: String?, merger: LoRAMerger,
                 matrices: (textEncoder: [GEMMWeight], unet: [GEMMWeight])) throws {
        self.folder = folder
        self.matrices = matrices
        self.merger = merger
        self.checkpoint = checkpoint
        modelURL = url
        modelName = name
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.vaeReplacement = vaeReplacement
        if vae.config.latent_channels != unet.config.in_channels {
            throw CheckpointError(file: vaeReplacement?.lastPathComponent ?? "vae",
                                  reason: "the VAE has \(vae.config.latent_channels) latent channels, the UNet takes \(unet.config.in_channels); this VAE does not fit the model")
        }
        self.schedulerConfig = schedulerConfig
        self.objectEncoder = objectEncoder
        self.preview = preview
        self.predictionNote = predictionNote
        if let enc = objectEncoder, enc.config.text_hidden_size != textEncoder.config.hidden_size {
            throw ConfigError(file: "object_encoder/config.json", field: "text_hidden_size",
                              reason: "\(enc.config.text_hidden_size) differs from the text encoder's hidden_size \(textEncoder.config.hidden_size)")
        }
        promptEncoder = PromptEncoder(tokenizer: tokenizer, textEncoder: textEncoder,
                                      placeholder: objectEncoder?.config.placeholder_token ?? "<obj>",
                                      injection: objectEncoder?.injection ?? .inputEmbedding,
                                      slotEmbedding: objectEncoder?.slot_embedding)
    }

    /// LoRAs merged into the UNet and text encoder weights now (Checkpoints/LoRA.swift).
    public var loras: [LoRAApplication] { merger.applied }

    /// Tensors rewritten by LoRA merges since loading: only those a LoRA touched before or after
    /// each change, never a reload of the model (for tests and benchmarks).
    public var loraTensorsRewritten: Int { merger.tensorsRewritten }

    /// Makes `loras` the LoRAs merged into the weights: the tensors the previous or the new set
    /// touches are read again from the model file and the new changes added, in place. Call it
    /// only while no generation runs on this pipeline (`GenerationEngine` does it on its job
    /// thread, before a job whose request names its LoRAs). A LoRA that cannot be read or does
    /// not fit the model throws, naming it, and leaves the weights as they were. Prompt
    /// encodings kept from earlier jobs are dropped when the set changes.
    public func setLoRAs(_ loras: [LoRAApplication]) throws {
        if try merger.apply(loras) { conditioning.removeAll() }
    }

    func setTinyDecoder(_ decoder: AutoencoderTiny?, url: URL?) {
        tinyDecoder = decoder
        tinyDecoderURL = url
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
        guard let enc = objectEncoder else { throw GenerationError.noObjectEncoder(model: modelURL.path) }
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
