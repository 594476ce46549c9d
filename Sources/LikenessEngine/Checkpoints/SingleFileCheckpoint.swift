// A single-file Stable Diffusion 1.x / 2.x checkpoint in the original layout (.safetensors), seen
// as the three diffusers components the engine loads. The architecture is read from keys and
// shapes alone (diffusers' infer_diffusers_model_type tells versions by the same keys):
//   1.x: CLIP-L text encoder under cond_stage_model.transformer.*;
//   2.x: OpenCLIP text encoder under cond_stage_model.model.* (linear transformer projections).
// Configs follow the versions' released diffusers configs, with sizes taken from the tensors:
// UNet heads are 8 per block (1.x) or channels / 64 (2.x); text heads are hidden / 64; the 1.x
// text encoder uses quick_gelu, OpenCLIP gelu; GroupNorm groups 32; VAE scaling 0.18215.
// Prediction: the file's own word where it gives one (safetensors metadata
// `modelspec.prediction_type`, or a `v_pred` marker tensor), else epsilon for 1.x and
// v-prediction for 2.x (diffusers' default for a 2.x file, the 768-v model); the caller may
// override. Tensors stay in the file's mapping until a model takes them.
// Refused with the architecture named: SDXL, SD3, Flux, inpainting (9 input channels) and
// class-conditioned UNets, standalone VAEs, LoRAs; keys that fit no rule are an error naming them.

import Foundation

public enum StableDiffusionVersion: String, Sendable, Equatable {
    case v1 = "SD 1.x"
    case v2 = "SD 2.x"
}

extension PredictionType {
    /// The short name used by --prediction and in messages: "epsilon" or "v".
    public var shortName: String { self == .vPrediction ? "v" : "epsilon" }

    /// Parses --prediction's value: epsilon, eps, v, v_prediction or v-prediction.
    public init?(flag: String) {
        switch flag.lowercased() {
        case "epsilon", "eps": self = .epsilon
        case "v", "v_prediction", "v-prediction": self = .vPrediction
        default: return nil
        }
    }
}

/// Why a single file cannot be used as a model.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
    public var description: String { "\(file): \(reason)" }
}

public final class SingleFileCheckpoint {
    public let url: URL
    public let file: SafeTensorsFile
    public let version: StableDiffusionVersion
    public let unetConfig: UNet2DConditionConfig
    /// Nil when the file holds no VAE (first_stage_model.*): then a standalone VAE must be given.
    public let vaeConfig: AutoencoderKLConfig?
    public let textConfig: CLIPTextConfig
    /// The prediction type the file states, nil when it says nothing.
    public let statedPrediction: PredictionType?
    /// Where `statedPrediction` came from ("metadata modelspec.prediction_type", "tensor v_pred").
    public let predictionEvidence: String?
    /// Whether the file also holds EMA weights (model_ema.*), which are not used (as diffusers by default).
    public let hasEMA: Bool
    let unetMap: [String: MappedTensorSource.Mapping]
    let vaeMap: [String: MappedTensorSource.Mapping]
    let textMap: [String: MappedTensorSource.Mapping]

    /// LatentDiffusion buffers and training-only parts that are not model weights.
    static let ignoredKeys: Set<String> = [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
        "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
        "logvar", "lvlb_weights", "scale_factor", "v_pred",
    ]

    public var name: String { url.deletingPathExtension().lastPathComponent }

