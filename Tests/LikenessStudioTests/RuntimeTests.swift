// The runtime against the real built-in model and LikenessKit: prompt checks from the tokenizer,
// the first-start gallery, a two-seed job with per-seed previews, saving with parameters, and
// recall from a PNG written the way A1111 writes it. Also the session file.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit
import XCTest
@testable import LikenessStudio

final class RuntimeTests: XCTestCase {
    static let root = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    nonisolated(unsafe) static var shared: (LikenessPipeline, GenerationEngine)?
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func makeRuntime(samples: Bool = false) throws -> (StudioRuntime, Mailbox) {
        if Self.shared == nil {
            let p = try LikenessPipeline(folder: Self.root.appendingPathComponent("Models/toybox"))
            Self.shared = (p, GenerationEngine(pipeline: p, threads: 1))
        }
        guard let (pipeline, engine) = Self.shared else { throw XCTSkip("no model") }
        let paths = LikenessPaths(dataHome: tmp.appendingPathComponent("data"), configHome: tmp.appendingPathComponent("config"))
        let mailbox = Mailbox()
        let runtime = StudioRuntime(engine: engine, identity: try ModelIdentity(folder: pipeline.modelURL),
                                    gallery: ObjectGallery(paths: paths), outputs: OutputStore(paths: paths), paths: paths,
                                    mailbox: mailbox, samples: samples ? Self.root.appendingPathComponent("Samples/objects") : nil)
        return (runtime, mailbox)
    }

    /// A runtime whose gallery holds the twelve sample objects (encoded at first start).
    func runtimeWithSamples() throws -> (StudioRuntime, Mailbox, [GalleryItem]) {
        let (rt, mb) = try makeRuntime(samples: true)
        rt.perform(.loadGallery)
        let items = try wait(mb) { m -> [GalleryItem]? in
            if case .galleryLoaded(let items) = m, items.count == 12 { return items }
            return nil
        }
        return (rt, mb, items)
    }

    /// Drains the mailbox until `match` returns a value (or fails after `timeout`).
    func wait<T>(_ mailbox: Mailbox, timeout: Double = 120, _ match: (Msg) -> T?, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            for m in mailbox.drain() { if let v = match(m) { return v } }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("no matching message within \(timeout) s", file: file, line: line)
        throw XCTSkip("timed out")
    }

    func testPromptCheckReportsUnknownWordsTokensAndProblems() throws {
        let (rt, mb) = try makeRuntime()
        rt.perform(.checkPrompt(prompt: "a glittery <obj> on the beach", negative: "", object: nil))
        let c = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        XCTAssertEqual(c.unknownWords, ["glittery"])
        XCTAssertEqual(c.maxTokens, 32)
        XCTAssertGreaterThan(c.tokenCount, 6)
        XCTAssertNil(c.problem)
        rt.perform(.checkPrompt(prompt: Array(repeating: "a red star", count: 20).joined(separator: " "), negative: "", object: nil))
        let long = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        XCTAssertGreaterThan(long.tokenCount, long.maxTokens)
        // A1111 reading: the long prompt goes in chunks of maxTokens - 2, and emphasis syntax is not a word.
        XCTAssertEqual(long.chunks, (long.tokenCount + long.maxTokens - 3) / (long.maxTokens - 2))
        XCTAssertGreaterThan(long.chunks, 1)
        rt.perform(.checkPrompt(prompt: "a (glittery:1.3) [red] <obj> BREAK on the beach", negative: "", object: nil))
        let weighted = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        XCTAssertEqual(weighted.unknownWords, ["glittery"])
        XCTAssertEqual(weighted.chunks, 2)
        XCTAssertNil(weighted.problem)
        rt.perform(.checkPrompt(prompt: "a <obj> and a <obj>", negative: "", object: nil))
        let twice = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        XCTAssertTrue(twice.problem?.contains("once") ?? false, twice.problem ?? "no problem reported")
    }

