import ArgumentParser
import Foundation
import LikenessEngine

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a model folder's components, parameter counts, dtypes, tokenizer and scheduler, and check that it loads.")

    @Option(name: .long, help: "A model folder (diffusers Stable Diffusion layout, docs/FORMAT.md).")
    var model: String = "Models/toybox"

    func run() throws {
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

func formatCount(_ n: Int) -> String {
    if n >= 1_000_000_000 { return String(format: "%.2fB", Double(n) / 1e9) }
    if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
    if n >= 1_000 { return String(format: "%.1fK", Double(n) / 1e3) }
    return "\(n)"
}
