import ArgumentParser
import Foundation
import LikenessEngine

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a model folder's components, parameter counts, dtypes, tokenizer and scheduler, and check that it loads.")

    @Option(name: .long, help: "A model folder (diffusers Stable Diffusion layout) or a single-file SD 1.x/2.x .safetensors checkpoint (docs/FORMAT.md).")
    var model: String = "Models/toybox"
    @Argument(help: "The model folder or single file (same as --model).")
    var path: String?
    @Option(help: "A single file's prediction type, epsilon or v (default: what the file states, else the version's).")
    var prediction: String?

    func run() throws {
        let model = path ?? model
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDir), !isDir.boolValue {
            describeSingleFile(model)
            return
        }
        if prediction != nil { fail("--prediction applies to single-file checkpoints; a model folder's scheduler config states it") }
        let info: ModelInfo
        do {
            info = try ModelInfo.inspect(folder: URL(fileURLWithPath: model))
        } catch {
            fail("\(error)")
        }
        // Headers and configs alone miss malformed configs and missing or wrong-shaped tensors:
        // load every component exactly as generation does.
        do { _ = try LikenessPipeline(folder: URL(fileURLWithPath: model)) } catch {
            fail("\(model) does not load: \(error)")
        }
        print("model \(info.folder.path)")
        for c in info.components {
            let dtypes = c.dtypes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
            print("  \(c.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(c.className.padding(toLength: 28, withPad: " ", startingAt: 0)) \(formatCount(c.parameterCount).padding(toLength: 8, withPad: " ", startingAt: 0)) params  \(dtypes)  (\(c.weightFile))")
        }
        print("  tokenizer       \(info.tokenizerKind), max length \(info.modelMaxLength)")
        let s = info.scheduler
        print("  scheduler       \(s.className ?? "?"): \(s.betaSchedule ?? "linear") betas, \(s.timestepSpacing ?? "leading") spacing, steps_offset \(s.stepsOffset ?? 0), \(s.predictionType ?? "epsilon")")
        print("  object encoder  \(info.hasObjectEncoder ? "yes: prompts may use <obj>" : "no: text only")")
        print("  latent preview  \(info.hasLatentPreview ? "preview/latent_rgb.json" : "none (previews decode with the VAE)")")
        print("  check           every component loads (configs, tensor names and shapes)")
    }
}

extension InfoCommand {
    /// `likeness info FILE`: what the single file holds, as the engine reads it, after loading every component.
    func describeSingleFile(_ path: String) {
        let pipeline = loadPipeline(path, prediction: prediction)
        guard let ckpt = pipeline.checkpoint else { return }
        print("model \(ckpt.url.path)")
        print("  format          single file, \(ckpt.version.rawValue) original layout (\(ckpt.file.entries.count) tensors)")
        let parts: [(String, String, [String: MappedTensorSource.Mapping], String)] = [
            ("unet", "UNet2DConditionModel", ckpt.unetSource().mappings, "model.diffusion_model.*"),
            ("vae", "AutoencoderKL", ckpt.vaeSource().mappings, "first_stage_model.*"),
            ("text_encoder", ckpt.version == .v1 ? "CLIPTextModel (CLIP-L)" : "CLIPTextModel (OpenCLIP)", ckpt.textSource().mappings,
             ckpt.version == .v1 ? "cond_stage_model.transformer.*" : "cond_stage_model.model.*"),
        ]
        for (name, cls, map, origin) in parts {
            var dtypes: [String: Int] = [:]
            var params = 0
            for key in Set(map.values.map(\.sourceKey)) {
                guard let e = ckpt.file.entries[key] else { continue }
                dtypes[e.dtype.name, default: 0] += 1
                params += e.shape.reduce(1, *)
            }
            let d = dtypes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
            print("  \(name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(cls.padding(toLength: 28, withPad: " ", startingAt: 0)) \(formatCount(params).padding(toLength: 8, withPad: " ", startingAt: 0)) params  \(d)  (\(origin))")
        }
        let u = pipeline.unet.config
        print("  unet config     block_out_channels \(u.block_out_channels), layers_per_block \(u.layers_per_block.expanded(1)?.first ?? 0), cross_attention_dim \(u.cross_attention_dim.expanded(1)?.first ?? 0), \(u.use_linear_projection ? "linear" : "conv") projections")
        if ckpt.hasEMA { print("  ema             model_ema.* present, not used (as diffusers' from_single_file)") }
        print("  tokenizer       CLIP BPE bundled with Likeness, max length \(pipeline.tokenizer.modelMaxLength)\(ckpt.version == .v2 ? ", padded with \"!\" as SD 2.x" : "")")
        let s = pipeline.schedulerConfig
        print("  scheduler       \(s.className ?? "?"): \(s.betaSchedule ?? "linear") betas, steps_offset \(s.stepsOffset ?? 0) (the \(ckpt.version.rawValue) release's config)")
        print("  prediction      \(pipeline.predictionNote ?? "?")")
        print("  default size    \(pipeline.defaultSize)x\(pipeline.defaultSize)")
        print("  object encoder  no: text only")
        print("  check           every component loads (tensor names and shapes)")
    }
}

func formatCount(_ n: Int) -> String {
    if n >= 1_000_000_000 { return String(format: "%.2fB", Double(n) / 1e9) }
    if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
    if n >= 1_000 { return String(format: "%.1fK", Double(n) / 1e3) }
    return "\(n)"
}
