import ArgumentParser
import Foundation
import LikenessStudio

struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "The terminal studio: object gallery, prompt editor, settings, live previews, seeds side by side.")

    @Option(help: "A model folder (diffusers Stable Diffusion layout) or a single-file SD 1.x/2.x .safetensors checkpoint (docs/FORMAT.md).")
    var model: String = "Models/toybox"
    @Option(help: "A standalone VAE replacing the model's own: a .safetensors file (original or diffusers layout) or a diffusers VAE folder.")
    var vae: String?
    @Option(help: "A single file's prediction type, epsilon or v (default: what the file states, else epsilon for SD 1.x and v for SD 2.x).")
    var prediction: String?
    @Option(help: "The LoRA folder: F5 lists its .safetensors files, <lora:NAME:W> tags in the prompt are looked up there (default: $XDG_DATA_HOME/likeness/loras).")
    var loras: String?
    @Option(help: "The object gallery folder (default: $XDG_DATA_HOME/likeness/objects).")
    var gallery: String?
    @Option(help: "Where finished images are kept (default: $XDG_DATA_HOME/likeness/outputs).")
    var outputs: String?
    @Option(help: "Preview: auto, kitty, sixel, halfblock, halfblock256 or ascii.")
    var preview: String = "auto"
    @Option(help: "Colour theme: a name from Themes/ (dark, light, high-contrast) or your themes folder.")
    var theme: String?
    @Option(help: "Compute threads for generation (default: all cores).")
    var threads: Int?
    @Option(help: "The compute precision of the text encoder, UNet and VAE: fp32 (exact) or bf16 (bfloat16 weights, half the memory; bfloat16 products on AVX512-BF16, float32 products on AVX2-only CPUs). Default: bf16 where the CPU has AVX512-BF16, else fp32.")
    var precision: String?

    func run() throws {
        let status = StudioApp.run(StudioOptions(model: model, gallery: gallery, outputs: outputs, preview: preview,
                                                 theme: theme, threads: threads, prediction: prediction, vae: vae, loras: loras,
                                                 precision: precision))
        if status != 0 { throw ExitCode(status) }
    }
}
