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
        XCTAssertEqual(s.settingsEdit, "40")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.steps, 40)
        XCTAssertNil(s.settingsEdit)
        type(&s, "0")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.steps, 40, "a refused value keeps the old one")
        XCTAssertEqual(s.settingsError, "steps must be a whole number from 1 to 1000")
        send(&s, .escape)
        XCTAssertNil(s.settingsEdit)
        s.settingsRow = SettingField.size.rawValue
        type(&s, "60")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.width, 64)
        XCTAssertTrue(s.settingsError?.contains("multiples of 8") ?? false)
        send(&s, .escape)
        type(&s, "96")
        send(&s, .enter)
        XCTAssertEqual(s.settings.generation.width, 96)
        XCTAssertEqual(s.settings.generation.height, 96)
        // Digits arriving together (a paste, or a fast tmux send-keys) start an edit too.
        s.settingsRow = SettingField.seed.rawValue
        send(&s, .paste("12345"), .enter)
        XCTAssertEqual(s.settings.generation.seed, 12345)
        s.settingsRow = SettingField.sampler.rawValue
        send(&s, .left, .left)
        XCTAssertEqual(s.settings.generation.sampler, .dpmpp2m)
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
        XCTAssertEqual(s.settingsRow, 2)
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(5)))
        _ = Studio.update(&s, .click(x: layout.gallery.x + 3, y: layout.gallery.y + 1 + ThumbnailList.rowHeight * 3))
        XCTAssertEqual(s.focus, .gallery)
        XCTAssertEqual(s.gallery.selected, 3)
        _ = Studio.update(&s, .scroll(x: layout.gallery.x + 3, y: layout.gallery.y + 2, delta: 1))
        XCTAssertEqual(s.gallery.selected, 4)
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
