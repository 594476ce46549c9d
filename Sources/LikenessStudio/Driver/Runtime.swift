// Carries out the effects `update` asks for: engine jobs (submit, cancel), the prompt check, and
// file work through LikenessKit (FileWork.swift). Results come back as messages in the mailbox.
// Called on the UI thread only; slow work goes to the engine's thread or a utility queue.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

public final class StudioRuntime {
    let engine: GenerationEngine
    let pipeline: LikenessPipeline
    let identity: ModelIdentity?
    let gallery: ObjectGallery
    let outputs: OutputStore
    let paths: LikenessPaths
    let mailbox: Mailbox
    let samples: URL?
    let promptHistory: PromptHistory
    /// Where `<lora:NAME:W>` tags are looked up (--loras, else $XDG_DATA_HOME/likeness/loras).
    let loraFolder: URL
    let files = DispatchQueue(label: "likeness.studio.files", qos: .utility)
    private var jobs: [Int: [GenerationJob]] = [:]
    /// Object tokens by gallery name (UI thread only); dropped when the object changes.
    private var tokenCache: [String: ObjectTokens] = [:]

    public init(engine: GenerationEngine, identity: ModelIdentity?, gallery: ObjectGallery, outputs: OutputStore,
                paths: LikenessPaths, mailbox: Mailbox, samples: URL?, loraFolder: URL? = nil) {
        self.engine = engine
        self.pipeline = engine.pipeline
        self.identity = identity
        self.gallery = gallery
        self.outputs = outputs
        self.paths = paths
        self.mailbox = mailbox
        self.samples = samples
        self.promptHistory = PromptHistory(file: paths.promptHistory)
        self.loraFolder = loraFolder ?? paths.loras
    }

    public static func facts(_ p: LikenessPipeline) -> ModelFacts {
        ModelFacts(name: p.modelName, defaultSize: p.defaultSize, sizeMultiple: p.sizeMultiple,
                   maxSide: LikenessPipeline.maxImageSide, maxTokens: p.promptEncoder.maxLength,
                   placeholder: p.promptEncoder.placeholder, hasObjectEncoder: p.objectEncoder != nil,
                   vaeFactor: p.vaeFactor, hasLatentPreview: p.preview != nil, hasTinyDecoder: p.tinyDecoder != nil)
    }

    /// The engine's preview kind for a planned preview quality (`auto` is never planned).
    static func previewKind(_ q: PreviewQuality) -> PreviewKind {
        switch q {
        case .latent: return .latent
        case .tiny: return .tiny
        case .decode, .auto: return .decode
        }
    }

    public func perform(_ effects: [Effect]) {
        for e in effects { perform(e) }
    }

