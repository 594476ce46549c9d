// `likeness studio`: checks the terminal, loads the model, restores the session, then runs the
// loop: paint the frame, wait for a key or a mailbox message (poll on stdin and the mailbox's
// pipe), feed messages to `update`, hand effects to the runtime.

import CCurses
import Foundation
import LikenessEngine
import LikenessKit

public struct StudioOptions: Sendable {
    public var model: String
    public var gallery: String?
    public var outputs: String?
    public var preview: String
    public var theme: String?
    public var threads: Int?
    /// A single file's prediction type, "epsilon" or "v" (nil: what the file states, else the version's).
    public var prediction: String?
    /// A standalone VAE replacing the model's own (file or folder).
    public var vae: String?
    /// The LoRA folder the list (F5) shows and `<lora:NAME:W>` tags are looked up in
    /// (nil: $XDG_DATA_HOME/likeness/loras).
    public var loras: String?
    /// The models' compute precision, "fp32" or "bf16" (nil: GenerationSpec's default, bf16 where the CPU has it).
    public var precision: String?
    public init(model: String, gallery: String? = nil, outputs: String? = nil, preview: String = "auto",
                theme: String? = nil, threads: Int? = nil, prediction: String? = nil, vae: String? = nil, loras: String? = nil,
                precision: String? = nil) {
        self.model = model; self.gallery = gallery; self.outputs = outputs; self.preview = preview
        self.theme = theme; self.threads = threads; self.prediction = prediction; self.vae = vae; self.loras = loras
        self.precision = precision
    }
}