    func testFirstStartSamplesThenTwoSeedJobSavesImagesWithParameters() throws {
        let (rt, mb, items) = try runtimeWithSamples()
        XCTAssertTrue(items.allSatisfy { !$0.stale && $0.thumb != nil })
        var settings = StudioSettings()
        settings.generation.steps = 3
        settings.generation.seed = 7
        let name = items[1].name
        let plan = GenerationPlan(runID: 1, settings: settings, object: name,
                                  jobs: [JobSpec(prompt: "a <obj> in the snow", negative: "", seeds: [7, 8], identityGuidance: 3, axisValue: nil)])
        rt.perform(.generate(plan))
        var steps = 0
        let images = try wait(mb) { m -> [RGBImage]? in
            guard case let .job(run, index, u) = m, run == 1, index == 0 else { return nil }
            switch u {
            case let .step(_, _, previews, _, _):
                XCTAssertEqual(previews.count, 2)
                XCTAssertTrue(previews.allSatisfy { $0 != nil })
                steps += 1
            case let .finished(images, _, _): return images
            case .failed(let m): XCTFail(m); return []
            default: break
            }
            return nil
        }
        XCTAssertEqual(steps, 3)
        XCTAssertEqual(images.count, 2)
        XCTAssertNotEqual(images[0], images[1], "two seeds, two images")
        let meta = OutputMeta(request: plan.request(job: 0), seed: 8, object: name, model: "toybox", elapsed: 1)
        rt.perform(.saveOutput(run: 1, cell: 1, image: images[1], meta: meta))
        let path = try wait(mb) { if case let .outputSaved(_, cell, path) = $0, cell == 1 { return path }; return nil }
        let recall = try rt.recall(URL(fileURLWithPath: path))
        XCTAssertEqual(recall.prompt, "a <obj> in the snow")
        XCTAssertEqual(recall.settings.generation.seed, 8)
        XCTAssertEqual(recall.settings.generation.steps, 3)
        XCTAssertEqual(recall.object, name)
        XCTAssertEqual(recall.settings.generation.identityGuidance, 3)
        XCTAssertNotNil(recall.spec.objectHash, "studio images carry the object hash, as the CLI's do")
        XCTAssertEqual(try RGBImage(contentsOf: URL(fileURLWithPath: path)), images[1])
    }

    func testRecallFromAnA1111PNG() throws {
        let (rt, mb) = try makeRuntime()
        let url = tmp.appendingPathComponent("a1111.png")
        let text = "a small circle in the snow\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 64x64, Model: sd15, Hires upscale: 2"
        try RGBImage(width: 8, height: 8, fill: .white).write(to: url, text: [("parameters", text)])
        rt.perform(.openParameters(path: url.path))
        let (recall, from) = try wait(mb) { if case let .recalled(r, from) = $0 { return (r, from) }; return nil }
        XCTAssertEqual(from, url.path)
        XCTAssertEqual(recall.prompt, "a small circle in the snow")
        XCTAssertEqual(recall.negative, "blurry")
        XCTAssertEqual(recall.settings.generation.sampler, .eulerAncestral)
        XCTAssertEqual(recall.settings.generation.steps, 20)
        XCTAssertEqual(recall.settings.generation.seed, 123)
        XCTAssertEqual(recall.settings.generation.textGuidance, 7)
        XCTAssertTrue(recall.notes.contains { $0.contains("Hires") }, "what cannot be honoured is reported: \(recall.notes)")
        rt.perform(.openParameters(path: tmp.appendingPathComponent("missing.png").path))
        let err = try wait(mb) { if case let .status(t, .error) = $0 { return t }; return nil }
        XCTAssertTrue(err.contains("missing.png"), err)
    }

