// End to end: the real `likeness studio` on Models/toybox in tmux (half-block mode), with
// temporary XDG folders. Needs tmux (apt-get install -y tmux) and the built executable
// (`swift build --build-tests`). Run alone: swift test --skip-build --filter StudioEndToEndTests

import Foundation
import LikenessKit
import XCTest

final class StudioEndToEndTests: XCTestCase {
    var tmp: URL!
    var tmux: TmuxStudio!

    override func setUpWithError() throws {
        guard TmuxStudio.tmuxPath() != nil else { throw XCTSkip("tmux is not installed (apt-get install -y tmux)") }
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-studio-e2e-\(UUID().uuidString)")
        for d in ["data", "config"] {
            try FileManager.default.createDirectory(at: tmp.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        tmux = TmuxStudio(dir: tmp)
    }

    override func tearDown() {
        tmux?.stop()
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    var root: URL { URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func executable() throws -> URL {
        let dirs = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle(for: Self.self).bundleURL.deletingLastPathComponent(),
                    root.appendingPathComponent(".build/debug")]
        for d in dirs where FileManager.default.isExecutableFile(atPath: d.appendingPathComponent("likeness").path) {
            return d.appendingPathComponent("likeness")
        }
        throw XCTSkip("the likeness executable was not found next to the tests; run `swift build --build-tests`")
    }

    /// The studio in tmux; after it exits the pane shows its status and whether the tty is sane.
    func launch(model: String = "Models/toybox", extra: String = "", width: Int = 120, height: Int = 40, environment: [String: String] = [:]) throws {
        let exe = try executable()
        let q = { (s: String) in "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        // The inner shell writes its pid and becomes the studio (exec), so the test can signal it.
        let inner = "echo $$ > \(q(tmp.appendingPathComponent("pid").path)); exec \(q(exe.path)) studio --model \(q(model)) --preview halfblock --threads 1 \(extra)"
        let cmd = "cd \(q(root.path)) && "
            + "XDG_DATA_HOME=\(q(tmp.appendingPathComponent("data").path)) XDG_CONFIG_HOME=\(q(tmp.appendingPathComponent("config").path)) "
            + "sh -c \(q(inner)); "
            + "echo STUDIO-EXIT=$?; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; echo STUDIO-END; sleep 30"
        try tmux.start("sh -c \(q(cmd))", width: width, height: height, environment: environment)
    }

    /// The studio must have left the screen and the terminal as it found them.
    func assertRestored(_ screen: String, status: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(screen.contains("STUDIO-EXIT=\(status)"), screen, file: file, line: line)
        XCTAssertTrue(screen.contains("icanon echo"), "cooked mode and echo are back:\n\(screen)", file: file, line: line)
        XCTAssertFalse(screen.contains("Objects ("), "the studio's screen is gone:\n\(screen)", file: file, line: line)
    }

    func previewArea(_ escaped: String) -> String {
        // Rows 14...36 of the 120x40 screen hold the preview pane; keep its coloured cells.
        escaped.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(13).prefix(22).joined(separator: "\n")
    }

    func writeSession(steps: Int, seeds: Int) throws {
        let dir = tmp.appendingPathComponent("config/likeness")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let json = """
        {"prompt":"a small yellow circle in the snow","negative":"","focus":"prompt","selectedObject":0,"version":1,
         "settings":{"steps":\(steps),"compareCount":\(seeds),"seed":5,"sampler":"euler-a"}}
        """
        try Data(json.utf8).write(to: dir.appendingPathComponent("session.json"))
    }

    func testPickObjectGenerateTwoSeedsSaveOneAndQuit() throws {
        try launch()
        try tmux.wait(for: "Objects (12)", timeout: 120)
        try tmux.wait(for: "added 12 sample objects", timeout: 120)
        // Shift-Tab from the prompt is the gallery; the second object becomes active.
        try tmux.keys("BTab")
        try tmux.keys("Down")
        try tmux.keys("Enter")
        try tmux.wait(for: "object: circle-yellow-striped-brown")
        try tmux.keys("Tab")
        try tmux.keys("C-e")
        try tmux.keys("C-u")
        try tmux.text("a <obj> in the snow")
        try tmux.wait(for: "a <obj> in the snow")
        try tmux.keys("C-g")
        // Previews change between steps while the job runs.
        var previews: [String: String] = [:]
        let end = Date().addingTimeInterval(120)
        while Date() < end {
            let plain = try tmux.screen()
            if plain.contains("done ·") { break }
            if let r = plain.range(of: #"step \d+/25"#, options: .regularExpression) {
                previews[String(plain[r])] = previewArea(try tmux.screen(escapes: true))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let screen = try tmux.wait(for: "done · 25/25")
        XCTAssertTrue(screen.contains("seed 1 · 25 steps"), screen)
        XCTAssertTrue(screen.contains("seed 2 · 25 steps"), screen)
        XCTAssertGreaterThanOrEqual(Set(previews.values).count, 2, "the preview changed between steps \(previews.keys.sorted())")

        // Both images are in the outputs folder with their parameters.
        let outputs = tmp.appendingPathComponent("data/likeness/outputs")
        var files: [String] = []
        for _ in 0..<50 {
            files = ((try? OutputStore(directory: outputs).list()) ?? []).map { $0.url.lastPathComponent }.sorted()
            if files.count == 2 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(files, ["00001-1.png", "00002-2.png"])

        // Save the second seed's image to a path of our choosing.
        let picked = tmp.appendingPathComponent("picked.png")
        try tmux.keys("Tab", "Tab", "Tab")
        try tmux.keys("Right")
        try tmux.keys("C-s")
        try tmux.wait(for: "Save seed 2 as")
        try tmux.keys("C-u")
        try tmux.text(picked.path)
        try tmux.keys("Enter")
        try tmux.wait(for: "saved \(picked.path)")
        let p = try PNGParameters.read(from: picked)
        XCTAssertEqual(p.prompt, "a <obj> in the snow")
        XCTAssertEqual(p["Seed"], "2")
        XCTAssertEqual(p["Steps"], "25")
        XCTAssertEqual(p["Sampler"], "DDIM")
        XCTAssertEqual(p["Object"], "circle-yellow-striped-brown")
        XCTAssertEqual(p["Size"], "64x64")
        let first = try PNGParameters.read(from: outputs.appendingPathComponent("00001-1.png"))
        XCTAssertEqual(first["Seed"], "1")
        XCTAssertEqual(first.prompt, "a <obj> in the snow")

        // History lists both outputs, newest first; Enter recalls the settings of seed 2.
        try tmux.keys("F2")
        let history = try tmux.wait(for: "History (2)")
        XCTAssertTrue(history.contains("seed 2 · 25 steps"), history)
        try tmux.keys("Enter")
        try tmux.wait(for: "recalled 00002-2.png")

        try tmux.keys("C-q")
        assertRestored(try tmux.wait(for: "STUDIO-END"), status: "0")
        // The session was saved for the next start.
        let session = try String(contentsOf: tmp.appendingPathComponent("config/likeness/session.json"), encoding: .utf8)
        XCTAssertTrue(session.contains("circle-yellow-striped-brown"), session)
    }

    /// `--model FILE.safetensors` (the sd1 fixture of scripts/fixtures/single_file.py) and
    /// `--loras DIR`: F5 lists the folder, Enter puts the tag in the prompt, Ctrl-G makes the image
    /// with the LoRA, and the saved PNG keeps the tag and A1111's Lora hashes.
    func testSingleFileModelAndTheLoRAList() throws {
        let fixtures = root.appendingPathComponent("Tests/Fixtures/generated/single_file")
        let model = fixtures.appendingPathComponent("sd1.safetensors"), lora = fixtures.appendingPathComponent("lora-kohya.safetensors")
        for f in [model, lora] { XCTAssertTrue(FileManager.default.fileExists(atPath: f.path), "\(f.path) missing: run scripts/fixtures/single_file.py") }
        let folder = tmp.appendingPathComponent("loras")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: lora, to: folder.appendingPathComponent("detail.safetensors"))
        try writeSession(steps: 2, seeds: 1)
        try launch(model: model.path, extra: "--loras '\(folder.path)'")
        try tmux.wait(for: "Likeness · sd1", timeout: 120)
        try tmux.wait(for: "a small yellow circle in the snow")
        try tmux.keys("F5")
        var screen = try tmux.wait(for: "[ ] detail")
        XCTAssertTrue(screen.contains("LoRAs · 0 in the prompt"), screen)
        try tmux.keys("Enter")
        screen = try tmux.wait(for: "LoRAs · 1 in the prompt")
        XCTAssertTrue(screen.contains("[x] detail"), screen)
        try tmux.keys("Right")
        try tmux.wait(for: " 1.05 ")
        try tmux.keys("Escape")
        // The list is closed (Esc must not run into the next key as Alt).
        let end = Date().addingTimeInterval(10)
        repeat { screen = try tmux.screen(); Thread.sleep(forTimeInterval: 0.05) } while screen.contains("LoRAs ·") && Date() < end
        XCTAssertTrue(screen.contains("a small yellow circle in the snow <lora:detail:1.05>"), screen)
        try tmux.keys("C-g")
        try tmux.wait(for: "done · 2/2", timeout: 120)
        let outputs = tmp.appendingPathComponent("data/likeness/outputs")
        var files: [String] = []
        for _ in 0..<50 {
            files = ((try? OutputStore(directory: outputs).list()) ?? []).map { $0.url.lastPathComponent }
            if !files.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(files.count, 1)
        let p = try PNGParameters.read(from: outputs.appendingPathComponent(try XCTUnwrap(files.first)))
        XCTAssertEqual(p.prompt, "a small yellow circle in the snow <lora:detail:1.05>")
        XCTAssertEqual(p["Lora hashes"], "detail: \(try LoRATags.shortHash(of: lora))")
        XCTAssertEqual(p["Model"], "sd1")
        try tmux.keys("C-q")
        assertRestored(try tmux.wait(for: "STUDIO-END"), status: "0")
    }

    func testCancelAndResizeMidJobThenCtrlCQuits() throws {
        try writeSession(steps: 400, seeds: 2)
        try launch()
        try tmux.wait(for: "a small yellow circle in the snow")
        try tmux.wait(for: "Objects (12)", timeout: 120)
        try tmux.keys("C-g")
        // Any step from the third on (steps can pass between two looks at the screen).
        try tmux.wait(matching: #"step ([3-9]|[1-9][0-9]+)/400 ·"#)
        try tmux.resize(80, 24)
        var s = try tmux.wait(for: "Preview", timeout: 10)
        XCTAssertTrue(s.split(separator: "\n").allSatisfy { $0.count <= 80 }, s)
        try tmux.resize(50, 15)
        try tmux.wait(for: "needs at least 60x18", timeout: 10)
        try tmux.resize(120, 40)
        s = try tmux.wait(for: "Compare · 2 seeds", timeout: 10)
        XCTAssertTrue(s.contains("/400"), "still running after the resizes:\n\(s)")
        let before = Date()
        try tmux.keys("Escape")
        s = try tmux.wait(for: "cancelled at step", timeout: 10)
        XCTAssertLessThan(Date().timeIntervalSince(before), 5, "cancel is honoured quickly")
        XCTAssertFalse(s.contains("done ·"))
        // Ctrl-C cancels a running job first, then quits when idle.
        try tmux.keys("C-g")
        // The running progress line (" · it/s") is not the previous run's "cancelled at step" line.
        try tmux.wait(matching: #"step ([2-9]|[1-9][0-9]+)/400 ·"#)
        try tmux.keys("C-c")
        try tmux.wait(for: "cancelled at step", timeout: 10)
        try tmux.keys("C-c")
        assertRestored(try tmux.wait(for: "STUDIO-END", timeout: 10), status: "0")
    }

    func testNoColorPlainTextColourHalfBlocksAndASCIIForAuto() throws {
        // NO_COLOR with half-blocks asked for by name: the text has no colour, the thumbnails do.
        try launch(environment: ["NO_COLOR": "1"])
        try tmux.wait(for: "added 12 sample objects", timeout: 120)
        var escaped = try tmux.screen(escapes: true)
        let lines = escaped.split(separator: "\n").map(String.init)
        let colour = #"\x1B\[[0-9;]*[34]8;5;"#
        let textLines = lines.filter { $0.contains("Objects (12)") || $0.contains("added 12 sample objects") }
        XCTAssertEqual(textLines.count, 2, escaped)
        // A line may start with a thumbnail; its text is what follows the last half-block.
        for l in textLines {
            let text = l.range(of: "\u{2580}", options: .backwards).map { String(l[$0.upperBound...]) } ?? l
            XCTAssertNil(text.range(of: colour, options: .regularExpression), "no colour in text: \(text)")
        }
        XCTAssertGreaterThan(lines.filter { $0.contains("\u{2580}") && $0.range(of: colour, options: .regularExpression) != nil }.count, 3,
                             "half-block thumbnails in colour:\n\(escaped)")
        try tmux.keys("C-q")
        assertRestored(try tmux.wait(for: "STUDIO-END"), status: "0")
        tmux.stop()

        // NO_COLOR with the automatic choice: ASCII thumbnails, nothing coloured anywhere.
        tmux = TmuxStudio(dir: tmp)
        try launch(extra: "--preview auto", environment: ["NO_COLOR": "1"])
        try tmux.wait(for: "Objects (12)", timeout: 120)
        escaped = try tmux.screen(escapes: true)
        XCTAssertNil(escaped.range(of: colour, options: .regularExpression), escaped)
        XCTAssertFalse(escaped.contains("\u{2580}"), escaped)
        try tmux.keys("C-q")
        assertRestored(try tmux.wait(for: "STUDIO-END"), status: "0")
    }

    func testSIGTERMRestoresTheTerminal() throws {
        try launch()
        try tmux.wait(for: "Objects (")
        let text = try String(contentsOf: tmp.appendingPathComponent("pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try XCTUnwrap(Int32(text), "pid file: \(text)")
        XCTAssertEqual(kill(pid, SIGTERM), 0, "the studio process was found")
        assertRestored(try tmux.wait(for: "STUDIO-END", timeout: 10), status: "143")
    }

    func testCrashSignalRestoresTheTerminal() throws {
        try launch()
        try tmux.wait(for: "Objects (")
        let text = try String(contentsOf: tmp.appendingPathComponent("pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try XCTUnwrap(Int32(text), "pid file: \(text)")
        XCTAssertEqual(kill(pid, SIGABRT), 0)
        // The handler restores the terminal, then the default action ends the process (128 + 6).
        assertRestored(try tmux.wait(for: "STUDIO-END", timeout: 20), status: "134")
    }

    func testRefusesWithoutATerminal() throws {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = ["studio", "--model", root.appendingPathComponent("Models/toybox").path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        p.standardInput = Pipe()
        try p.run()
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("needs a terminal"), text)
    }
}