public enum StudioApp {
    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("likeness studio: \(message)\n".utf8))
        return 1
    }

    /// Runs the studio; returns the process exit status.
    public static func run(_ o: StudioOptions, environment env: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        let terminal: Terminal
        do { terminal = try Terminal(o, environment: env) } catch { return fail("\(error)") }
        FileHandle.standardError.write(Data("likeness studio: loading \(o.model)…\n".utf8))
        let pipeline: LikenessPipeline
        var prediction: PredictionType?
        if let p = o.prediction {
            guard let parsed = PredictionType(flag: p) else { return fail("--prediction must be epsilon or v, got \(p)") }
            prediction = parsed
        }
        var spec = GenerationSpec(prompt: "")
        if let p = o.precision {
            guard let parsed = ComputePrecision(name: p) else { return fail("--precision must be fp32 or bf16, got \(p)") }
            spec.precision = parsed
        }
        do { pipeline = try LikenessPipeline(model: URL(fileURLWithPath: o.model), prediction: prediction,
                                                vae: o.vae.map { URL(fileURLWithPath: $0) },
                                                precision: spec.resolvedPrecision) } catch { return fail("\(error)") }
        // Job after job: the UNet and the VAE decoder stay resident; the text encoder and the VAE
        // encoder, which a job runs once, are read again from the file when needed.
        pipeline.weightResidency = .keepDenoiser
        // A tiny decoder (TAESD) beside the model or in $XDG_DATA_HOME/likeness/decoders makes
        // previews of large models cheap (preview quality auto/tiny); one that does not fit is said.
        if let taesd = TinyDecoderSearch.find(model: pipeline.modelURL, paths: LikenessPaths(environment: env)) {
            do {
                try pipeline.attachTinyDecoder(taesd)
                FileHandle.standardError.write(Data("likeness studio: tiny decoder \(taesd.path) for previews\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("likeness studio: not using the tiny decoder: \(error)\n".utf8))
            }
        }
        if let ckpt = pipeline.checkpoint {
            FileHandle.standardError.write(Data("likeness studio: \(ckpt.url.lastPathComponent): \(ckpt.version.rawValue) single file, prediction \(pipeline.predictionNote ?? "?")\n".utf8))
        }
        StudioTrace.start(environment: env)
        defer { StudioTrace.finish() }
        var studio = start(o, environment: env, terminal: terminal, pipeline: pipeline)
        defer { studio.driver.end() }
        loop(&studio)
        return 0
    }

    /// What the terminal can show, checked before curses starts.
    struct Terminal {
        var caps: TerminalCapabilities
        /// The preview mode asked for (or found, for `auto`).
        var mode: PreviewMode
        var utf8: Bool

        init(_ o: StudioOptions, environment env: [String: String]) throws {
            guard isatty(0) == 1, isatty(1) == 1 else {
                throw StartError("needs a terminal on standard input and output (use `likeness generate` in scripts)")
            }
            let term = env["TERM"] ?? ""
            guard !term.isEmpty, term != "dumb" else {
                throw StartError("TERM is \(term.isEmpty ? "not set" : "dumb"): the studio needs a terminal that can move the cursor")
            }
            // Ask the terminal what it can show (DA1 last, with a timeout) before curses starts.
            // The terminal is asked only when the answer matters; kitty's query is left out inside tmux
            // or screen, which do not pass it on.
            let guessed = TerminalDetect.fromEnvironment(env)
            caps = ["auto", "sixel", "kitty"].contains(o.preview.lowercased())
                ? TerminalTTY.detect(env: env, kitty: !guessed.inMultiplexer).capabilities : guessed
            mode = try TerminalDetect.resolve(requested: o.preview, caps: caps)
            setlocale(LC_ALL, "")
            utf8 = TerminalDetect.localeIsUTF8()
        }
    }

    struct StartError: Error, CustomStringConvertible {
        var description: String
        init(_ message: String) { description = message }
    }

    /// Everything the loop works with.
    struct Running {
        var state: StudioState
        let driver: CursesDriver
        let runtime: StudioRuntime
        let mailbox: Mailbox
        let theme: Theme
    }

    /// Opens the stores, the theme and the session, starts curses and builds the first state,
    /// with the start-up messages already applied.
    static func start(_ o: StudioOptions, environment env: [String: String], terminal: Terminal,
                      pipeline: LikenessPipeline) -> Running {
        let paths = LikenessPaths(environment: env)
        // The fingerprint cache the CLI uses, so the encoder weights are hashed once, not at every start.
        var identity = try? ModelIdentity(folder: URL(fileURLWithPath: o.model), cache: FingerprintCache(paths: paths))
        if let vae = pipeline.vaeReplacement { identity?.vae = try? VAEIdentity(url: vae, cache: FingerprintCache(paths: paths)) }
        let engine = GenerationEngine(pipeline: pipeline, threads: o.threads)
        let gallery = o.gallery.map { ObjectGallery(directory: URL(fileURLWithPath: expandTilde($0))) } ?? ObjectGallery(paths: paths)
        let outputs = o.outputs.map { OutputStore(directory: URL(fileURLWithPath: expandTilde($0))) } ?? OutputStore(paths: paths)
        let dirs = ThemeLoader.searchDirectories(environment: env, executable: Bundle.main.executableURL,
                                                 currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let (theme, themeWarning) = ThemeLoader.startTheme(name: o.theme, directories: dirs, environment: env)
        let noColor = !(env["NO_COLOR"] ?? "").isEmpty

        let mailbox = Mailbox()
        let runtime = StudioRuntime(engine: engine, identity: identity, gallery: gallery, outputs: outputs, paths: paths,
                                    mailbox: mailbox, samples: samplesFolder(model: o.model),
                                    loraFolder: o.loras.map { URL(fileURLWithPath: expandTilde($0)) })
        var session: SessionData?
        var sessionWarning: String?
        do { session = try SessionStore.load(paths: paths) } catch { sessionWarning = "\(error)" }

        // NO_COLOR takes the theme's colours away (and picks ASCII for `--preview auto`); a
        // half-block preview the user asks for by name still draws its pixels in colour.
        // Graphics asked for by name inside tmux go through its passthrough (allow-passthrough on).
        let caps = terminal.caps, mode = terminal.mode, utf8 = terminal.utf8
        let driver = CursesDriver(cellPixels: (caps.cellPixelWidth ?? 10, caps.cellPixelHeight ?? 20),
                                  passthrough: caps.inTmux && mode.isGraphics)
        var state = StudioState(width: Int(driver.width), height: Int(driver.height), model: StudioRuntime.facts(pipeline))
        // The sampler the folder's scheduler config names (LCMScheduler: lcm); a restored session's choice wins.
        if let sampler = pipeline.folderSampler { state.settings.generation.sampler = sampler }
        state.previewMode = (!utf8 && !mode.isGraphics) ? .ascii : (noColor && o.preview == "auto" ? .ascii : mode)
        // F4 cycles through the modes this terminal showed it has (and the one asked for).
        state.previewModes = PreviewMode.allCases.filter {
            switch $0 {
            case .kitty: return caps.kittyGraphics || mode == .kitty
            case .sixel: return caps.sixel || mode == .sixel
            default: return true
            }
        }
        state.asciiBoxes = !utf8
        state.focus = .prompt
        var startup: [Msg] = []
        if let session { startup.append(.sessionRestored(session)) }
        startup.append(.promptHistoryLoaded(runtime.promptHistory.entries))
        let warning = themeWarning ?? sessionWarning
        startup.append(.status(warning ?? (session == nil ? "Welcome: Ctrl-G makes an image from the prompt · F1 help" : "session restored · Ctrl-G generates · F1 help"),
                               warning == nil ? .info : .warning))
        for m in startup { runtime.perform(Studio.update(&state, m)) }
        runtime.perform([.loadGallery, Studio.checkPrompt(state)])
        return Running(state: state, driver: driver, runtime: runtime, mailbox: mailbox, theme: theme)
    }

    /// Until quit: paint the frame when it changed, wait for a key or a mailbox message (poll on
    /// stdin and the mailbox's pipe), feed messages to `update`, hand effects to the runtime.
    static func loop(_ r: inout Running) {
        var dirty = true
        while !r.state.quit {
            if dirty {
                r.driver.paint(StudioView.render(r.state, theme: r.theme))
                StudioTrace.shared?.frame(r.state)
                dirty = false
            }
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: r.mailbox.readFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 2, 1000)
            let msgs = r.driver.readInput() + r.mailbox.drain()
            for m in msgs {
                r.runtime.perform(Studio.update(&r.state, m))
                dirty = true
                if r.state.quit { break }
            }
        }
    }

    /// Samples/objects beside the working directory, the model folder or the executable.
    static func samplesFolder(model: String) -> URL? {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var m = URL(fileURLWithPath: model).standardizedFileURL
        for _ in 0..<3 { m = m.deletingLastPathComponent(); candidates.append(m) }
        if var exe = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            for _ in 0..<5 { exe = exe.deletingLastPathComponent(); candidates.append(exe) }
        }
        for c in candidates {
            let dir = c.appendingPathComponent("Samples/objects")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue { return dir }
        }
        return nil
    }
}
