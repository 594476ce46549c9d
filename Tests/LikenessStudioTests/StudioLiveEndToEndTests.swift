// Live mode end to end: the real `likeness studio` on Models/toybox in tmux (as
// StudioEndToEndTests). F3 turns live mode on and draws a draft; typing into the prompt re-renders
// it (the preview changes, the status names the draft); no plan waits in the studio's queue while
// typing (a new draft only waits for the draft it cancelled to stop, which the preview line says as
// "live: stopping the previous draft", UpdateLiveTests), drafts are not saved; Ctrl-G then makes and saves the full-quality image; i on it makes it
// the init image, shown on the progress line.

import Foundation
import LikenessKit
import XCTest

extension StudioEndToEndTests {
    func testLiveModeTypingRerendersWithoutQueueing() throws {
        try writeSession(steps: 25, seeds: 2)
        try launch()
        try tmux.wait(for: "a small yellow circle in the snow")
        try tmux.wait(for: "Objects (12)", timeout: 120)
        try tmux.keys("F3")
        try tmux.wait(for: "live: draft in", timeout: 60)
        let first = previewArea(try tmux.screen(escapes: true))
        XCTAssertTrue(try tmux.screen().contains("LIVE · Preview"))

        // Type, a key at a time; the queue line never shows a waiting plan or images ahead of the draft.
        var sawQueued = false
        for ch in " at the left" {
            try tmux.text(String(ch))
            let plain = try tmux.screen()
            if plain.contains("1 queued") || plain.contains("waiting for the engine") { sawQueued = true }
            Thread.sleep(forTimeInterval: 0.03)
        }
        try tmux.wait(for: "in the snow at the left")
        // The draft of the final prompt arrives and differs from the first.
        var changed = false
        let end = Date().addingTimeInterval(60)
        while Date() < end {
            let plain = try tmux.screen()
            if plain.contains("1 queued") || plain.contains("waiting for the engine") { sawQueued = true }
            if plain.contains("live: draft in"), previewArea(try tmux.screen(escapes: true)) != first { changed = true; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let after = try tmux.screen()
        XCTAssertTrue(changed, "the image changed after typing:\n\(after)")
        XCTAssertFalse(sawQueued, "nothing waited in the queue while typing")
        let outputs = tmp.appendingPathComponent("data/likeness/outputs")
        let drafts = ((try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? []).filter { $0.hasSuffix(".png") }
        XCTAssertEqual(drafts, [], "live drafts are not saved")

        // Ctrl-G: the full-quality images (25 steps, both seeds), saved.
        try tmux.keys("C-g")
        let done = try tmux.wait(for: "done · 25/25", timeout: 120)
        XCTAssertTrue(done.contains("seed 6 · 25 steps"), done)
        var files: [String] = []
        for _ in 0..<50 {
            files = ((try? OutputStore(directory: outputs).list()) ?? []).map { $0.url.lastPathComponent }.sorted()
            if files.count == 2 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(files, ["00001-5.png", "00002-6.png"])

        // The first full image as the init image; the progress line says so.
        try tmux.keys("F3")
        try tmux.wait(for: "live mode off")
        try tmux.keys("Tab", "Tab", "Tab")
        try tmux.keys("i")
        try tmux.wait(for: "init seed 5 @0.75")
        try tmux.keys("C-q")
        assertRestored(try tmux.wait(for: "STUDIO-END"), status: "0")
    }
}
