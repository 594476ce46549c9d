// update(): keys → state and effects for focus, editing, quitting, help and settings.

import XCTest
@testable import LikenessStudio

final class UpdateKeysTests: XCTestCase {
    func testFirstStartPromptFocusedAndCtrlGGeneratesAtOnce() throws {
        var s = Fixture.state()
        XCTAssertEqual(s.focus, .prompt)
        XCTAssertFalse(s.prompt.text.isEmpty)
        let effects = send(&s, .ctrl("g"))
        guard case .generate(let plan)? = effects.first(where: { if case .generate = $0 { return true }; return false }) else {
            return XCTFail("no generate effect in \(effects)")
        }
        XCTAssertEqual(plan.jobs.count, 1)
        XCTAssertEqual(plan.jobs[0].seeds, [1, 2])
        XCTAssertEqual(plan.jobs[0].prompt, StudioState.samplePrompt)
        XCTAssertNil(plan.object)
        XCTAssertTrue(s.jobRunning)
        XCTAssertEqual(s.run?.cells.count, 2)
        XCTAssertTrue(effects.contains(.appendPromptHistory(prompt: StudioState.samplePrompt, negative: "")))
    }

    func testPlaceholderWithoutObjectIsRefusedWithReason() {
        var s = Fixture.state()
        s.prompt.setText("a <obj> on the beach")
        let effects = send(&s, .ctrl("g"))
        XCTAssertTrue(effects.isEmpty)
        XCTAssertEqual(s.statusKind, .error)
        XCTAssertTrue(s.status.contains("no object is active"), s.status)
        XCTAssertNil(s.run)
    }

