// The gallery commands (encode, objects, import) and generate with saved objects, run through the
// built executable: stored tokens are used as saved, stale tokens are refused with the command
// that re-encodes them, and a writer killed at random moments never leaves half an object.

import Foundation
import LikenessEngine
import LikenessImaging
import XCTest

extension LikenessCLITests {
    var galleryDir: String { tmp.appendingPathComponent("gallery").path }

    func testEncodeListAndGenerateWithASavedObject() throws {
        let model = try fixture("toy-a"), reference = try fixture("reference.png")
        let encode = try likeness(["encode", "--image", reference, "--name", "mug", "--model", model, "--gallery", galleryDir])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        XCTAssertTrue(encode.stdout.range(of: #"encoded mug in [0-9.]+ ms \(3 tokens x 32"#, options: .regularExpression) != nil, encode.stdout)

        let list = try likeness(["objects", "--gallery", galleryDir, "--model", model])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.range(of: #"mug\s+toy-a\s+ok\s+20\d\d-"#, options: .regularExpression) != nil, list.stdout)
        let json = try likeness(["objects", "--json", "--gallery", galleryDir, "--model", model])
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?["name"] as? String, "mug")
        XCTAssertEqual(rows.first?["stale"] as? Bool, false)
        XCTAssertEqual(rows.first?["tokens"] as? [Int], [3, 32])

        // Stored tokens give the same image as encoding the same reference on the fly.
        let byName = tmp.appendingPathComponent("by-name.png"), byPath = tmp.appendingPathComponent("by-path.png")
        let args = ["generate", "--model", model, "--prompt", "a large <obj> in the snow", "--steps", "2", "--gallery", galleryDir]
        XCTAssertEqual(try likeness(args + ["--object", "mug", "--output", byName.path]).status, 0)
        XCTAssertEqual(try likeness(args + ["--object", reference, "--output", byPath.path]).status, 0)
        XCTAssertEqual(try RGBImage(contentsOf: byName).pixels, try RGBImage(contentsOf: byPath).pixels)
        XCTAssertTrue((try RGBImage.readPNGText(byName)["parameters"] ?? "").contains("Object: mug,"))

        // Tokens from another model are refused, naming the command that re-encodes them.
        let stale = try likeness(args.map { $0 == model ? try fixture("toy-b") : $0 } + ["--object", "mug", "--output", byName.path])
        assertOneLineFailure(stale, mentioning: "likeness encode --image")
        XCTAssertTrue(stale.stderr.contains("--name mug"), stale.stderr)
        let listB = try likeness(["objects", "--gallery", galleryDir, "--model", try fixture("toy-b")])
        XCTAssertTrue(listB.stdout.contains("stale"), listB.stdout)

        // A missing name lists what exists.
        assertOneLineFailure(try likeness(args + ["--object", "cup", "--output", byName.path]), mentioning: "no object named \"cup\"")
    }

    func testObjectsRenameRemoveImportAndBadNames() throws {
        let model = try fixture("toy-a"), reference = try fixture("reference.png")
        XCTAssertEqual(try likeness(["encode", "--image", reference, "--name", "a", "--model", model, "--gallery", galleryDir]).status, 0)
        XCTAssertEqual(try likeness(["objects", "rename", "a", "b", "--gallery", galleryDir]).status, 0)
        assertOneLineFailure(try likeness(["objects", "rm", "a", "--gallery", galleryDir]), mentioning: "no object named \"a\"")
        XCTAssertEqual(try likeness(["objects", "rm", "b", "--gallery", galleryDir]).status, 0)
        XCTAssertEqual(try likeness(["objects", "--gallery", galleryDir, "--model", model]).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       "no saved objects in \(galleryDir)")
        for bad in ["../up", ".hidden", "a/b", String(repeating: "x", count: 65), "tab\there"] {
            assertOneLineFailure(try likeness(["encode", "--image", reference, "--name", bad, "--model", model, "--gallery", galleryDir]),
                                 mentioning: "object name")
        }

        // Textual-inversion tokens (tensor object_tokens, no metadata) import as an object.
        var generator = TorchGenerator(seed: 1)
        let ti = tmp.appendingPathComponent("ti.safetensors")
        try SafeTensorsWriter.write(["object_tokens": try XCTUnwrap(Tensor(shape: [1, 3, 32], storage: generator.randn(96)))], to: ti)
        let imported = try likeness(["objects", "import", "--tokens", ti.path, "--name", "ti", "--model", model, "--gallery", galleryDir])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let out = tmp.appendingPathComponent("ti.png")
        let run = try likeness(["generate", "--model", model, "--prompt", "a <obj>", "--object", "ti", "--steps", "1",
                                "--gallery", galleryDir, "--output", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        assertOneLineFailure(try likeness(["objects", "import", "--tokens", ti.path, "--name", "ti2", "--model", try fixture("toy-b"),
                                           "--gallery", galleryDir]), mentioning: "[1, 2, 48]")
    }

    func testBadReferencesForEncode() throws {
        let model = try fixture("toy-a")
        let tiny = tmp.appendingPathComponent("tiny.png")
        try RGBImage(width: 1, height: 1, fill: .white).write(to: tiny)
        let text = tmp.appendingPathComponent("notes.jpg")
        try Data("hello".utf8).write(to: text)
        var huge = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20])
        huge += [8, 2, 0, 0, 0, 0, 0, 0, 0]
        let hugeURL = tmp.appendingPathComponent("huge.png")
        try huge.write(to: hugeURL)
        for (path, needle) in [(tiny.path, "at least 16x16"), (text.path, "not a PNG or JPEG"), (hugeURL.path, "20000x20000")] {
            assertOneLineFailure(try likeness(["encode", "--image", path, "--name", "x", "--model", model, "--gallery", galleryDir]),
                                 mentioning: needle)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: galleryDir + "/x"))
    }

    /// kill -9 at random moments of `encode` / `objects import` / `rm` / `rename`, with a second writer
    /// running at the same time: every object folder is complete or absent, and listing keeps working.
    func testGalleryAtomicityUnderKill9() throws {
        let model = try fixture("toy-a"), reference = try fixture("reference.png")
        var generator = TorchGenerator(seed: 2)
        let ti = tmp.appendingPathComponent("ti.safetensors")
        try SafeTensorsWriter.write(["object_tokens": try XCTUnwrap(Tensor(shape: [1, 3, 32], storage: generator.randn(96)))], to: ti)
        let exe = try executable()
        let start = Date()
        let commands: [[String]] = [
            ["encode", "--image", reference, "--name", "obj", "--model", model, "--gallery", galleryDir],
            ["objects", "import", "--tokens", ti.path, "--name", "obj", "--replace", "--model", model, "--gallery", galleryDir],
            ["encode", "--image", reference, "--name", "other", "--model", model, "--gallery", galleryDir],
            ["objects", "import", "--tokens", ti.path, "--name", "other", "--replace", "--model", model, "--gallery", galleryDir],
            ["objects", "rm", "other", "--gallery", galleryDir],
            ["objects", "rename", "obj", "renamed", "--gallery", galleryDir],
            ["objects", "rename", "renamed", "obj", "--gallery", galleryDir],
        ]
        // How long each command takes here uninterrupted, so each kill lands within its run.
        var durations: [Double] = []
        for c in commands {
            let t0 = Date()
            _ = try likeness(c)
            durations.append(Date().timeIntervalSince(t0))
        }
        var killed = 0
        func spawn(_ arguments: [String]) throws -> Process {
            let p = Process()
            p.executableURL = exe
            p.arguments = arguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        for i in 0..<20 {
            // Two writers at once: one is killed at a random moment, the other runs to its end.
            let victim = try spawn(commands[i % commands.count])
            let other = try spawn(commands[(i + 1) % commands.count])
            usleep(UInt32(Double.random(in: 0...(0.9 * durations[i % commands.count])) * 1e6))
            if victim.isRunning { kill(victim.processIdentifier, SIGKILL); killed += 1 }
            victim.waitUntilExit()
            other.waitUntilExit()
            try assertGalleryConsistent(model: model, iteration: i)
        }
        print("kill -9: \(killed) of 20 writers killed mid-run; \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        XCTAssertGreaterThan(killed, 0, "no writer was killed; the test did not test anything")
        // The next writer cleans up after the killed ones.
        XCTAssertEqual(try likeness(commands[0]).status, 0)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: galleryDir).filter { $0.hasPrefix(".tmp") || $0.hasPrefix(".replaced") }
        XCTAssertEqual(hidden, [])
    }

    private func assertGalleryConsistent(model: String, iteration: Int) throws {
        guard FileManager.default.fileExists(atPath: galleryDir) else { return }
        for name in try FileManager.default.contentsOfDirectory(atPath: galleryDir) where !name.hasPrefix(".") {
            let folder = URL(fileURLWithPath: galleryDir).appendingPathComponent(name)
            let record = try Data(contentsOf: folder.appendingPathComponent("object.json"))
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: record) as? [String: Any], "iteration \(iteration): \(name)")
            let file = try SafeTensorsFile(url: folder.appendingPathComponent("tokens.safetensors"))
            XCTAssertEqual(file.entries["object_tokens"]?.shape, [1, 3, 32], "iteration \(iteration): \(name)")
            if obj["origin"] as? String == "encoder" {
                XCTAssertNoThrow(try RGBImage(contentsOf: folder.appendingPathComponent("reference.png")), "iteration \(iteration): \(name)")
                XCTAssertNoThrow(try RGBImage(contentsOf: folder.appendingPathComponent("thumbnail.png")), "iteration \(iteration): \(name)")
            }
        }
        let list = try likeness(["objects", "--json", "--gallery", galleryDir, "--model", model])
        XCTAssertEqual(list.status, 0, "iteration \(iteration): \(list.stderr)")
        XCTAssertFalse(list.stdout.contains("\"damaged\" : true"), "iteration \(iteration): \(list.stdout)")
    }
}
