// One generation configuration: the studio and the CLI write the same parameter text for the same
// settings (object and object hash included, each value of an identity axis), recall gives every
// generation field back, and old session files still load.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit
import XCTest
@testable import LikenessStudio

extension RuntimeTests {
    func likenessExecutable() throws -> URL {
        let dirs = [Bundle(for: Self.self).bundleURL.deletingLastPathComponent(), Self.root.appendingPathComponent(".build/debug")]
        for d in dirs where FileManager.default.isExecutableFile(atPath: d.appendingPathComponent("likeness").path) {
            return d.appendingPathComponent("likeness")
        }
        throw XCTSkip("the likeness executable was not found; run `swift build --build-tests`")
    }

    func runCLI(_ args: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = try likenessExecutable()
        p.arguments = args
        p.currentDirectoryURL = Self.root
        var env = ProcessInfo.processInfo.environment
        env["XDG_DATA_HOME"] = tmp.appendingPathComponent("data").path
        env["XDG_CONFIG_HOME"] = tmp.appendingPathComponent("config").path
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testStudioAndCLIWriteTheSameParametersWithAnObjectAndAnAxis() throws {
        let (rt, _, items) = try runtimeWithSamples()
        let object = items[3].name

        var s = Fixture.state()
        _ = Studio.update(&s, .galleryLoaded(items))
        s.prompt.setText("a <obj> on the beach, at the left")
        s.negative.setText("blurry, dark")
        s.gallery.active = object
        s.settings.generation.steps = 2
        s.settings.generation.seed = 11
        s.settings.generation.sampler = .euler
        s.settings.generation.karras = true
        s.settings.generation.textGuidance = 4.5
        s.settings.compareCount = 2
        s.settings.axis = .identity
        s.settings.identityValues = "0, 2.5"
        send(&s, .ctrl("g"))
        let run = try XCTUnwrap(s.run)
        XCTAssertEqual(run.cells.count, 4)

        for (j, value) in ["0", "2.5"].enumerated() {
            let out = tmp.appendingPathComponent("cli-\(j).png")
            let cli = try runCLI(["generate", "--model", "Models/toybox", "--prompt", "a <obj> on the beach, at the left",
                                  "--negative-prompt", "blurry, dark", "--object", object, "--gallery",
                                  tmp.appendingPathComponent("data/objects").path, "--steps", "2", "--seeds", "11,12",
                                  "--sampler", "euler", "--karras", "--guidance", "4.5", "--identity-guidance", value,
                                  "--threads", "1", "--allow-unknown-words", "--output", out.path])
            XCTAssertEqual(cli.status, 0, cli.stderr)
            for (k, seed) in [11, 12].enumerated() {
                let written = try XCTUnwrap(RGBImage.readPNGText(tmp.appendingPathComponent("cli-\(j)-\(seed).png"))["parameters"])
                let studio = rt.parameters(Studio.meta(for: run, cell: j * 2 + k, model: s.model.name)).text
                XCTAssertEqual(studio, written, "job \(j) seed \(seed)")
                XCTAssertTrue(studio.contains("Object hash: "), studio)
                XCTAssertTrue(studio.contains("Identity guidance: \(value),"), studio)
            }
        }
    }
}

final class GenerationConfigurationTests: XCTestCase {
    /// Every generation field survives: settings -> spec -> PNG text -> spec -> recall -> settings.
    func testRecallRoundTripsEveryField() throws {
        var before = Fixture.state()
        _ = Studio.update(&before, .galleryLoaded(Fixture.galleryItems(3)))
        var st = StudioSettings()
        st.generation.sampler = .dpmpp2m
        st.generation.karras = true
        st.generation.steps = 37
        st.generation.textGuidance = 6.5
        st.generation.identityGuidance = 2.5
        st.generation.seed = UInt64.max - 3
        st.generation.width = 96
        st.generation.height = 72
        var spec = st.generation
        spec.prompt = "a <obj>\nin the snow"
        spec.negativePrompt = "blurry: dark, \"grey\""
        spec.object = "heart-blue-checkered-black"
        let (read, unsupported) = GenerationSpec.from(PNGParameters.parse(spec.parameters.text))
        XCTAssertEqual(unsupported, [])
        XCTAssertEqual(read, spec)

        // The studio's own settings are kept; the generation values are all taken.
        var s = before
        s.settings.compareCount = 5
        s.settings.axis = .prompt
        s.settings.promptValues = "snow | sand"
        s.settings.previewQuality = .latent
        s.settings.busyPolicy = .queue
        s.settings.seedMode = .increment
        let own = s.settings
        _ = Studio.update(&s, .recalled(Recall(spec: read), from: "/tmp/x.png"))
        var expected = st
        expected.compareCount = own.compareCount
        expected.axis = own.axis
        expected.identityValues = own.identityValues
        expected.promptValues = own.promptValues
        expected.previewQuality = own.previewQuality
        expected.busyPolicy = own.busyPolicy
        expected.seedMode = .fixed
        XCTAssertEqual(s.settings, expected)
        XCTAssertEqual(s.prompt.text, spec.prompt)
        XCTAssertEqual(s.negative.text, spec.negativePrompt)
        XCTAssertEqual(s.gallery.active, spec.object)

        // And the request the studio then submits carries them.
        s.settings.axis = .none
        send(&s, .ctrl("g"))
        let r = try XCTUnwrap(s.run).plan.request(job: 0)
        XCTAssertEqual(r.sampler, .dpmpp2m)
        XCTAssertEqual(r.karras, true)
        XCTAssertEqual(r.steps, 37)
        XCTAssertEqual(r.textGuidance, 6.5)
        XCTAssertEqual(r.identityGuidance, 2.5)
        XCTAssertEqual(r.seeds.first, UInt64.max - 3)
        XCTAssertEqual(r.width, 96)
        XCTAssertEqual(r.height, 72)
        XCTAssertEqual(r.prompt, spec.prompt)
        XCTAssertEqual(r.negativePrompt, spec.negativePrompt)
    }