    /// Opens `url` and works out its architecture; throws `CheckpointError` naming what does not fit.
    public init(url: URL) throws {
        self.url = url
        let display = url.lastPathComponent
        try Self.refuseNonSafetensors(url)
        let file = try SafeTensorsFile(url: url, displayName: display)
        self.file = file
        let keys = file.names
        func fail(_ reason: String) -> CheckpointError { CheckpointError(file: display, reason: reason) }
        func shape(_ k: String) -> [Int]? { file.entries[k]?.shape }

        try Self.refuseOtherArchitectures(keys: keys, fail: fail)
        let unetPrefix = "model.diffusion_model."
        let clipPrefix = "cond_stage_model.transformer.", openPrefix = "cond_stage_model.model."
        let sdVersion: StableDiffusionVersion
        if keys.contains(where: { $0.hasPrefix(openPrefix) }) {
            sdVersion = .v2
        } else if keys.contains(where: { $0.hasPrefix(clipPrefix) }) {
            sdVersion = .v1
        } else {
            throw fail("no text encoder (neither cond_stage_model.transformer.* for SD 1.x nor cond_stage_model.model.* for SD 2.x); only complete SD 1.x/2.x checkpoints load as --model")
        }
        let vaePrefix = ["first_stage_model.", "vae."].first(where: { p in keys.contains { $0.hasPrefix(p) } })

        // UNet.
        guard let convIn = shape(unetPrefix + "input_blocks.0.0.weight"), convIn.count == 4 else {
            throw fail("missing tensor \(unetPrefix)input_blocks.0.0.weight")
        }
        if convIn[1] == 9 { throw fail("an inpainting checkpoint (UNet with 9 input channels); inpainting is not supported") }
        if keys.contains(where: { $0.hasPrefix(unetPrefix + "label_emb") }) {
            throw fail("a class-conditioned UNet (label_emb: an upscaler or unCLIP model); not supported")
        }
        let unetKeys = keys.filter { $0.hasPrefix(unetPrefix) }.map { String($0.dropFirst(unetPrefix.count)) }
        func blockIndices(_ name: String) -> Set<Int> {
            Set(unetKeys.compactMap { k -> Int? in
                let p = k.split(separator: ".")
                return p.count > 1 && p[0] == Substring(name) ? Int(p[1]) : nil
            })
        }
        let inputCount = (blockIndices("input_blocks").max() ?? 0) + 1
        let downsamplers = blockIndices("input_blocks").filter { shape(unetPrefix + "input_blocks.\($0).0.op.weight") != nil }.count
        let levels = downsamplers + 1
        guard inputCount > levels, (inputCount - 1 - downsamplers) % levels == 0 else {
            throw fail("the UNet's input_blocks (\(inputCount)) do not form levels of equal depth; not an SD 1.x/2.x UNet")
        }
        let lpb = (inputCount - 1 - downsamplers) / levels
        var channels: [Int] = [], attention: [Bool] = []
        for b in 0..<levels {
            let first = 1 + b * (lpb + 1)
            guard let s = shape(unetPrefix + "input_blocks.\(first).0.out_layers.3.weight") else {
                throw fail("missing tensor \(unetPrefix)input_blocks.\(first).0.out_layers.3.weight")
            }
            channels.append(s[0])
            attention.append(shape(unetPrefix + "input_blocks.\(first).1.proj_in.weight") != nil)
        }
        guard let firstAttention = attention.firstIndex(of: true) else { throw fail("the UNet has no cross-attention blocks") }
        let attnPrefix = unetPrefix + "input_blocks.\(1 + firstAttention * (lpb + 1)).1."
        guard let toK = shape(attnPrefix + "transformer_blocks.0.attn2.to_k.weight"), toK.count == 2,
              let projIn = shape(attnPrefix + "proj_in.weight") else {
            throw fail("missing tensor \(attnPrefix)transformer_blocks.0.attn2.to_k.weight")
        }
        let transformerLayers = Set(keys.filter { $0.hasPrefix(attnPrefix + "transformer_blocks.") }.compactMap {
            Int($0.dropFirst((attnPrefix + "transformer_blocks.").count).split(separator: ".").first ?? "")
        }).count
        var u = UNet2DConditionConfig()
        u.in_channels = convIn[1]
        u.out_channels = shape(unetPrefix + "out.2.weight")?.first ?? 4
        u.block_out_channels = channels.map { _ in 0 }
        u.block_out_channels = channels
        u.down_block_types = attention.map { $0 ? "CrossAttnDownBlock2D" : "DownBlock2D" }
        u.up_block_types = attention.reversed().map { $0 ? "CrossAttnUpBlock2D" : "UpBlock2D" }
        u.layers_per_block = .int(lpb)
        u.cross_attention_dim = .int(toK[1])
        u.transformer_layers_per_block = .int(max(1, transformerLayers))
        u.use_linear_projection = projIn.count == 2
        u.attention_head_dim = sdVersion == .v1 ? .int(8) : .list(channels.map { max(1, $0 / 64) })

        // Text encoder.
        var t = CLIPTextConfig()
        var textMap: [String: MappedTensorSource.Mapping] = [:]
        var unmapped: [String] = []
        switch sdVersion {
        case .v1:
            for k in keys where k.hasPrefix(clipPrefix) {
                textMap[String(k.dropFirst(clipPrefix.count))] = .init(k)
            }
            let inner = textMap["text_model.embeddings.token_embedding.weight"] != nil ? "text_model." : ""
            guard let tok = shape(clipPrefix + inner + "embeddings.token_embedding.weight"),
                  let pos = shape(clipPrefix + inner + "embeddings.position_embedding.weight"),
                  let fc1 = shape(clipPrefix + inner + "encoder.layers.0.mlp.fc1.weight") else {
                throw fail("missing tensor \(clipPrefix)text_model.embeddings.token_embedding.weight (or the position embedding or the first layer)")
            }
            let layers = Set(textMap.keys.compactMap { k -> Int? in
                guard k.hasPrefix(inner + "encoder.layers.") else { return nil }
                return Int(k.dropFirst((inner + "encoder.layers.").count).split(separator: ".").first ?? "")
            }).count
            t.vocab_size = tok[0]; t.hidden_size = tok[1]; t.max_position_embeddings = pos[0]
            t.num_hidden_layers = layers; t.intermediate_size = fc1[0]
            t.num_attention_heads = max(1, tok[1] / 64); t.hidden_act = "quick_gelu"; t.projection_dim = 768
        case .v2:
            guard let tok = shape(openPrefix + "token_embedding.weight"),
                  let pos = shape(openPrefix + "positional_embedding"),
                  let fc = shape(openPrefix + "transformer.resblocks.0.mlp.c_fc.weight") else {
                throw fail("missing tensor \(openPrefix)token_embedding.weight (or positional_embedding or the first resblock)")
            }
            let blocks = Set(keys.compactMap { k -> Int? in
                guard k.hasPrefix(openPrefix + "transformer.resblocks.") else { return nil }
                return Int(k.dropFirst((openPrefix + "transformer.resblocks.").count).split(separator: ".").first ?? "")
            })
            guard blocks.count >= 2 else { throw fail("the OpenCLIP text encoder has \(blocks.count) resblocks; SD 2.x needs at least 2") }
            let last = blocks.count - 1
            for k in keys where k.hasPrefix(openPrefix) {
                guard let targets = OriginalLayout.openCLIPNames(String(k.dropFirst(openPrefix.count)), hidden: tok[1], lastBlock: last) else {
                    unmapped.append(k); continue
                }
                for (name, transform) in targets { textMap[name] = .init(k, transform) }
            }
            t.vocab_size = tok[0]; t.hidden_size = tok[1]; t.max_position_embeddings = pos[0]
            t.num_hidden_layers = last; t.intermediate_size = fc[0]
            t.num_attention_heads = max(1, tok[1] / 64); t.hidden_act = "gelu"; t.projection_dim = 512
        }
        textConfig = t
        u.sample_size = 64
        guard u.cross_attention_dim == .int(t.hidden_size) else {
            throw fail("the UNet's cross-attention width \(toK[1]) differs from the text encoder's \(t.hidden_size)")
        }

        // UNet and VAE key maps.
        var unetMap: [String: MappedTensorSource.Mapping] = [:]
        for k in unetKeys {
            guard let name = OriginalLayout.unetName(k, layersPerBlock: lpb) else { unmapped.append(unetPrefix + k); continue }
            unetMap[name] = .init(unetPrefix + k)
        }
        var vaeMap: [String: MappedTensorSource.Mapping] = [:]
        var vaeConfig: AutoencoderKLConfig?
        if let vaePrefix {
            let vaeKeys = keys.filter { $0.hasPrefix(vaePrefix) && !$0.hasPrefix(vaePrefix + "loss.") }
            let layout = try Self.vaeLayout(keys: vaeKeys, prefix: vaePrefix, file: file, fail: fail)
            vaeMap = layout.0
            vaeConfig = layout.1
            unmapped += layout.2
        }
        hasEMA = keys.contains { $0.hasPrefix("model_ema.") }
        let known = Set(unetMap.values.map(\.sourceKey)).union(vaeMap.values.map(\.sourceKey)).union(textMap.values.map(\.sourceKey))
        for k in keys where !known.contains(k) && !unmapped.contains(k) {
            if k.hasPrefix("model_ema.") || (vaePrefix.map { k.hasPrefix($0 + "loss.") } ?? false) || Self.ignoredKeys.contains(k) { continue }
            if k.hasPrefix(openPrefix) { continue }   // the unused last resblock and text_projection
            unmapped.append(k)
        }
        if !unmapped.isEmpty {
            let shown = unmapped.sorted().prefix(8).joined(separator: ", ")
            throw fail("\(unmapped.count) tensor(s) fit no part of an \(sdVersion.rawValue) checkpoint: \(shown)\(unmapped.count > 8 ? ", ..." : "")")
        }
        self.unetMap = unetMap
        self.vaeMap = vaeMap
        self.textMap = textMap
        self.vaeConfig = vaeConfig
        version = sdVersion

        // Prediction type stated by the file.
        if let p = file.metadata["modelspec.prediction_type"] {
            guard let stated = PredictionType(flag: p) else {
                throw fail("metadata modelspec.prediction_type is \"\(p)\"; expected epsilon or v")
            }
            statedPrediction = stated
            predictionEvidence = "metadata modelspec.prediction_type"
        } else if file.entries["v_pred"] != nil {
            statedPrediction = .vPrediction
            predictionEvidence = "tensor v_pred"
        } else {
            statedPrediction = nil
            predictionEvidence = nil
        }
        var unetConfig = u
        unetConfig.sample_size = sdVersion == .v2 && (statedPrediction ?? .vPrediction) == .vPrediction ? 96 : 64
        self.unetConfig = unetConfig
    }

