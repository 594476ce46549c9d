import ArgumentParser
import Foundation
import LikenessEngine
import LikenessImaging

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate one image from a prompt, optionally with your object (<obj>).")

    @Option(help: "A model folder (diffusers Stable Diffusion layout, docs/FORMAT.md).")
    var model: String = "Models/toybox"
    @Option(help: "The prompt; with --object, write <obj> where the object goes.")
    var prompt: String
    @Option(name: .customLong("negative-prompt"), help: "What to steer away from.")
    var negativePrompt: String = ""
    @Option(help: "A reference image of your object (PNG or JPEG).")
    var object: String?
    @Option(help: "Sampling steps.")
    var steps: Int = 25
    @Option(help: "Text guidance scale (s_text).")
    var guidance: Float = 5.0
    @Option(name: .customLong("identity-guidance"), help: "Identity guidance scale (s_id): likeness against prompt control.")
    var identityGuidance: Float = 3.0
    @Option(help: "Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var sampler: String = "ddim"
    @Flag(help: "Karras sigmas (euler, dpmpp-2m).")
    var karras = false
    @Option(help: "Random seed (PyTorch-exact: the same latents as torch.Generator(\"cpu\").manual_seed(seed)).")
    var seed: UInt64 = 0
    @Option(help: "Width in pixels (default: the model's size).")
    var width: Int?
    @Option(help: "Height in pixels (default: the model's size).")
    var height: Int?
    @Option(name: .customLong("latents-in"), help: "Initial noise from a safetensors file (tensor 'latents', [1, C, h, w]).")
    var latentsIn: String?
    @Flag(help: "Cut an over-long prompt instead of failing.")
    var truncate = false
    @Flag(name: .customLong("allow-unknown-words"), help: "Map words outside the vocabulary to the unknown token instead of failing.")
    var allowUnknownWords = false
    @Option(help: "Output PNG path.")
    var output: String

    func run() throws {
        let samplerKind: SamplerKind
        do { samplerKind = try SamplerKind(parsing: sampler) } catch { fail("\(error)") }
        guard steps > 0 else { fail("--steps must be at least 1, got \(steps)") }
        let outURL = URL(fileURLWithPath: output)
        guard outURL.pathExtension.lowercased() == "png" else { fail("--output must be a .png file, got \(output)") }

        let pipeline: LikenessPipeline
        do { pipeline = try LikenessPipeline(folder: URL(fileURLWithPath: model)) } catch { fail("\(error)") }

        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negativePrompt
        request.seed = seed
        request.steps = steps
        request.textGuidance = guidance
        request.identityGuidance = identityGuidance
        request.sampler = samplerKind
        request.karras = karras
        request.width = width
        request.height = height
        request.allowTruncation = truncate
        request.allowUnknownWords = allowUnknownWords
        request.previewEvery = 0
        if let object {
            do { request.objectTokens = try pipeline.encodeObject(pixels: referencePixels(object, pipeline: pipeline)) } catch {
                fail("\(error)")
            }
        }
        if let latentsIn {
            do {
                let file = try SafeTensorsFile(url: URL(fileURLWithPath: latentsIn))
                guard file.entries["latents"] != nil else {
                    fail("\(latentsIn): no tensor named 'latents' (found: \(file.names.joined(separator: ", ")))")
                }
                request.initialNoise = try file.tensor(named: "latents")
            } catch { fail("\(error)") }
        }

        let engine = GenerationEngine(pipeline: pipeline)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        let box = ResultBox()
        let job = engine.submit(request) { event in
            switch event {
            case .step(let s): progress.update(step: s.step, total: s.total, elapsed: s.elapsed)
            case .finished(let r): box.set(.success(r))
            case .cancelled(let n): box.set(.failure(CLIError("cancelled after step \(n); nothing was written")))
            case .failed(let message): box.set(.failure(CLIError(message)))
            }
        }
        let interrupt = InterruptHandler { job.cancel() }
        job.wait()
        interrupt.stop()
        progress.finish()
        switch box.get() {
        case .success(let result):
            for w in result.warnings { FileHandle.standardError.write(Data("likeness: warning: \(w)\n".utf8)) }
            let image: RGBImage
            do {
                image = try RGBImage(width: result.pixels.width, height: result.pixels.height, pixels: result.pixels.bytes)
                try image.write(to: outURL, text: [("parameters", parameters(result, pipeline: pipeline))])
            } catch { fail("\(error)") }
            print("wrote \(outURL.path) (\(result.pixels.width)x\(result.pixels.height), \(String(format: "%.1f", result.elapsed)) s)")
        case .failure(let error):
            if interrupt.fired { FileHandle.standardError.write(Data("likeness: \(error)\n".utf8)); Foundation.exit(130) }
            fail("\(error)")
        case .none:
            fail("the engine ended without a result")
        }
    }

    func parameters(_ r: GenerationResult, pipeline: LikenessPipeline) -> String {
        var lines = [
            "prompt: \(r.request.prompt)",
            "negative prompt: \(r.request.negativePrompt)",
            "steps: \(r.request.steps)",
            "sampler: \(r.request.sampler.rawValue)\(r.request.karras ? " karras" : "")",
            "guidance: \(r.request.textGuidance)",
            "seed: \(r.request.seed)",
            "size: \(r.pixels.width)x\(r.pixels.height)",
            "model: \(pipeline.folder.name)",
        ]
        if let object {
            lines.append("identity guidance: \(r.request.identityGuidance)")
            lines.append("object: \(URL(fileURLWithPath: object).lastPathComponent)")
        }
        if let latentsIn { lines.append("latents: \(URL(fileURLWithPath: latentsIn).lastPathComponent)") }
        return lines.joined(separator: "\n")
    }
}

/// Loads a reference image, centre-crops it square and resizes it to the object encoder's size:
/// [1, 3, S, S] in [0, 1].
func referencePixels(_ path: String, pipeline: LikenessPipeline) throws -> Tensor {
    guard let size = pipeline.objectImageSize else { throw GenerationError.noObjectEncoder(model: pipeline.folder.url.path) }
    var image = try RGBImage(contentsOf: URL(fileURLWithPath: path)).centerCroppedSquare()
    if image.width != size { image = try image.resized(width: size, height: size, filter: .automatic) }
    guard let t = Tensor(shape: [1, 3, size, size], storage: image.toCHWFloats(range: .zeroToOne)) else {
        throw CLIError("\(path): could not convert the image")
    }
    return t
}