    /// Recall reads other tools' images too (PNG, JPEG, WebP), saying which tool wrote them.
    func testRecallFromOtherToolsImages() throws {
        let (rt, mb) = try makeRuntime()
        let fixtures = Self.root.appendingPathComponent("Tests/Fixtures/generated/metadata")
        func fixture(_ name: String) throws -> URL {
            let url = fixtures.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                XCTFail("missing fixture \(url.path): run `make fixtures` (or .venv/bin/python scripts/fixtures/metadata.py)")
                throw CocoaError(.fileNoSuchFile)
            }
            return url
        }
        let comfy = try rt.recall(try fixture("comfyui-two-samplers.png"))
        XCTAssertEqual(comfy.prompt, "a purple heart in the city")
        XCTAssertEqual(comfy.negative, "lowres")
        XCTAssertEqual(comfy.settings.generation.seed, UInt64.max)
        XCTAssertEqual(comfy.settings.generation.steps, 25)
        XCTAssertEqual(comfy.settings.generation.sampler, .dpmpp2m)
        XCTAssertEqual(comfy.settings.generation.karras, true)
        XCTAssertEqual(comfy.settings.generation.textGuidance, 6.5)
        XCTAssertEqual(comfy.source, "ComfyUI")
        XCTAssertTrue(comfy.notes.contains { $0.contains("2 samplers") && $0.contains("node 3") }, "\(comfy.notes)")
        for file in ["a1111.jpg", "a1111.webp"] {
            rt.perform(.openParameters(path: try fixture(file).path))
            let (recall, from) = try wait(mb) { if case let .recalled(r, from) = $0 { return (r, from) }; return nil }
            XCTAssertTrue(from.hasSuffix(file))
            XCTAssertEqual(recall.prompt, "a red star on the beach, (sunset:1.2)", file)
            XCTAssertEqual(recall.settings.generation.seed, 1234, file)
            XCTAssertEqual(recall.settings.generation.sampler, .dpmpp2m, file)
            XCTAssertNil(recall.source, "A1111's own format needs no naming")
        }
        rt.perform(.openParameters(path: try fixture("bad/comfyui-missing-node.png").path))
        let err = try wait(mb) { if case let .status(t, .error) = $0 { return t }; return nil }
        XCTAssertTrue(err.contains("comfyui-missing-node.png") && err.contains("not in the graph"), err)
    }

    func testHistoryImageLoadsAtFullSize() throws {
        let (rt, mb) = try makeRuntime()
        let url = tmp.appendingPathComponent("00001-1.png")
        let img = try RGBImage(width: 64, height: 48, pixels: (0..<64 * 48 * 3).map { UInt8($0 % 251) })
        try img.write(to: url)
        rt.perform(.loadHistoryImage(path: url.path))
        let (path, loaded) = try wait(mb) { if case let .historyImageLoaded(p, i) = $0 { return (p, i) }; return nil }
        XCTAssertEqual(path, url.path)
        XCTAssertEqual(loaded, img, "the image itself, not the list's 16-pixel thumbnail")
        rt.perform(.loadHistoryImage(path: tmp.appendingPathComponent("gone.png").path))
        let missing = try wait(mb) { if case let .historyImageLoaded(_, i) = $0 { return Optional(i) }; return nil }
        XCTAssertNil(missing ?? nil, "a file that went away loads nothing")
    }

    func testSessionRoundTripAndTolerantDecoding() throws {
        let paths = LikenessPaths(dataHome: tmp.appendingPathComponent("data"), configHome: tmp.appendingPathComponent("config"))
        XCTAssertNil(try SessionStore.load(paths: paths))
        var st = StudioSettings()
        st.generation.steps = 9; st.axis = .identity; st.busyPolicy = .queue
        var data = SessionData(prompt: "p", negative: "n", object: "o", settings: st, focus: .gallery, selectedObject: 3)
        data.screen = .history
        try SessionStore.save(data, paths: paths)
        XCTAssertEqual(try SessionStore.load(paths: paths), data)
        try Data(#"{"prompt":"x","negative":"","focus":"prompt","selectedObject":0,"settings":{"steps":12}}"#.utf8).write(to: paths.session)
        let old = try XCTUnwrap(try SessionStore.load(paths: paths))
        XCTAssertEqual(old.settings.generation.steps, 12)
        XCTAssertEqual(old.settings.generation.sampler, .ddim, "missing keys keep their defaults")
        XCTAssertEqual(old.screen, .studio)
        try Data("not json".utf8).write(to: paths.session)
        XCTAssertThrowsError(try SessionStore.load(paths: paths)) { XCTAssertTrue("\($0)".contains("session.json")) }
    }

    /// A single-file model (the sd1 fixture of scripts/fixtures/single_file.py) with a LoRA folder:
    /// the folder is listed, tags are checked without being words, a job with a tag merges the LoRA
    /// (the same image as a fresh load with it), a job without takes it out, a missing name fails at
    /// the prompt, and the saved parameters keep the tag with A1111's Lora hashes.
    func testSingleFileModelAppliesLoRATagsPerJob() throws {
        let fixtures = Self.root.appendingPathComponent("Tests/Fixtures/generated/single_file")
        let model = fixtures.appendingPathComponent("sd1.safetensors"), lora = fixtures.appendingPathComponent("lora-kohya.safetensors")
        for f in [model, lora] { XCTAssertTrue(FileManager.default.fileExists(atPath: f.path), "\(f.path) missing: run scripts/fixtures/single_file.py") }
        let folder = tmp.appendingPathComponent("loras")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: lora, to: folder.appendingPathComponent("detail.safetensors"))
        let pipeline = try LikenessPipeline(model: model)
        let engine = GenerationEngine(pipeline: pipeline, threads: 1)
        let paths = LikenessPaths(dataHome: tmp.appendingPathComponent("data"), configHome: tmp.appendingPathComponent("config"))
        let mb = Mailbox()
        let rt = StudioRuntime(engine: engine, identity: try ModelIdentity(folder: model), gallery: ObjectGallery(paths: paths),
                               outputs: OutputStore(paths: paths), paths: paths, mailbox: mb, samples: nil, loraFolder: folder)
        rt.perform(.loadLoRAs)
        let listed = try wait(mb) { if case let .lorasLoaded(f, names) = $0 { return (f, names) }; return nil }
        XCTAssertEqual(listed.0, folder.path)
        XCTAssertEqual(listed.1, ["detail"])

        rt.perform(.checkPrompt(prompt: "a red star", negative: "", object: nil))
        let plain = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        rt.perform(.checkPrompt(prompt: "a red star <lora:detail:0.5>", negative: "", object: nil))
        let tagged = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        XCTAssertEqual(tagged.tokenCount, plain.tokenCount, "a tag is not tokens")
        XCTAssertEqual(tagged.unknownWords, plain.unknownWords)
        XCTAssertNil(tagged.problem)
        rt.perform(.checkPrompt(prompt: "a red star <lora:detail:much>", negative: "", object: nil))
        let bad = try wait(mb) { if case .promptChecked(let c) = $0 { return c }; return nil }
        XCTAssertTrue(bad.problem?.contains("not a number") ?? false, bad.problem ?? "no problem reported")

        var settings = StudioSettings()
        settings.generation.steps = 2
        settings.generation.seed = 7
        settings.previewQuality = .latent
        func run(_ id: Int, _ prompt: String) throws -> JobUpdate {
            rt.perform(.generate(GenerationPlan(runID: id, settings: settings, object: nil,
                                                jobs: [JobSpec(prompt: prompt, negative: "", seeds: [7], identityGuidance: 3, axisValue: nil)])))
            return try wait(mb) { m -> JobUpdate? in
                guard case let .job(run, _, u) = m, run == id else { return nil }
                switch u { case .finished, .failed, .failedAt: return u; default: return nil }
            }
        }
        guard case .finished(let withLoRA, _, _) = try run(1, "a red star <lora:detail:0.5>") else { return XCTFail("job with a LoRA failed") }
        XCTAssertEqual(pipeline.loras, [LoRAApplication(url: folder.appendingPathComponent("detail.safetensors"), weight: 0.5)])
        var request = GenerationPlan(runID: 0, settings: settings, object: nil,
                                     jobs: [JobSpec(prompt: "a red star ", negative: "", seeds: [7], identityGuidance: 3, axisValue: nil)]).request(job: 0)
        request.loras = nil
        request.preview = .none
        let fresh = try LikenessPipeline(model: model, loras: pipeline.loras).generate(request)
        XCTAssertEqual(withLoRA.first.flatMap(Self.pixels), fresh.pixels.bytes, "the studio's job equals a fresh load with the LoRA")
        guard case .finished(let without, _, _) = try run(2, "a red star") else { return XCTFail("job without LoRAs failed") }
        XCTAssertEqual(pipeline.loras, [])
        XCTAssertNotEqual(without.first, withLoRA.first)
        guard case .failedAt(.prompt, let message) = try run(3, "a red star <lora:nothere>") else { return XCTFail("a missing LoRA ran") }
        XCTAssertTrue(message.contains("LoRA \"nothere\" not found") && message.contains("available: detail"), message)

        let meta = OutputMeta(request: GenerationPlan(runID: 1, settings: settings, object: nil,
                                                      jobs: [JobSpec(prompt: "a red star <lora:detail:0.5>", negative: "", seeds: [7],
                                                                     identityGuidance: 3, axisValue: nil)]).request(job: 0),
                              seed: 7, object: nil, model: "sd1", elapsed: 1)
        let p = rt.parameters(meta)
        XCTAssertEqual(p.prompt, "a red star <lora:detail:0.5>")
        XCTAssertEqual(p["Lora hashes"], "detail: \(try LoRATags.shortHash(of: lora))")
    }

    static func pixels(_ image: RGBImage) -> [UInt8] { image.pixels }
}