    /// The prediction used when the caller gives none: the file's, else the version's default.
    public var defaultPrediction: PredictionType { statedPrediction ?? (version == .v1 ? .epsilon : .vPrediction) }

    /// The version's released scheduler config (SD 1.5: PNDM; SD 2.1: DDIM), with `prediction`.
    public func schedulerConfig(prediction: PredictionType) -> SchedulerConfig {
        var s = SchedulerConfig()
        s.className = version == .v1 ? "PNDMScheduler" : "DDIMScheduler"
        s.numTrainTimesteps = 1000
        s.betaStart = 0.00085
        s.betaEnd = 0.012
        s.betaSchedule = "scaled_linear"
        s.setAlphaToOne = false
        s.stepsOffset = 1
        s.clipSample = false
        s.predictionType = prediction.rawValue
        return s
    }

    public func unetSource() -> MappedTensorSource {
        MappedTensorSource(file: file, displayName: "\(file.displayName) (UNet, model.diffusion_model.*)", mappings: unetMap)
    }
    public func vaeSource() -> MappedTensorSource {
        MappedTensorSource(file: file, displayName: "\(file.displayName) (VAE, first_stage_model.*)", mappings: vaeMap)
    }
    public func textSource() -> MappedTensorSource {
        MappedTensorSource(file: file, displayName: "\(file.displayName) (text encoder, cond_stage_model.*)", mappings: textMap)
    }