    func testObjectWithoutPlaceholderIsRefused() {
        var s = Fixture.state()
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(3)))
        s.gallery.active = "circle-black-checkered-red"
        XCTAssertTrue(send(&s, .ctrl("g")).isEmpty)
        XCTAssertTrue(s.status.contains("no <obj>"), s.status)
    }

    func testTabCyclesFocusAndShiftTabGoesBack() {
        var s = Fixture.state()
        send(&s, .tab)
        XCTAssertEqual(s.focus, .negative)
        send(&s, .tab, .tab, .tab)
        XCTAssertEqual(s.focus, .gallery)
        send(&s, .backTab)
        XCTAssertEqual(s.focus, .preview)
    }

    func testEditingKeysInThePrompt() {
        var s = Fixture.state()
        s.prompt.setText("")
        type(&s, "a red star")
        XCTAssertEqual(s.prompt.text, "a red star")
        send(&s, .ctrl("w"))
        XCTAssertEqual(s.prompt.text, "a red ")
        send(&s, .ctrl("z"))
        XCTAssertEqual(s.prompt.text, "a red star")
        send(&s, .ctrl("a"))
        type(&s, "x")
        XCTAssertEqual(s.prompt.text, "xa red star")
        send(&s, .ctrl("e"), .ctrl("u"))
        XCTAssertEqual(s.prompt.text, "")
        send(&s, .paste("a small circle\nin the snow"))
        XCTAssertEqual(s.prompt.text, "a small circle\nin the snow")
    }

    func testCtrlOInsertsPlaceholderAndChecksPrompt() {
        var s = Fixture.state()
        s.prompt.setText("a")
        let effects = send(&s, .ctrl("o"))
        XCTAssertEqual(s.prompt.text, "a <obj>")
        XCTAssertEqual(s.statusKind, .warning, "no object active yet")
        XCTAssertTrue(effects.contains(.checkPrompt(prompt: "a <obj>", negative: "", object: nil)))
    }

    func testLettersTypeInTextFieldsButAreCommandsElsewhere() {
        var s = Fixture.state()
        s.prompt.setText("")
        XCTAssertTrue(send(&s, .char("q")).allSatisfy { if case .checkPrompt = $0 { return true }; return false })
        XCTAssertEqual(s.prompt.text, "q")
        XCTAssertFalse(s.quit)
        send(&s, .char("?"))
        XCTAssertNil(s.overlay)
        s.focus = .gallery
        send(&s, .char("?"))
        XCTAssertEqual(s.overlay, .help)
        send(&s, .char("x"))
        XCTAssertNil(s.overlay, "any key closes help")
        let effects = send(&s, .char("q"))
        XCTAssertTrue(s.quit)
        XCTAssertEqual(effects.last, .quit)
        XCTAssertTrue(effects.contains { if case .saveSession = $0 { return true }; return false })
    }

    func testF1OpensHelpFromATextField() {
        var s = Fixture.state()
        send(&s, .function(1))
        XCTAssertEqual(s.overlay, .help)
    }

    func testQuitAsksOnlyWhileAJobRuns() {
        var s = Fixture.state()
        send(&s, .ctrl("g"))
        XCTAssertTrue(send(&s, .ctrl("q")).isEmpty)
        XCTAssertEqual(s.overlay, .confirmQuit)
        send(&s, .char("n"))
        XCTAssertNil(s.overlay)
        XCTAssertFalse(s.quit)
        send(&s, .ctrl("q"))
        let effects = send(&s, .char("y"))
        XCTAssertTrue(s.quit)
        XCTAssertTrue(effects.contains(.cancel(run: 1)))
        XCTAssertEqual(effects.last, .quit)
    }

    func testEscAndCtrlCCancelARunningJobAndCtrlCQuitsWhenIdle() {
        var s = Fixture.state()
        send(&s, .ctrl("g"))
        XCTAssertEqual(send(&s, .escape), [.cancel(run: 1)])
        XCTAssertEqual(send(&s, .ctrl("c")), [.cancel(run: 1)])
        XCTAssertFalse(s.quit)
        _ = Studio.update(&s, .job(run: 1, index: 0, .cancelled(afterStep: 3)))
        XCTAssertFalse(s.jobRunning)
        XCTAssertTrue(s.status.contains("cancelled after step 3"))
        send(&s, .ctrl("c"))
        XCTAssertTrue(s.quit)
    }

    func testSettingsLeftRightTypingAndRefusedValues() {
        var s = Fixture.state()
        s.focus = .settings
        send(&s, .right)
        XCTAssertEqual(s.settings.generation.sampler, .euler)
        send(&s, .down)
        send(&s, .right)
        XCTAssertEqual(s.settings.generation.karras, true, "euler offers Karras sigmas")
        send(&s, .down)  // steps
        type(&s, "40")
        XCTAssertEqual(s.settingsPane.edit, "40")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.steps, 40)
        XCTAssertNil(s.settingsPane.edit)
        type(&s, "0")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.steps, 40, "a refused value keeps the old one")
        XCTAssertEqual(s.settingsPane.error, "steps must be a whole number from 1 to 1000")
        send(&s, .escape)
        XCTAssertNil(s.settingsPane.edit)
        s.settingsPane.row = SettingField.size.rawValue
        type(&s, "60")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.width, 64)
        XCTAssertTrue(s.settingsPane.error?.contains("multiples of 8") ?? false)
        send(&s, .escape)
        type(&s, "96")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.width, 96)
        XCTAssertEqual(s.settings.generation.height, 96)
        // Digits arriving together (a paste, or a fast tmux send-keys) start an edit too.
        s.settingsPane.row = SettingField.seed.rawValue
        send(&s, .paste("12345"), .enter)
        XCTAssertEqual(s.settings.generation.seed, 12345)
        s.settingsPane.row = SettingField.sampler.rawValue
        send(&s, .left, .left)
        XCTAssertEqual(s.settings.generation.sampler, .lcm)  // euler -> ddim -> lcm, the last sampler (wrapping left)
        send(&s, .char("q"))
        XCTAssertTrue(s.quit, "q quits from the settings pane when no value is being typed")
    }

    func testResizeAndClicksMoveFocus() {
        var s = Fixture.state()
        _ = Studio.update(&s, .resize(width: 200, height: 60))
        XCTAssertEqual(s.width, 200)
        let layout = Layout(width: 200, height: 60)
        _ = Studio.update(&s, .click(x: layout.settings.x + 2, y: layout.settings.y + 3))
        XCTAssertEqual(s.focus, .settings)
        XCTAssertEqual(s.settingsPane.row, 2)
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(5)))
        _ = Studio.update(&s, .click(x: layout.gallery.x + 3, y: layout.gallery.y + 1 + ThumbnailList.rowHeight * 3))
        XCTAssertEqual(s.focus, .gallery)
        XCTAssertEqual(s.gallery.selected, 3)
        _ = Studio.update(&s, .scroll(x: layout.gallery.x + 3, y: layout.gallery.y + 2, delta: 1))
        XCTAssertEqual(s.gallery.selected, 4)
    }

    /// A click finds the list row the view drew at that line, also when the list is scrolled.
    func testClicksHitTheRowsTheViewDraws() {
        var s = Fixture.state(120, 30)
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(40)))
        s.gallery.selected = 30
        let lines = StudioView.render(s, theme: .builtinDark).grid.text.split(separator: "\n", omittingEmptySubsequences: false)
        let gallery = Layout(width: 120, height: 30).gallery
        for row in [28, 31] {
            let name = String(format: "object-%03d", row)
            guard let y = lines.firstIndex(where: { $0.contains(name) }) else { return XCTFail("\(name) is not drawn") }
            XCTAssertEqual(StudioView.hit(s, x: gallery.x + 2, y: y), .gallery(row: row))
        }
        XCTAssertEqual(StudioView.hit(s, x: gallery.x, y: gallery.y), .gallery(row: nil), "the border is on no row")

        s.screen = .history
        s.history.items = (0..<20).map { HistoryItem(path: "/tmp/h\($0).png", title: "title-\($0)", detail: "", recall: nil, thumb: nil) }
        s.history.selected = 15
        let history = StudioView.render(s, theme: .builtinDark).grid.text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let y = history.firstIndex(where: { $0.contains("title-14") }) else { return XCTFail("title-14 is not drawn") }
        _ = Studio.update(&s, .click(x: Layout(width: 120, height: 30).historyList.x + 9, y: y))
        XCTAssertEqual(s.history.selected, 14)
    }

    func testPromptHistoryCtrlPAndCtrlNKeepTheDraft() {
        var s = Fixture.state()
        _ = Studio.update(&s, .promptHistoryLoaded([PromptHistoryEntry(prompt: "one", negative: ""),
                                                    PromptHistoryEntry(prompt: "two", negative: "blurry")]))
        s.prompt.setText("draft")
        send(&s, .ctrl("p"))
        XCTAssertEqual(s.prompt.text, "two")
        XCTAssertEqual(s.negative.text, "blurry")
        send(&s, .ctrl("p"))
        XCTAssertEqual(s.prompt.text, "one")
        send(&s, .ctrl("p"))
        XCTAssertEqual(s.prompt.text, "one", "stops at the oldest")
        send(&s, .ctrl("n"), .ctrl("n"))
        XCTAssertEqual(s.prompt.text, "draft")
    }

    func testSessionRestoreAppliesPromptSettingsAndObject() {
        var s = Fixture.state()
        var st = StudioSettings()
        st.generation.steps = 12
        let data = SessionData(prompt: "a <obj> in the snow", negative: "blurry", object: "star", settings: st, focus: .settings, selectedObject: 2)
        let effects = Studio.update(&s, .sessionRestored(data))
        XCTAssertEqual(s.prompt.text, "a <obj> in the snow")
        XCTAssertEqual(s.negative.text, "blurry")
        XCTAssertEqual(s.settings.generation.steps, 12)
        XCTAssertEqual(s.gallery.active, "star")
        XCTAssertEqual(s.focus, .settings)
        XCTAssertEqual(effects, [.checkPrompt(prompt: "a <obj> in the snow", negative: "blurry", object: "star")])
        XCTAssertEqual(s.screen, .studio)
        // A session that ended in the history browser opens there, with the list reloaded.
        var inHistory = data
        inHistory.screen = .history
        var h = Fixture.state()
        XCTAssertEqual(Studio.update(&h, .sessionRestored(inHistory)).last, .loadHistory)
        XCTAssertEqual(h.screen, .history)
        XCTAssertEqual(SessionData(from: h).screen, .history)
        // The object is gone from the gallery: it is dropped with a warning.
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(2)))
        XCTAssertNil(s.gallery.active)
        XCTAssertEqual(s.statusKind, .warning)
    }
}
