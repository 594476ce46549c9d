import ArgumentParser
import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from a prompt, optionally with your object (<obj>), or again from an image's parameters.")

    @Option(help: "A model folder (diffusers Stable Diffusion layout) or a single-file SD 1.x/2.x .safetensors checkpoint (docs/FORMAT.md).")
    var model: String = "Models/toybox"
    @Option(help: "A standalone VAE replacing the model's own: a .safetensors file (original or diffusers layout) or a diffusers VAE folder.")
    var vae: String?
    @Option(help: "What decodes the final image: full (the VAE), tiny (a TAESD folder named taesd beside the model or in $XDG_DATA_HOME/likeness/decoders), or PATH (a diffusers AutoencoderTiny folder or .safetensors file). Default: full, or tiny when --from's image was decoded by one.")
    var decoder: String?
    @Option(name: .customLong("lora"), help: "A LoRA file merged at a weight, FILE.safetensors[:WEIGHT] (default weight 1); repeat for several. Prompts may also name LoRAs as <lora:NAME:WEIGHT>.")
    var loraFiles: [String] = []
    @Option(help: "The folder <lora:NAME:W> tags are looked up in (NAME.safetensors; default: $XDG_DATA_HOME/likeness/loras).")
    var loras: String?
    @Option(help: "A single file's prediction type, epsilon or v (default: what the file states, else epsilon for SD 1.x and v for SD 2.x).")
    var prediction: String?
    @Option(help: "The prompt; with --object, write <obj> where the object goes.")
    var prompt: String?
    @Option(name: .customLong("negative-prompt"), help: "What to steer away from.")
    var negativePrompt: String?
    @Option(help: "A saved object's name (see `likeness objects`), or the path of a reference image (PNG or JPEG) to encode; an existing file wins over a name.")
    var object: String?
    @Option(help: "The object gallery (default: $XDG_DATA_HOME/likeness/objects).")
    var gallery: String?
    @Option(help: "Sampling steps (default 25).")
    var steps: Int?
    @Option(help: "Text guidance scale s_text (default 5).")
    var guidance: Float?
    @Option(name: .customLong("identity-guidance"), help: "Identity guidance scale s_id: likeness against prompt control (default 3).")
    var identityGuidance: Float?
    @Option(help: "Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")) (default ddim; lcm where the model's scheduler config is LCMScheduler).")
    var sampler: String?
    @Flag(inversion: .prefixedNo, help: "Karras sigmas (euler, dpmpp-2m); default: the scheduler config's choice.")
    var karras: Bool?
    @Option(parsing: .unconditional, help: "Random seed, PyTorch-exact; -1 draws a random one (recorded in the PNG).")
    var seed: String?
    @Option(parsing: .unconditional, help: "Several seeds in one batch: 1,2,3,4 or 7+4 (= 7,8,9,10); writes OUT-SEED.png each.")
    var seeds: String?
    @Flag(help: "Also write one grid PNG of all seeds, each labelled with its seed.")
    var grid = false
    @Option(help: "Width in pixels (default: the model's size).")
    var width: Int?
    @Option(help: "Height in pixels (default: the model's size).")
    var height: Int?
    @Option(name: .customLong("init"), help: "Image-to-image: start from this image (PNG or JPEG) instead of noise. An image of another size or aspect is stretched to the generation's size (A1111's \"Just resize\"), with a note.")
    var initImage: String?
    @Option(parsing: .unconditional, help: "With --init: how far the init image is noised, from 0 (kept) to 1 (all noise); the last steps x strength steps run; with --sampler lcm on an LCM-distilled model all steps run, from the first original_inference_steps x strength distillation timesteps, as diffusers' LCM img2img pipeline (default 0.75, or --from's Denoising strength).")
    var strength: Float?
    @Option(name: .customLong("latents-in"), help: "Initial noise from a safetensors file (tensor 'latents', [N, C, h, w]).")
    var latentsIn: String?
    @Flag(help: "With --no-emphasis: cut an over-long prompt instead of failing.")
    var truncate = false
    @Flag(name: .customLong("no-emphasis"), help: "Read the prompt as diffusers does: brackets are text, one window of the text encoder (too long: an error, or --truncate). Default: A1111 emphasis (a:1.3), (a), [a], BREAK, and long prompts in 75-token chunks.")
    var noEmphasis = false
    @Flag(name: .customLong("allow-unknown-words"), help: "Map words outside the vocabulary to the unknown token instead of failing.")
    var allowUnknownWords = false
    @Option(help: "Regenerate from an image's parameters (PNG, JPEG or WebP from Likeness, AUTOMATIC1111, Fooocus, ComfyUI, InvokeAI or NovelAI); other options given override them.")
    var from: String?
    @Option(help: "Compute threads (default: the engine's choice).")
    var threads: Int?
    @Option(help: "The compute precision of the text encoder, UNet and VAE: fp32 (exact) or bf16 (bfloat16 weights: half the weight memory; on AVX512-BF16 also bfloat16 products, about twice as fast; on CPUs with AVX2 only, products in float32, about 1.2x fp32's time). Default: bf16 where the CPU has AVX512-BF16, else fp32.")
    var precision: String?
    @Option(help: "Output PNG path (default: a new numbered file in the outputs folder).")
    var output: String?
    @Option(help: "The outputs folder used without --output (default: $XDG_DATA_HOME/likeness/outputs).")
    var outputs: String?

    func run() throws {
        // --from's values, then the flags over them, then the engine request: one spec throughout.
        let recalled = from.map(recall)
        var spec = recalled ?? GenerationSpec(prompt: "")
        spec.merge(flags)
        if let prompt { spec.prompt = prompt }
        if let negativePrompt { spec.negativePrompt = negativePrompt }
        var request = GenerationRequest(prompt: "")
        spec.apply(to: &request)
        let recalledObject = recalled?.object.map { (name: $0, hash: recalled?.objectHash) }
        try applyOptions(to: &request)
        guard !request.prompt.isEmpty || prompt != nil else { fail("--prompt is required (or --from IMAGE)") }
        guard request.steps > 0 else { fail("--steps must be at least 1, got \(request.steps)") }
        if let threads, threads < 1 { fail("--threads must be at least 1, got \(threads)") }
        if let output, URL(fileURLWithPath: output).pathExtension.lowercased() != "png" {
            fail("--output must be a .png file, got \(output)")
        }

        // LoRAs: --lora files, then <lora:NAME:W> tags, which the text encoder does not see.
        let writtenPrompt: String
        let applications: [LoRAApplication]
        do {
            let (stripped, tags) = try LoRATags.extract(from: request.prompt)
            let folder = loras.map { URL(fileURLWithPath: $0) } ?? LikenessPaths().loras
            var apps = loraFiles.map(Self.loraOption)
            for t in tags { apps.append(LoRAApplication(url: try LoRATags.resolve(t.name, in: folder), weight: t.weight ?? 1)) }
            applications = apps
            // As A1111 records them: the tags stay in the written prompt (--lora files added as tags).
            writtenPrompt = request.prompt + apps.prefix(loraFiles.count).map { " <lora:\($0.name):\(GenerationSpec.number($0.weight))>" }.joined()
            request.prompt = stripped
        } catch { fail("\(error)") }
        let pipeline = loadPipeline(model, prediction: prediction, vae: vae, loras: applications,
                                    precision: spec.resolvedPrecision)
        // One job: the text encoder's and the UNet's weights are given back once used, so the UNet's are not
        // resident while the VAE decodes.
        pipeline.weightResidency = .releaseAfterUse
        // No sampler chosen: the one the folder's scheduler config names (LCMScheduler -> lcm).
        if spec.sampler == nil, let folderSampler = pipeline.folderSampler { request.sampler = folderSampler }
        var identity: ModelIdentity
        do {
            identity = try ModelIdentity(folder: pipeline.modelURL, cache: FingerprintCache())
            identity.vae = try pipeline.vaeReplacement.map { try VAEIdentity(url: $0, cache: FingerprintCache()) }
        } catch { fail("\(error)") }
        if let from, let recalled {
            for m in recalled.mismatches(model: identity) { warn("\(from): cannot honour \(m)") }
        }
        let objectLabel = resolveObject(recalled: recalledObject, into: &request, pipeline: pipeline, identity: identity)
        if let latentsIn { request.initialNoise = readLatents(latentsIn) }
        if let initImage { request.initImage = readInitImage(initImage, request: request, pipeline: pipeline) }
        let tinyName = attachDecoder(recalled: recalled, to: &request, pipeline: pipeline)
        request.previewEvery = 0
        request.preview = .none

        let result = runJob(request, pipeline: pipeline)
        for w in result.warnings { warn(w) }
        var loraHashes: [String] = []
        do {
            for a in applications { loraHashes.append("\(a.name): \(try LoRATags.shortHash(of: a.url))") }
        } catch { fail("\(error)") }
        writeImages(result, identity: identity, object: objectLabel, prompt: writtenPrompt, loraHashes: loraHashes,
                    tinyDecoder: tinyName)
    }

    /// --decoder (or --from's `Decoder`): attaches the tiny decoder and returns the name recorded.
    private func attachDecoder(recalled: GenerationSpec?, to request: inout GenerationRequest, pipeline: LikenessPipeline) -> String? {
        let choice = decoder ?? (recalled?.decoder != nil ? "tiny" : "full")
        guard choice != "full" else { request.decoder = .full; return nil }
        let url: URL
        if choice == "tiny" {
            guard let found = TinyDecoderSearch.find(model: pipeline.modelURL) else {
                fail((decoder == nil ? "\(from ?? "--from"): the image was decoded by the tiny decoder \(recalled?.decoder ?? ""), but " : "")
                     + TinyDecoderSearch.notFound(model: pipeline.modelURL) + (decoder == nil ? " (or --decoder full)" : ""))
            }
            url = found
        } else {
            url = URL(fileURLWithPath: choice)
        }
        do { try pipeline.attachTinyDecoder(url) } catch { fail("--decoder \(choice): \(error)") }
        request.decoder = .tiny
        return url.lastPathComponent
    }

    /// `FILE[:WEIGHT]` of --lora.
    static func loraOption(_ text: String) -> LoRAApplication {
        if let colon = text.lastIndex(of: ":"), let w = Float(text[text.index(after: colon)...]), w.isFinite {
            return LoRAApplication(url: URL(fileURLWithPath: String(text[..<colon])), weight: w)
        }
        return LoRAApplication(url: URL(fileURLWithPath: text), weight: 1)
    }

    /// Reads --from's parameters (any tool's image), reporting what cannot be honoured.
    private func recall(_ path: String) -> GenerationSpec {
        let read: ImageParameters
        do { read = try ImageParameters.read(from: URL(fileURLWithPath: path)) } catch { fail("\(error)") }
        let (spec, unsupported) = GenerationSpec.from(read)
        for note in read.notes { warn("\(path): \(note)") }
        // <lora:NAME:W> tags (and A1111's Lora hashes beside them) are honoured here: the tags stay
        // in the prompt and are applied from the LoRA folder.
        // With --init, the recorded Denoising strength is honoured.
        for item in unsupported where item.key != "LoRA" && item.key != "Lora hashes"
            && !(initImage != nil && item.key == "Denoising strength" && spec.strength != nil) {
            warn("\(path): cannot honour \(item)")
        }
        return spec
    }

    /// The generation flags as a spec: the CLI's one mapping to the shared configuration (flags
    /// left out stay unrecorded, so --from's values or the defaults hold).
    var flags: GenerationSpec {
        var f = GenerationSpec(prompt: "")
        f.steps = steps
        f.textGuidance = guidance
        f.identityGuidance = identityGuidance
        if let sampler {
            do { f.sampler = try SamplerKind(parsing: sampler) } catch { fail("\(error)") }
        }
        f.karras = karras
        f.width = width
        f.height = height
        if let strength {
            guard strength.isFinite, (0...1).contains(strength) else {
                fail("--strength must be a number from 0 to 1 (how far the init image is noised), got \(strength)")
            }
            guard initImage != nil else { fail("--strength needs --init IMAGE, the image to start from") }
            f.strength = strength
        }
        if let precision {
            guard let p = ComputePrecision(name: precision) else { fail("--precision must be fp32 or bf16, got \(precision)") }
            f.precision = p
        }
        return f
    }

    /// The options that are not generation values (seed lists, checks, prompt handling).
    private func applyOptions(to request: inout GenerationRequest) throws {
        if request.karras == true && !request.sampler.supportsKarrasSigmas {
            fail("sampler \(request.sampler) has no Karras sigmas; use euler or dpmpp-2m with --karras")
        }
        if seed != nil && seeds != nil { fail("give either --seed or --seeds, not both") }
        do {
            if let seed {
                let list = try SeedList.parse(seed)
                guard list.count == 1 else { fail("--seed takes one seed (or -1); use --seeds for several") }
                request.seeds = list
            }
            if let seeds { request.seeds = try SeedList.parse(seeds) }
        } catch { fail("\(error)") }
        if grid && request.seeds.count < 2 && seeds == nil { fail("--grid needs several seeds (--seeds 1,2,3,4 or 7+4)") }
        request.allowTruncation = truncate
        if noEmphasis { request.emphasis = false }
        request.allowUnknownWords = allowUnknownWords
    }

    /// --init: the image at the request's size (stretched as A1111 does, said on stderr).
    private func readInitImage(_ path: String, request: GenerationRequest, pipeline: LikenessPipeline) -> Tensor {
        if latentsIn != nil { fail("give either --init or --latents-in, not both") }
        let width = request.width ?? pipeline.defaultSize, height = request.height ?? pipeline.defaultSize
        do {
            let image = try InitImage(contentsOf: URL(fileURLWithPath: path))
            if let note = image.resizeNote(width: width, height: height) { warn(note) }
            return try image.pixels(width: width, height: height)
        } catch { fail("--init \(path): \(error)") }
    }

    private func readLatents(_ path: String) -> Tensor {
        do {
            let file = try SafeTensorsFile(url: URL(fileURLWithPath: path))
            guard file.entries["latents"] != nil else {
                fail("\(path): no tensor named 'latents' (found: \(file.names.joined(separator: ", ")))")
            }
            return try file.tensor(named: "latents")
        } catch { fail("\(error)") }
    }

    private func runJob(_ request: GenerationRequest, pipeline: LikenessPipeline) -> GenerationResult {
        let engine = GenerationEngine(pipeline: pipeline, threads: threads)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        let box = ResultBox()
        let job = engine.submit(request) { event in
            switch event {
            case .step(let s): progress.update(step: s.step, total: s.total, elapsed: s.elapsed)
            case .finished(let r): box.set(.success(r))
            case .cancelled(let n): box.set(.failure(CLIError("cancelled after step \(n); nothing was written")))
            case .failed(let error): box.set(.failure(CLIError(error.description)))
            case .queued, .started: break
            }
        }
        let interrupt = InterruptHandler { job.cancel() }
        job.wait()
        interrupt.stop()
        progress.finish()
        switch box.get() {
        case .success(let result): return result
        case .failure(let error):
            if interrupt.fired { FileHandle.standardError.write(Data("likeness: \(error)\n".utf8)); Foundation.exit(130) }
            fail("\(error)")
        case .none: fail("the engine ended without a result")
        }
    }
}
