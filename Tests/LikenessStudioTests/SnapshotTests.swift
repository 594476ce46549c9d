// The view at fixed sizes, compared as text with Snapshots/*.txt (see StudioTestSupport.swift
// for re-recording). One scene per pane focus, the compare grid, history, help and the
// minimum-size message, the LoRA list, each at 80x24, 120x40 and 200x60.

import XCTest
import LikenessImaging
@testable import LikenessStudio

final class SnapshotTests: XCTestCase {
    static let sizes = [(80, 24), (120, 40), (200, 60)]
    let theme = Theme.builtinDark

    func scene(_ w: Int, _ h: Int) -> StudioState {
        var s = Fixture.state(w, h)
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(5)))
        _ = Studio.update(&s, .status("added 5 sample objects to the gallery", .ok))
        s.promptCheck = PromptCheck(unknownWords: [], tokenCount: 16, maxTokens: 32)
        return s
    }

    func render(_ s: StudioState) -> CellGrid { StudioView.render(s, theme: theme).grid }

    func check(_ name: String, _ make: (Int, Int) -> StudioState, file: StaticString = #filePath, line: UInt = #line) {
        for (w, h) in Self.sizes {
            assertSnapshot(render(make(w, h)), "\(name)-\(w)x\(h)", file: file, line: line)
        }
    }

    func testPromptFocused() {
        check("prompt") { w, h in
            var s = scene(w, h)
            s.prompt.setText("a <obj> on the glittery beach, at the left")
            s.gallery.active = "heart-blue-checkered-black"
            s.promptCheck = PromptCheck(unknownWords: ["glittery"], tokenCount: 14, maxTokens: 32)
            return s
        }
    }

    func testGalleryFocused() {
        check("gallery") { w, h in
            var s = scene(w, h)
            s.focus = .gallery
            s.gallery.active = "heart-blue-checkered-black"
            s.gallery.selected = 2
            return s
        }
    }

    func testStaleFlagKeepsItsKeyInANarrowGallery() {
        for (w, h, flag) in [(80, 24, "stale: e"), (200, 60, "stale: e re-encodes")] {
            let text = render(scene(w, h)).text
            XCTAssertTrue(text.contains(flag + " ") || text.contains(flag + "│"), "\(w)x\(h): \(flag)")
            XCTAssertFalse(text.contains("stale: …"), "\(w)x\(h)")
        }
        XCTAssertEqual(GalleryPane.staleMark(3), "stale", "narrower than every wording: the shortest, clipped by the painter")
    }

    func testSettingsFocusedWithRefusedValue() {
        check("settings") { w, h in
            var s = scene(w, h)
            s.focus = .settings
            send(&s, .down, .down)
            type(&s, "0")
            send(&s, .enter)
            return s
        }
    }

    func testPreviewRunning() {
        check("preview") { w, h in
            var s = scene(w, h)
            s.settings.compareCount = 1
            send(&s, .ctrl("g"))
            _ = Studio.update(&s, .job(run: 1, index: 0, .step(step: 10, total: 25, previews: [Fixture.image(1)], elapsed: 1.0, itPerSec: 10)))
            s.focus = .preview
            return s
        }
    }

    func testCompareGridSeedsByIdentityGuidance() {
        check("compare") { w, h in
            var s = scene(w, h)
            s.prompt.setText("a <obj> in the snow")
            s.gallery.active = "circle-black-checkered-red"
            s.settings.axis = .identity
            s.settings.compareCount = 3
            send(&s, .ctrl("g"))
            for j in 0..<4 {
                if j < 2 {
                    _ = Studio.update(&s, .job(run: 1, index: j, .finished(images: (0..<3).map { Fixture.image($0 + j) }, elapsed: 2.5, warnings: [])))
                } else if j == 2 {
                    _ = Studio.update(&s, .job(run: 1, index: j, .step(step: 7, total: 25, previews: (0..<3).map { Fixture.image($0 + 5) }, elapsed: 0.7, itPerSec: 10)))
                }
            }
            s.focus = .preview
            s.preview.selected = 4
            return s
        }
    }

    func testHistoryScreen() {
        check("history") { w, h in
            var s = scene(w, h)
            var st = StudioSettings()
            st.generation.seed = 42
            let items = (0..<4).map { i in
                HistoryItem(path: "/tmp/outputs/0000\(4 - i)-\(42 + i).png", title: "a <obj> on the beach \(i)", detail: "seed \(42 + i) · 25 steps · ddim",
                            recall: Recall(prompt: "a <obj> on the beach \(i)", negative: i == 0 ? "blurry" : "", settings: st, object: "star-red-striped-blue"),
                            thumb: Fixture.image(i))
            }
            s.screen = .history
            _ = Studio.update(&s, .historyLoaded(items))
            return s
        }
    }

    func testHelpOverlay() {
        check("help") { w, h in
            var s = scene(w, h)
            send(&s, .function(1))
            return s
        }
    }

    func testLoRAList() {
        check("loras") { w, h in
            var s = scene(w, h)
            s.prompt.setText("a (red:1.2) star, [blurry] <lora:detail:0.8> <lora:gone:0.5>")
            send(&s, .function(5))
            _ = Studio.update(&s, .lorasLoaded(folder: "/home/user/.local/share/likeness/loras",
                                               names: ["detail", "pixel-art", "watercolour-style"]))
            send(&s, .down, .right)
            return s
        }
    }

    func testMinimumSizeMessageAndRecovery() {
        var s = scene(50, 15)
        assertSnapshot(render(s), "too-small-50x15")
        XCTAssertTrue(render(s).text.contains("needs at least 60x18"))
        _ = Studio.update(&s, .resize(width: 60, height: 18))
        let grid = render(s)
        XCTAssertFalse(grid.text.contains("needs at least"))
        assertSnapshot(grid, "minimum-60x18")
    }

    /// Colour reaches the grid: unknown words and the placeholder have their theme styles, and
    /// half-block previews carry the image's colours.
    func testStylesOfUnknownWordsPlaceholderAndPreview() {
        var s = scene(120, 40)
        s.prompt.setText("a <obj> on the glittery beach")
        s.promptCheck = PromptCheck(unknownWords: ["glittery"], tokenCount: 10, maxTokens: 32)
        var grid = render(s)
        let p = Layout(width: 120, height: 40).prompt.inset(1)
        XCTAssertEqual(grid[p.x + 2, p.y].text, "<")
        XCTAssertEqual(grid[p.x + 2, p.y].style, theme.style(.error), "placeholder without an object is an error")
        XCTAssertEqual(grid[p.x + 15, p.y].text, "g")
        XCTAssertEqual(grid[p.x + 15, p.y].style, theme.style(.unknownWord))
        XCTAssertEqual(grid[p.x + 24, p.y].style, theme.style(.text), "known words are plain")
        s.gallery.active = "star-red-striped-blue"
        grid = render(s)
        XCTAssertEqual(grid[p.x + 2, p.y].style, theme.style(.placeholder))

        s.settings.compareCount = 1
        s.prompt.setText("a red star")
        s.gallery.active = nil
        send(&s, .ctrl("g"))
        _ = Studio.update(&s, .job(run: 1, index: 0, .step(step: 1, total: 25, previews: [Fixture.image(3)], elapsed: 0.1, itPerSec: 10)))
        let blocks = render(s).cells.filter { $0.text == "▀" && $0.style.fg != nil && $0.style.bg != nil }
        XCTAssertGreaterThan(blocks.count, 50)
        _ = Studio.update(&s, .job(run: 1, index: 0, .step(step: 2, total: 25, previews: [Fixture.image(9)], elapsed: 0.2, itPerSec: 10)))
        let after = render(s).cells.filter { $0.text == "▀" }
        XCTAssertNotEqual(blocks.map(\.style), after.map(\.style), "a new preview changes the cells")
    }

    /// Sixel mode leaves the preview cells blank and hands the image to the driver instead.
    func testSixelModeLeavesImageCellsToTheDriver() {
        var s = scene(120, 40)
        s.previewMode = .sixel
        s.settings.compareCount = 2
        send(&s, .ctrl("g"))
        _ = Studio.update(&s, .job(run: 1, index: 0, .step(step: 1, total: 25, previews: [Fixture.image(1), Fixture.image(2)], elapsed: 0.1, itPerSec: 10)))
        let frame = StudioView.render(s, theme: theme)
        let layout = Layout(width: 120, height: 40)
        XCTAssertEqual(frame.images.filter { layout.preview.contains(x: $0.rect.x, y: $0.rect.y) }.count, 2)
        XCTAssertEqual(frame.images.filter { layout.gallery.contains(x: $0.rect.x, y: $0.rect.y) }.count, 5, "thumbnails are sixels too")
        XCTAssertTrue(frame.trueColorRects.isEmpty)
        for p in frame.images {
            for y in p.rect.y..<p.rect.maxY { for x in p.rect.x..<p.rect.maxX { XCTAssertEqual(frame.grid[x, y].text, " ") } }
        }
        send(&s, .function(1))
        XCTAssertTrue(StudioView.render(s, theme: theme).images.allSatisfy { layout.gallery.contains(x: $0.rect.x, y: $0.rect.y) },
                      "no sixel over the help overlay (the thumbnails beside it stay)")
    }
}

extension SnapshotTests {
    /// A finished image used as the init image, live mode on, and the strength axis: the title
    /// says LIVE and which init image at which strength; the grid rows are the strengths.
    func testInitImageLiveAndStrengthAxis() {
        check("init-live") { w, h in
            var s = scene(w, h)
            s.settings.compareCount = 2
            s.settings.axis = .strength
            s.initImage = InitImageChoice(image: Fixture.image(3), label: "seed 7")
            send(&s, .ctrl("g"))
            for i in 0..<3 {
                _ = Studio.update(&s, .job(run: 1, index: i, .finished(images: [Fixture.image(i), Fixture.image(i + 5)], elapsed: 1, warnings: [])))
            }
            s.live.on = true
            s.focus = .preview
            return s
        }
    }
}