    public func perform(_ effect: Effect) {
        switch effect {
        case .generate(let plan): submit(plan)
        case .cancel(let run):
            for job in jobs[run] ?? [] { job.cancel() }
        case let .checkPrompt(prompt, negative, object):
            mailbox.post(.promptChecked(checkPrompt(prompt, negative: negative, object: object)))
        case .loadGallery: loadGallery(addSamplesWhenEmpty: true)
        case let .addObject(path, name): addObject(path: path, name: name)
        case let .renameObject(from, to):
            tokenCache[from] = nil
            renameObject(from, to)
        case .removeObject(let name):
            tokenCache[name] = nil
            removeObject(name)
        case .reencodeObjects(let names):
            for name in names { tokenCache[name] = nil }
            reencode(names)
        case let .saveOutput(run, cell, image, meta): saveOutput(run: run, cell: cell, image: image, meta: meta)
        case let .saveImage(image, meta, path): saveImage(image, meta: meta, path: path)
        case .loadHistory: loadHistory()
        case .loadHistoryImage(let path): loadHistoryImage(path)
        case .openParameters(let path): openParameters(path)
        case .completePath(let partial):
            let r = PathCompletion.complete(partial, fileExtensions: ["png", "jpg", "jpeg"])
            mailbox.post(.completed(r.completed, candidates: r.candidates))
        case let .appendPromptHistory(prompt, negative):
            let history = promptHistory
            files.async { [mailbox] in
                do { _ = try history.append(prompt: prompt, negative: negative) } catch {
                    mailbox.post(.status("prompt history not saved: \(error)", .warning))
                }
            }
        case .saveSession(let data):
            do { try SessionStore.save(data, paths: paths) } catch {
                FileHandle.standardError.write(Data("likeness studio: session not saved: \(error)\n".utf8))
            }
        case let .liveAfter(token, seconds):
            let mailbox = self.mailbox
            DispatchQueue.global(qos: .userInteractive).asyncAfter(deadline: .now() + seconds) {
                mailbox.post(.liveDue(token: token))
            }
        case .loadLoRAs:
            let folder = loraFolder
            files.async { [mailbox] in
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
                    .filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }.sorted()
                mailbox.post(.lorasLoaded(folder: folder.path, names: names))
            }
        case .quit:
            engine.cancelAll()
        }
    }

    // MARK: engine

    private func tokens(for name: String) throws -> ObjectTokens {
        if let t = tokenCache[name] { return t }
        guard let identity else { throw KitError("this model cannot use objects") }
        let t = try gallery.tokens(named: name, for: identity)
        tokenCache[name] = t
        return t
    }

    /// The short hash of the object's tokens, as the CLI writes it (`Object hash`).
    func objectHash(_ name: String) -> String? { (try? tokens(for: name))?.shortHash }

    private func submit(_ plan: GenerationPlan) {
        var objectTokens: Tensor?
        if let name = plan.object {
            do { objectTokens = try tokens(for: name).tensor } catch {
                for i in plan.jobs.indices { mailbox.post(.job(run: plan.runID, index: i, .failed("object \(name): \(error)"))) }
                return
            }
        }
        let facts = Self.facts(pipeline), size = plan.settings.generation
        let width = size.width ?? facts.defaultSize, height = size.height ?? facts.defaultSize
        let previews = facts.previewPlan(plan.settings.previewQuality, width: width, height: height)
        var initPixels: Tensor?
        if let choice = plan.initImage {
            do { initPixels = try InitImage(image: choice.image, name: choice.label).pixels(width: width, height: height) } catch {
                for i in plan.jobs.indices { mailbox.post(.job(run: plan.runID, index: i, .failed("init image \(choice.label): \(error)"))) }
                return
            }
        }
        var handles: [GenerationJob] = []
        for i in plan.jobs.indices {
            var r = plan.request(job: i)
            // <lora:NAME:W> tags: out of the encoder's text, merged by the engine before the job
            // (a job without tags runs without LoRAs).
            do { (r.prompt, r.loras) = try loras(in: r.prompt) } catch {
                mailbox.post(.job(run: plan.runID, index: i, .failedAt(.prompt, "\(error)")))
                continue
            }
            r.objectTokens = objectTokens
            r.initImage = initPixels
            r.allowUnknownWords = true
            r.preview = Self.previewKind(previews.kind)
            r.previewEvery = previews.every
            if plan.live {
                // The draft: no step previews, the tiny decoder where there is one.
                r.preview = .none
                r.previewEvery = 0
                if facts.hasTinyDecoder { r.decoder = .tiny }
            }
            let run = plan.runID, mailbox = self.mailbox
            handles.append(engine.submit(r, replacePending: plan.live) { event in
                mailbox.post(.job(run: run, index: i, Self.translate(event)))
            })
        }
        jobs[plan.runID] = handles
        // Forget handles of runs long gone.
        for key in jobs.keys where key < plan.runID - 4 { jobs[key] = nil }
    }

    static func image(_ p: RGBPixels) -> RGBImage? {
        try? RGBImage(width: p.width, height: p.height, pixels: p.bytes)
    }

    static func translate(_ e: JobEvent) -> JobUpdate {
        switch e {
        case .queued(let p): return .queued(position: p)
        case .started: return .started
        case .step(let s):
            return .step(step: s.step, total: s.total, previews: s.previews.map(image), elapsed: s.elapsed, itPerSec: s.stepsPerSecond)
        case .finished(let r):
            return .finished(images: r.images.compactMap { image($0.pixels) }, elapsed: r.elapsed, warnings: r.warnings)
        case .cancelled(let n): return .cancelled(afterStep: n)
        case .failed(let err):
            switch err {
            case .prompt: return .failedAt(.prompt, err.description)
            case .settings: return .failedAt(.settings, err.description)
            case .model: return .failedAt(.gallery, err.description)
            case .lora: return .failedAt(.prompt, err.description)
            default: return .failed(err.description)
            }
        }
    }

    /// The prompt without its LoRA tags, and the LoRAs they name, looked up in the LoRA folder.
    func loras(in prompt: String) throws -> (String, [LoRAApplication]) {
        let (text, tags) = try LoRATags.extract(from: prompt)
        return (text, try tags.map { LoRAApplication(url: try LoRATags.resolve($0.name, in: loraFolder), weight: $0.weight ?? 1) })
    }

    // MARK: prompt check

    func checkPrompt(_ prompt: String, negative: String, object: String?) -> PromptCheck {
        let enc = pipeline.promptEncoder
        var check = PromptCheck(maxTokens: enc.maxLength)
        let k = pipeline.objectEncoder?.tokenCount ?? 0
        do {
            // As the studio's jobs encode it: A1111 emphasis, 75-token chunks (the syntax is not
            // counted and its brackets are not words), LoRA tags taken out.
            // LoRA tags are not text the encoder sees; a malformed one is the prompt's problem.
            let info = try enc.weightedChunks(for: LoRATags.extract(from: prompt).prompt, slotCount: k)
            check.chunks = info.chunks.count
            check.tokenCount = info.chunks.count == 1 ? info.tokenCount + 2 : info.tokenCount
            check.unknownWords = info.unknownWords
            if !negative.isEmpty, let neg = try? enc.weightedChunks(for: negative, slotCount: 0) {
                check.unknownWords += neg.unknownWords.filter { !check.unknownWords.contains($0) }
            }
        } catch {
            check.problem = "\(error)"
        }
        return check
    }
}