    /// The bundled CLIP tokenizer as the version's tokenizer folder configures it.
    public func tokenizer() throws -> TextTokenizer {
        try BundledCLIPTokenizer.load(padding: version == .v1 ? .endOfText : .exclamationMark)
    }

    // MARK: checks shared with standalone VAE files

    /// Pickle-based checkpoints are refused before anything reads them.
    static func refuseNonSafetensors(_ url: URL) throws {
        let ext = url.pathExtension.lowercased()
        var magic = [UInt8](repeating: 0, count: 4)
        if let h = FileHandle(forReadingAtPath: url.path) {
            let d = h.readData(ofLength: 4)
            try? h.close()
            magic = Array(d) + [UInt8](repeating: 0, count: max(0, 4 - d.count))
        }
        let isZip = magic == [0x50, 0x4B, 0x03, 0x04]
        let isPickle = magic[0] == 0x80 && (2...5).contains(magic[1])
        if ["ckpt", "pt", "pth", "bin", "pkl"].contains(ext) || isZip || isPickle {
            throw CheckpointError(file: url.lastPathComponent, reason: """
                a pickled PyTorch checkpoint (.\(ext.isEmpty ? "?" : ext)). Likeness never unpickles files: loading a pickle can run \
                any code hidden in it. Convert it once to .safetensors with a tool you trust, e.g. in Python with torch and safetensors:
                  import torch, safetensors.torch
                  sd = torch.load("model.ckpt", map_location="cpu", weights_only=True); sd = sd.get("state_dict", sd)
                  safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items() if isinstance(v, torch.Tensor)}, "model.safetensors")
                then pass model.safetensors
                """)
        }
    }