    /// Recall of a PNG that records only some fields leaves the others as they are.
    func testRecallLeavesUnrecordedValues() {
        var s = Fixture.state()
        s.settings.generation.steps = 40
        s.settings.generation.width = 128; s.settings.generation.height = 128
        var spec = GenerationSpec(prompt: "a red star")
        spec.seed = 9
        _ = Studio.update(&s, .recalled(Recall(spec: spec), from: "/tmp/y.png"))
        XCTAssertEqual(s.settings.generation.seed, 9)
        XCTAssertEqual(s.settings.generation.steps, 40)
        XCTAssertEqual(s.settings.generation.width, 128)
    }

    /// What another tool's image records but the studio does not make (LoRAs) is reported by
    /// recall, never taken into the settings (nor saved with the session); the img2img strength is
    /// a setting (used with an init image) and is taken.
    func testRecallTakesStrengthLeavesLoRAsOut() {
        var s = Fixture.state()
        var spec = GenerationSpec(prompt: "a red star")
        spec.steps = 12
        spec.strength = 0.6
        spec.loras = [LoRAWeight(name: "toy_lora", weight: 0.75)]
        _ = Studio.update(&s, .recalled(Recall(spec: spec, source: "ComfyUI"), from: "/tmp/ComfyUI_00002_.png"))
        XCTAssertEqual(s.settings.generation.steps, 12)
        XCTAssertEqual(s.settings.generation.strength, 0.6)
        XCTAssertEqual(s.settings.generation.loras, [])
        XCTAssertTrue(s.status.contains("(ComfyUI)"), s.status)
    }

    /// settings.json / session.json from older versions (fewer keys, or a value of another type)
    /// load: what is missing or unreadable keeps its default, the rest is taken.
    func testOldSessionFilesDecodeTolerantly() throws {
        let old = #"{"prompt":"x","negative":"","focus":"gallery","selectedObject":2,"#
            + #""settings":{"steps":12,"seed":18446744073709551610,"textGuidance":"loud","axis":"nonsense","identityGuidance":2.5,"gone":1}}"#
        let data = try JSONDecoder().decode(SessionData.self, from: Data(old.utf8))
        XCTAssertEqual(data.settings.generation.steps, 12)
        XCTAssertEqual(data.settings.generation.seed, 18446744073709551610, "large seeds keep every digit")
        XCTAssertEqual(data.settings.generation.identityGuidance, 2.5)
        XCTAssertEqual(data.settings.generation.textGuidance, StudioSettings().generation.textGuidance, "a value of the wrong type keeps the default")
        XCTAssertEqual(data.settings.axis, .none)
        XCTAssertEqual(data.settings.generation.sampler, .ddim)
        XCTAssertEqual(data.focus, .gallery)
        let none = try JSONDecoder().decode(SessionData.self, from: Data(#"{"prompt":"y"}"#.utf8))
        XCTAssertEqual(none.settings, StudioSettings())
        // What the studio writes reads back the same.
        var st = StudioSettings()
        st.generation.seed = 5; st.axis = .identity; st.previewQuality = .decode
        let encoded = try JSONEncoder().encode(SessionData(prompt: "p", negative: "n", object: nil, settings: st, focus: .prompt, selectedObject: 0))
        XCTAssertEqual(try JSONDecoder().decode(SessionData.self, from: encoded).settings, st)
    }

    /// Today's layout: the generation values sit under "generation" with GenerationSpec's own keys,
    /// and are read key by key as tolerantly as the flat keys of older files.
    func testSessionFilesKeepTheGenerationValuesAsTheSpec() throws {
        var st = StudioSettings()
        st.generation.steps = 31; st.generation.sampler = .euler; st.generation.seed = 9; st.compareCount = 3
        let encoded = try JSONEncoder().encode(st)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        XCTAssertNil(object["steps"], "no flat copy of a generation value")
        let generation = try XCTUnwrap(object["generation"] as? [String: Any])
        XCTAssertEqual(generation["steps"] as? Int, 31)
        XCTAssertEqual(generation["sampler"] as? String, "euler")

        let file = #"{"prompt":"x","settings":{"compareCount":4,"generation":{"steps":"many","seed":18446744073709551610,"#
            + #""sampler":"euler-a","textGuidance":7.5,"unknown":1}}}"#
        let data = try JSONDecoder().decode(SessionData.self, from: Data(file.utf8))
        XCTAssertEqual(data.settings.generation.steps, StudioSettings().generation.steps, "a value of the wrong type keeps the default")
        XCTAssertEqual(data.settings.generation.seed, 18446744073709551610)
        XCTAssertEqual(data.settings.generation.sampler, .eulerAncestral)
        XCTAssertEqual(data.settings.generation.textGuidance, 7.5)
        XCTAssertEqual(data.settings.generation.width, StudioSettings().generation.width, "missing keys keep their defaults")
        XCTAssertEqual(data.settings.compareCount, 4)
    }
}
