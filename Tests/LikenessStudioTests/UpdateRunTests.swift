// update(): runs (seeds × axis values), engine events into cells, saving, queue or replace,
// seed modes, the gallery keys, the preview/compare keys and the history screen.

import XCTest
import LikenessImaging
@testable import LikenessStudio

final class UpdateRunTests: XCTestCase {
    func generatePlan(_ s: inout StudioState) -> GenerationPlan? {
        for e in send(&s, .ctrl("g")) { if case .generate(let p) = e { return p } }
        return nil
    }

    func withObject() -> StudioState {
        var s = Fixture.state()
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(3)))
        s.gallery.active = "circle-black-checkered-red"
        s.prompt.setText("a <obj> in the snow")
        return s
    }

    func testStepPreviewsFillTheirSeedCellsAndFinishSavesEachImage() throws {
        var s = Fixture.state()
        let plan = try XCTUnwrap(generatePlan(&s))
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .started))
        let a = Fixture.image(1), b = Fixture.image(2)
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .step(step: 3, total: 25, previews: [a, b], elapsed: 0.3, itPerSec: 10)))
        XCTAssertEqual(s.run?.cells.map(\.image), [a, b])
        XCTAssertEqual(s.run?.cells.map(\.step), [3, 3])
        XCTAssertEqual(s.run?.jobs[0].phase, .running)
        let fa = Fixture.image(5), fb = Fixture.image(6)
        let effects = Studio.update(&s, .job(run: plan.runID, index: 0, .finished(images: [fa, fb], elapsed: 2.0, warnings: [])))
        XCTAssertFalse(s.jobRunning)
        XCTAssertEqual(s.run?.cells.map(\.done), [true, true])
        XCTAssertEqual(s.statusKind, .ok)
        let saves = effects.compactMap { e -> (Int, UInt64)? in
            if case let .saveOutput(_, cell, image, meta) = e { XCTAssertEqual(image, cell == 0 ? fa : fb); return (cell, meta.seed) }
            return nil
        }
        XCTAssertEqual(saves.map(\.0), [0, 1])
        XCTAssertEqual(saves.map(\.1), [1, 2])
        _ = Studio.update(&s, .outputSaved(run: plan.runID, cell: 1, path: "/x/00002-2.png"))
        XCTAssertEqual(s.run?.cells[1].savedPath, "/x/00002-2.png")
        // Events of an older run are ignored.
        _ = Studio.update(&s, .job(run: plan.runID + 5, index: 0, .failed("stale")))
        XCTAssertNotEqual(s.status, "stale")
    }

    func testFailureShowsTheEnginesMessage() throws {
        var s = Fixture.state()
        let plan = try XCTUnwrap(generatePlan(&s))
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .failed("image size 63x64 is not allowed")))
        XCTAssertEqual(s.statusKind, .error)
        XCTAssertEqual(s.status, "image size 63x64 is not allowed")
        XCTAssertFalse(s.jobRunning)
        // A failure the engine pins on a field moves focus there.
        let again = try XCTUnwrap(generatePlan(&s))
        _ = Studio.update(&s, .job(run: again.runID, index: 0, .failedAt(.settings, "sampler euler-a has no Karras sigmas")))
        XCTAssertEqual(s.focus, .settings)
        XCTAssertEqual(s.statusKind, .error)
    }

    func testReplaceCancelsTheRunningRunAndQueueWaitsForIt() throws {
        var s = Fixture.state()
        let first = try XCTUnwrap(generatePlan(&s))
        s.prompt.setText("a small yellow circle in the snow")
        var effects = send(&s, .ctrl("g"))
        XCTAssertTrue(effects.contains(.cancel(run: first.runID)))
        XCTAssertEqual(s.run?.plan.runID, first.runID + 1)

        s.settings.busyPolicy = .queue
        s.prompt.setText("a red star")
        effects = send(&s, .ctrl("g"))
        XCTAssertFalse(effects.contains { if case .generate = $0 { return true }; return false })
        XCTAssertEqual(s.queued?.jobs.first?.prompt, "a red star")
        effects = Studio.update(&s, .job(run: first.runID + 1, index: 0, .finished(images: [Fixture.image(1), Fixture.image(2)], elapsed: 1, warnings: [])))
        XCTAssertTrue(effects.contains { if case .generate(let p) = $0 { return p.jobs[0].prompt == "a red star" }; return false })
        XCTAssertNil(s.queued)
        XCTAssertTrue(s.jobRunning)
    }

    func testIdentityAxisMakesOneJobPerValueAndAGrid() throws {
        var s = withObject()
        s.settings.axis = .identity
        s.settings.identityValues = "0, 1.5, 3, 5"
        s.settings.compareCount = 3
        let plan = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(plan.jobs.map(\.identityGuidance), [0, 1.5, 3, 5])
        XCTAssertEqual(plan.jobs.map(\.seeds), Array(repeating: [1, 2, 3], count: 4))
        XCTAssertEqual(plan.object, "circle-black-checkered-red")
        XCTAssertEqual(s.run?.cells.count, 12)
        XCTAssertEqual(s.run?.columns, 3)
        XCTAssertEqual(s.run?.rows, 4)
        // Events of job 2 land in row 2.
        _ = Studio.update(&s, .job(run: plan.runID, index: 2, .step(step: 1, total: 25, previews: [Fixture.image(1), nil, Fixture.image(3)], elapsed: 0.1, itPerSec: 10)))
        XCTAssertNotNil(s.run?.cells[6].image)
        XCTAssertNil(s.run?.cells[7].image)
        XCTAssertNil(s.run?.cells[0].image)
    }

    func testPromptSearchReplaceAxis() throws {
        var s = withObject()
        s.settings.axis = .prompt
        s.settings.promptValues = "snow | beach | city"
        s.settings.compareCount = 1
        let plan = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(plan.jobs.map(\.prompt), ["a <obj> in the snow", "a <obj> in the beach", "a <obj> in the city"])
        s.settings.promptValues = "jungle | beach"
        XCTAssertNil(generatePlan(&s))
        XCTAssertTrue(s.status.contains("\"jungle\" is not in the prompt"), s.status)
    }

    func testSeedModesFixedKeepsSeedsIncrementMovesThem() throws {
        var s = Fixture.state()
        let a = try XCTUnwrap(generatePlan(&s))
        s.prompt.setText("a small yellow circle in the snow")
        let b = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(a.jobs[0].seeds, b.jobs[0].seeds, "re-running an edited prompt keeps the seeds")
        s.settings.seedMode = .increment
        let c = try XCTUnwrap(generatePlan(&s))
        let d = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(c.jobs[0].seeds, [1, 2])
        XCTAssertEqual(d.jobs[0].seeds, [3, 4])
        s.settings.seedMode = .random
        let e = try XCTUnwrap(generatePlan(&s))
        let f = try XCTUnwrap(generatePlan(&s))
        XCTAssertNotEqual(e.jobs[0].seeds, f.jobs[0].seeds)
        XCTAssertEqual(s.settings.generation.seed, f.jobs[0].seeds[0], "the seed used is shown in settings")
    }

    func testPreviewKeysPickZoomSaveAndBaseSeed() throws {
        var s = Fixture.state()
        s.settings.generation.seed = 10
        let plan = try XCTUnwrap(generatePlan(&s))
        s.focus = .preview
        send(&s, .right)
        XCTAssertEqual(s.preview.selected, 1)
        send(&s, .char("b"))
        XCTAssertEqual(s.settings.generation.seed, 11)
        send(&s, .enter)
        XCTAssertEqual(s.preview.zoomed, 1)
        send(&s, .escape)
        XCTAssertNil(s.preview.zoomed)
        XCTAssertTrue(s.jobRunning, "Esc closes the large view before it cancels")
        send(&s, .ctrl("s"))
        XCTAssertNil(s.overlay, "unfinished images cannot be saved")
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .finished(images: [Fixture.image(1), Fixture.image(2)], elapsed: 1, warnings: [])))
        send(&s, .ctrl("s"))
        guard case .input(let p)? = s.overlay else { return XCTFail("no save prompt") }
        XCTAssertEqual(p.kind, .saveImage(cell: 1))
        send(&s, .ctrl("u"))
        type(&s, "/tmp/pick.jpg")
        send(&s, .enter)
        guard case .input(let q)? = s.overlay else { return XCTFail("the prompt should stay open") }
        XCTAssertEqual(q.error, "the file name must end in .png")
        send(&s, .backspace, .backspace, .backspace)
        type(&s, "png")
        let effects = send(&s, .enter)
        guard case let .saveImage(image, meta, path)? = effects.first else { return XCTFail("no save effect: \(effects)") }
        XCTAssertEqual(path, "/tmp/pick.png")
        XCTAssertEqual(meta.seed, 11)
        XCTAssertEqual(image, Fixture.image(2))
        XCTAssertNil(s.overlay)
    }

    func testGalleryKeys() {
        var s = Fixture.state()
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(4)))
        s.focus = .gallery
        send(&s, .down)
        send(&s, .enter)
        XCTAssertEqual(s.gallery.active, "heart-blue-checkered-black")
        send(&s, .enter)
        XCTAssertNil(s.gallery.active, "Enter on the active object clears it")
        send(&s, .down)
        send(&s, .enter)
        XCTAssertNil(s.gallery.active, "a stale object is not used")
        XCTAssertTrue(s.status.contains("press e"), s.status)
        XCTAssertEqual(send(&s, .char("e")), [.reencodeObjects(["star-red-striped-blue"])])
        s.gallery.items[0].stale = true
        XCTAssertEqual(send(&s, .char("E")), [.reencodeObjects(["circle-black-checkered-red", "star-red-striped-blue"])],
                       "E: every stale object, only those, in gallery order")
        XCTAssertTrue(s.status.contains("re-encoding 2 stale objects…"), s.status)
        s.gallery.items[0].stale = false
        s.gallery.items[2].stale = false
        XCTAssertEqual(send(&s, .char("E")), [])
        XCTAssertTrue(s.status.contains("no stale objects"), s.status)
        s.gallery.items[2].stale = true
        send(&s, .char("d"))
        XCTAssertEqual(s.overlay, .confirmDelete("star-red-striped-blue"))
        XCTAssertEqual(send(&s, .char("n")), [])
        send(&s, .char("d"))
        XCTAssertEqual(send(&s, .char("y")), [.removeObject("star-red-striped-blue")])
        send(&s, .char("r"))
        send(&s, .ctrl("u"))
        type(&s, "heart-blue-checkered-black")
        send(&s, .enter)
        guard case .input(let p)? = s.overlay else { return XCTFail("rename prompt closed") }
        XCTAssertTrue(p.error?.contains("exists") ?? false)
        send(&s, .ctrl("u"))
        type(&s, "bad/name")
        send(&s, .enter)
        if case .input(let q)? = s.overlay { XCTAssertTrue(q.error?.contains("/") ?? false) } else { XCTFail("refused name closed the prompt") }
        send(&s, .ctrl("u"))
        type(&s, "my-star")
        XCTAssertEqual(send(&s, .enter), [.renameObject(from: "star-red-striped-blue", to: "my-star")])
        send(&s, .char("a"))
        XCTAssertEqual(send(&s, .tab), [.completePath("")])
        _ = Studio.update(&s, .completed("Samples/objects/", candidates: []))
        type(&s, "cat.png")
        send(&s, .enter)
        guard case .input(let n)? = s.overlay, case .addObjectName(let path) = n.kind else { return XCTFail("no name prompt") }
        XCTAssertEqual(path, "Samples/objects/cat.png")
        XCTAssertEqual(n.buffer.text, "cat")
        XCTAssertEqual(send(&s, .enter), [.addObject(path: "Samples/objects/cat.png", name: "cat")])
        XCTAssertNotNil(s.gallery.busy)
        // A numbered photo in a folder named for its subject: the folder leads the offered name.
        send(&s, .char("a"))
        type(&s, "dreambench/dog/03.jpg")
        send(&s, .enter)
        guard case .input(let d)? = s.overlay else { return XCTFail("no name prompt") }
        XCTAssertEqual(d.buffer.text, "dog-03")
        send(&s, .ctrl("u"))
        type(&s, "..")
        send(&s, .enter)
        guard case .input(let refused)? = s.overlay else { return XCTFail("a bad name closes nothing") }
        XCTAssertTrue(refused.error?.contains("not allowed") ?? false, "\(String(describing: refused.error))")
    }

    func testChoosingAnObjectTurnsTheUntouchedSamplePromptIntoAnObjectPrompt() throws {
        var s = Fixture.state()
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(3)))
        s.focus = .gallery
        send(&s, .enter)
        XCTAssertEqual(s.prompt.text, StudioState.sampleObjectPrompt)
        let plan = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(plan.object, "circle-black-checkered-red")
        // An edited prompt is left alone, with a hint.
        var t = Fixture.state()
        _ = Studio.update(&t, .galleryLoaded(Fixture.galleryItems(3)))
        t.prompt.setText("a red star")
        t.focus = .gallery
        send(&t, .enter)
        XCTAssertEqual(t.prompt.text, "a red star")
        XCTAssertEqual(t.statusKind, .warning)
        XCTAssertTrue(t.status.contains("Ctrl-O"), t.status)
    }

    func testGalleryPagingWithHundredsOfObjects() {
        var s = Fixture.state(120, 40)
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(500)))
        s.focus = .gallery
        send(&s, .pageDown, .pageDown)
        let page = StudioView.galleryPageSize(s)
        XCTAssertEqual(s.gallery.selected, 2 * page)
        send(&s, .end)
        XCTAssertEqual(s.gallery.selected, 499)
        let grid = StudioView.render(s, theme: .builtinDark)
        XCTAssertTrue(grid.grid.text.contains("object-499"))
        XCTAssertTrue(grid.grid.text.contains("500/500"))
    }

    func testHistoryScreenRecallsEverySetting() {
        var s = Fixture.state()
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(3)))
        XCTAssertEqual(send(&s, .function(2)), [.loadHistory])
        XCTAssertEqual(s.screen, .history)
        var st = StudioSettings()
        st.generation.steps = 30; st.generation.seed = 77; st.generation.sampler = .euler; st.generation.karras = true; st.generation.textGuidance = 7.5; st.generation.identityGuidance = 1.5
        let r = Recall(prompt: "a <obj> on the beach", negative: "blurry", settings: st, object: "heart-blue-checkered-black")
        _ = Studio.update(&s, .historyLoaded([HistoryItem(path: "/o/00001-5.png", title: "x", detail: "", recall: nil, thumb: nil),
                                              HistoryItem(path: "/o/00002-77.png", title: "y", detail: "", recall: r, thumb: nil)]))
        send(&s, .enter)
        XCTAssertEqual(s.screen, .history, "an image without parameters recalls nothing")
        XCTAssertEqual(s.statusKind, .warning)
        send(&s, .down)
        let effects = send(&s, .enter)
        XCTAssertEqual(s.screen, .studio)
        XCTAssertEqual(s.prompt.text, "a <obj> on the beach")
        XCTAssertEqual(s.negative.text, "blurry")
        XCTAssertEqual(s.settings.generation.steps, 30)
        XCTAssertEqual(s.settings.generation.seed, 77)
        XCTAssertEqual(s.settings.generation.sampler, .euler)
        XCTAssertEqual(s.settings.generation.karras, true)
        XCTAssertEqual(s.settings.generation.textGuidance, 7.5)
        XCTAssertEqual(s.settings.generation.identityGuidance, 1.5)
        XCTAssertEqual(s.settings.seedMode, .fixed)
        XCTAssertEqual(s.gallery.active, "heart-blue-checkered-black")
        XCTAssertEqual(effects.count, 1)
        // A recall from another tool's format names the tool.
        var comfy = r
        comfy.source = "ComfyUI"
        comfy.spec.object = nil
        _ = Studio.update(&s, .recalled(comfy, from: "/tmp/ComfyUI_00001_.png"))
        XCTAssertEqual(s.status, "recalled ComfyUI_00001_.png (ComfyUI); Ctrl-G regenerates")
        // Opening any image goes through the path prompt.
        send(&s, .function(2), .char("o"))
        type(&s, "/tmp/a1111.png")
        XCTAssertEqual(send(&s, .enter), [.openParameters(path: "/tmp/a1111.png")])
    }

    func testHistoryAsksForTheSelectedImageOnceAndShowsItWhenItCame() {
        var s = Fixture.state()
        XCTAssertEqual(send(&s, .function(2)), [.loadHistory])
        let items = [HistoryItem(path: "/o/00002-2.png", title: "b", detail: "", recall: nil, thumb: Fixture.image(1, w: 4, h: 4)),
                     HistoryItem(path: "/o/00001-1.png", title: "a", detail: "", recall: nil, thumb: Fixture.image(2, w: 4, h: 4))]
        XCTAssertEqual(Studio.update(&s, .historyLoaded(items)), [.loadHistoryImage(path: "/o/00002-2.png")])
        XCTAssertEqual(Studio.update(&s, .status("x", .info)), [], "asked once, not at every message")
        let withThumb = StudioView.render(s, theme: .builtinDark).grid
        let full = Fixture.image(3, w: 64, h: 64)
        XCTAssertEqual(Studio.update(&s, .historyImageLoaded(path: "/o/00002-2.png", image: full)), [])
        XCTAssertEqual(s.history.image?.image, full)
        XCTAssertNotEqual(StudioView.render(s, theme: .builtinDark).grid, withThumb, "the detail shows the full image")
        // The next entry: asked for; an answer for another path does not show under it.
        XCTAssertEqual(send(&s, .down), [.loadHistoryImage(path: "/o/00001-1.png")])
        let beforeAnswer = StudioView.render(s, theme: .builtinDark).grid
        _ = Studio.update(&s, .historyImageLoaded(path: "/o/00002-2.png", image: full))
        XCTAssertEqual(StudioView.render(s, theme: .builtinDark).grid, beforeAnswer)
        // A reloaded list asks again (an output may have been replaced); the studio screen asks nothing.
        XCTAssertEqual(Studio.update(&s, .historyLoaded(items)), [.loadHistoryImage(path: "/o/00001-1.png")])
        send(&s, .escape)
        XCTAssertEqual(s.screen, .studio)
        XCTAssertEqual(Studio.update(&s, .historyLoaded(items)), [])
    }

    func testAutoPreviewsDecodeSmallLatentsAndSpareLargeOnes() {
        let toybox = ModelFacts(name: "toybox", vaeFactor: 4, hasLatentPreview: true)
        XCTAssertTrue(toybox.previewPlan(.auto, width: 64, height: 64) == (.decode, 1), "16 x 16 latents: a decode is cheap")
        XCTAssertTrue(toybox.previewPlan(.auto, width: 256, height: 256) == (.latent, 1), "64 x 64 latents: the map")
        let sd = ModelFacts(name: "sd15", vaeFactor: 8, hasLatentPreview: false)
        XCTAssertTrue(sd.previewPlan(.auto, width: 256, height: 256) == (.decode, 1), "32 x 32 latents")
        XCTAssertTrue(sd.previewPlan(.auto, width: 512, height: 512) == (.decode, 8), "64 x 64 latents and no map: every 8th step")
        XCTAssertTrue(sd.previewPlan(.auto, width: 768, height: 768) == (.decode, 18))
        XCTAssertTrue(sd.previewPlan(.decode, width: 768, height: 768) == (.decode, 1), "asked for by name: every step")
        XCTAssertTrue(sd.previewPlan(.latent, width: 512, height: 512) == (.latent, 1))
        XCTAssertEqual(StudioSettings().previewQuality, .auto)
    }

    /// The second axis travels as a typed value (no label parsed back), and the Values row's hint
    /// is drawn, never edited or stored.
    func testAxisValuesAreTypedAndTheValuesHintIsNoValue() throws {
        var s = withObject()
        s.settings.axis = .identity
        s.settings.identityValues = "0.25, 7"
        s.settings.compareCount = 1
        _ = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(s.run?.cells.map(\.axisValue), [.identityGuidance(0.25), .identityGuidance(7)])
        XCTAssertEqual(s.run?.cells[0].axisValue?.label, "id 0.25")
        s.focus = .preview
        s.preview.selected = 0
        send(&s, .char("b"))
        XCTAssertEqual(s.settings.generation.identityGuidance, 0.25)

        s.settings.axis = .prompt
        s.settings.promptValues = ""
        s.focus = .settings
        s.settingsPane.row = SettingField.axisValues.rawValue
        XCTAssertTrue(StudioView.render(s, theme: .builtinDark).grid.text.contains("(type: term"))
        send(&s, .enter)
        XCTAssertEqual(s.settingsPane.edit, "", "the hint is not put into the field")
        type(&s, "snow | sand")
        send(&s, .enter)
        XCTAssertEqual(s.settings.promptValues, "snow | sand")
        s.settings.promptValues = "beach | snow"
        s.prompt.setText("a <obj> on the beach")
        s.settings.axis = .prompt
        _ = try XCTUnwrap(generatePlan(&s))
        XCTAssertEqual(s.run?.cells.map(\.axisValue), [.promptTerm("beach"), .promptTerm("snow")])
        s.focus = .preview
        s.preview.selected = 1
        send(&s, .char("b"))
        XCTAssertEqual(s.settings.generation.identityGuidance, 0.25, "a prompt term leaves identity guidance alone")
    }
}