    static func refuseOtherArchitectures(keys: [String], fail: (String) -> CheckpointError) throws {
        func any(_ p: String) -> Bool { keys.contains { $0.hasPrefix(p) } }
        if any("conditioner.embedders.") {
            throw fail("a Stable Diffusion XL checkpoint (conditioner.embedders.*); only SD 1.x and 2.x are supported")
        }
        if any("text_encoders.") || any("model.diffusion_model.joint_blocks.") {
            throw fail("a Stable Diffusion 3 checkpoint (joint_blocks); only SD 1.x and 2.x are supported")
        }
        if any("model.diffusion_model.double_blocks.") || any("double_blocks.") {
            throw fail("a Flux checkpoint (double_blocks); only SD 1.x and 2.x are supported")
        }
        if any("lora_unet_") || any("lora_te") || keys.contains(where: { $0.contains(".lora_A.") || $0.contains(".lora_down.") }) {
            throw fail("a LoRA, not a model; LoRA files are not supported yet")
        }
        if !any("model.diffusion_model.") {
            if any("encoder.down.") || any("encoder.down_blocks.") || any("first_stage_model.") {
                throw fail("a standalone VAE, not a model; pass it with --vae")
            }
            if any("down_blocks.") { throw fail("a diffusers UNet file, not a single-file checkpoint; pass the model's folder") }
            throw fail("not a Stable Diffusion checkpoint (no model.diffusion_model.* tensors; first keys: \(keys.prefix(3).joined(separator: ", ")))")
        }
    }

    /// Maps VAE keys in the original layout (without `prefix`) and derives the AutoencoderKL config from their shapes.
    static func vaeLayout(keys: [String], prefix: String, file: SafeTensorsFile, fail: (String) -> CheckpointError)
        throws -> ([String: MappedTensorSource.Mapping], AutoencoderKLConfig, [String]) {
        func shape(_ k: String) -> [Int]? { file.entries[prefix + k]?.shape }
        let inner = keys.map { String($0.dropFirst(prefix.count)) }
        func levels(_ head: String) -> Set<Int> {
            Set(inner.compactMap { k -> Int? in
                guard k.hasPrefix(head) else { return nil }
                return Int(k.dropFirst(head.count).split(separator: ".").first ?? "")
            })
        }
        let down = levels("encoder.down."), up = levels("decoder.up.")
        guard !down.isEmpty, down.count == up.count, down == Set(0..<down.count) else {
            throw fail("the VAE's encoder.down.* (\(down.count)) and decoder.up.* (\(up.count)) levels do not match an AutoencoderKL")
        }
        var channels: [Int] = []
        for i in 0..<down.count {
            guard let s = shape("encoder.down.\(i).block.0.conv1.weight") else { throw fail("missing tensor \(prefix)encoder.down.\(i).block.0.conv1.weight") }
            channels.append(s[0])
        }
        let c = try AutoencoderKLConfig(inferredFrom: shape, channels: channels,
                                        layersPerBlock: levels("encoder.down.0.block.").count,
                                        midAttention: inner.contains { $0.hasPrefix("encoder.mid.attn_1.") },
                                        missing: { fail("missing tensor \(prefix)encoder.conv_in.weight or decoder.conv_in / conv_out") })
        var map: [String: MappedTensorSource.Mapping] = [:]
        var unmapped: [String] = []
        for k in inner {
            guard let s = shape(k), let (name, transform) = OriginalLayout.vaeName(k, upBlocks: up.count, shape: s) else {
                unmapped.append(prefix + k); continue
            }
            map[name] = .init(prefix + k, transform)
        }
        return (map, c, unmapped)
    }
}
