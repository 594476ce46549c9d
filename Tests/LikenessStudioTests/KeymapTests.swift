// The keymap drives the update functions, the footer and the help overlay: every binding's keys
// reach it and do something in its context, every binding is in the help, and the footer shows
// nothing the keymap does not bind there.

import XCTest
import LikenessImaging
@testable import LikenessStudio

final class KeymapTests: XCTestCase {
    /// A studio with objects, prompt history, a finished 3x3 compare grid (identity axis) with the
    /// middle cell selected, and a history list: most keys have something to act on.
    func richState(_ w: Int = 120, _ h: Int = 40) -> StudioState {
        var s = Fixture.state(w, h)
        _ = Studio.update(&s, .galleryLoaded(Fixture.galleryItems(5)))
        s.gallery.selected = 1
        s.prompt.setText("a <obj> on the beach at the left")
        _ = Studio.update(&s, .promptHistoryLoaded([PromptHistoryEntry(prompt: "a red star", negative: ""),
                                                    PromptHistoryEntry(prompt: "a blue circle", negative: "blurry")]))
        s.gallery.active = "circle-black-checkered-red"
        s.settings.axis = .identity
        s.settings.identityValues = "1, 2, 3"
        s.settings.compareCount = 3
        send(&s, .ctrl("g"))
        for j in 0..<3 {
            _ = Studio.update(&s, .job(run: 1, index: j, .finished(images: (0..<3).map { Fixture.image($0 + j) }, elapsed: 1, warnings: [])))
        }
        s.preview.selected = 4
        s.settingsPane.row = 2
        _ = Studio.update(&s, .historyLoaded((0..<4).map {
            HistoryItem(path: "/tmp/h\($0).png", title: "t\($0)", detail: "", recall: Recall(prompt: "p\($0)", negative: "", settings: StudioSettings(), object: nil), thumb: nil)
        }))
        s.history.selected = 1
        s.status = ""
        return s
    }

    /// `richState` put into `context`, ready for `command`.
    func state(for context: KeyContext, _ command: Command) -> StudioState {
        var s = richState()
        switch context {
        case .anywhere, .studio:
            s.focus = .prompt
            if command == .escape { s.preview.zoomed = 4 }
        case .outsideText:
            s.focus = .gallery
        case .promptFields, .textEditing:
            s.focus = .prompt
            // An edit to undo, then a cursor mid-text; redo needs an undone edit.
            send(&s, .end, .char("!"))
            s.prompt.moveTo(10)
            if command == .redo { send(&s, .ctrl("z")) }
        case .pane(let pane):
            s.focus = pane
        case .settingsTyping:
            s.focus = .settings
            s.settingsPane.edit = "12"
        case .historyScreen:
            s.screen = .history
        case .overlay(let kind):
            switch kind {
            case .help:
                s = richState(80, 24)
                s.overlay = .help
            case .loras:
                _ = Studio.update(&s, .lorasLoaded(folder: "/tmp/loras", names: ["detail", "style"]))
                s.overlay = .loras
                s.loras.selected = 1
                if command == .up || command == .down { s.loras.selected = command == .up ? 1 : 0 }
            case .confirmQuit: s.overlay = .confirmQuit
            case .confirmDelete: s.overlay = .confirmDelete("heart-blue-checkered-black")
            case .input:
                Studio.openInput(&s, .addObjectPath, title: "Add", text: "Samples/obj")
            }
        }
        return s
    }

    func testEveryBindingIsReachedAndActsInItsContext() {
        var checked = 0
        for binding in Keymap.bindings {
            for trigger in binding.triggers {
                var s = state(for: binding.context, trigger.command)
                let key = trigger.match.example
                let found = Keymap.lookup(key, in: Keymap.contexts(for: s))
                XCTAssertEqual(found?.binding.context, binding.context, "\(key) in \(binding.context)")
                XCTAssertEqual(found?.command, trigger.command, "\(key) in \(binding.context) is shadowed")
                let before = s
                let effects = Studio.update(&s, .key(key))
                XCTAssertTrue(s != before || !effects.isEmpty, "\(key.label) (\(trigger.command)) does nothing in \(binding.context)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 90)
    }

    /// The drifts the three lists had: each of these keys now acts and is in the help.
    func testKeysThatWereMissingFromHelpAndFooterAct() {
        var s = state(for: .pane(.gallery), .useObject)
        s.gallery.selected = 0
        send(&s, .char(" "))
        XCTAssertEqual(s.gallery.active, nil, "Space stops using the active object")
        send(&s, .char("G"))
        XCTAssertEqual(s.gallery.selected, 4)
        send(&s, .char("g"))
        XCTAssertEqual(s.gallery.selected, 0)
        s = state(for: .pane(.preview), .zoom)
        send(&s, .char("h"))
        XCTAssertEqual(s.preview.selected, 3)
        send(&s, .char("k"), .char("l"), .char("j"))
        XCTAssertEqual(s.preview.selected, 4)
        send(&s, .char("o"))
        XCTAssertEqual(s.preview.zoomed, 4)
        s = state(for: .historyScreen, .refresh)
        XCTAssertTrue(send(&s, .char("g")).contains(.loadHistory))

        let help = Keymap.helpSections()
        func line(_ section: String, _ text: String) -> String? {
            help.first { $0.0 == section }?.1.first { $0.1 == text }?.0
        }
        XCTAssertEqual(line("Objects", "use / stop using"), "Enter Space")
        XCTAssertEqual(line("Objects", "first/last"), "Home End g G")
        XCTAssertEqual(line("Preview", "choose an image"), "←→↑↓ h l k j")
        XCTAssertEqual(line("Preview", "open large / back"), "Enter o")
        XCTAssertEqual(line("History", "refresh"), "g")
    }

    func testHelpOverlayShowsEveryBinding() {
        let help = Keymap.helpSections().flatMap(\.1)
        var shown = ""
        for size in [(80, 24), (120, 40)] {
            var s = richState(size.0, size.1)
            send(&s, .function(1))
            for _ in 0..<HelpOverlay.pageCount(width: size.0, height: size.1) {
                shown += StudioView.render(s, theme: .builtinDark).grid.text
                send(&s, .pageDown)
            }
            XCTAssertNil(s.overlay, "PgDn past the last page closes the help")
        }
        for b in Keymap.bindings {
            XCTAssertTrue(help.contains { $0.1 == b.help && $0.0.contains(b.label) }, "\(b.label) \(b.help) not in the help")
            XCTAssertTrue(shown.contains(" " + b.label + " "), "\(b.label) not drawn in the help")
            XCTAssertTrue(shown.contains(String(b.help.prefix(16))), "\(b.help) not drawn in the help")
        }
    }

    func testFooterShowsOnlyBindingsOfItsContext() {
        var states: [StudioState] = []
        for pane in Pane.allCases {
            var s = richState(); s.focus = pane; states.append(s)
        }
        var running = richState(); running.focus = .gallery; send(&running, .ctrl("g")); states.append(running)
        var typing = richState(); typing.focus = .settings; typing.settingsPane.edit = "3"; states.append(typing)
        var history = richState(); history.screen = .history; states.append(history)
        for overlay: Overlay in [.help, .confirmQuit, .confirmDelete("x"), .input(InputPrompt(kind: .openPNG, title: "t", buffer: TextBuffer("")))] {
            var s = richState(80, 24); s.overlay = overlay; states.append(s)
        }
        for s in states {
            let footer = Chrome.keys(for: s)
            XCTAssertFalse(footer.isEmpty)
            let contexts = Keymap.contexts(for: s)
            let active = Keymap.bindings.filter { contexts.contains($0.context) }
            for (keys, text) in footer {
                XCTAssertTrue(active.contains { ($0.footerLabel ?? $0.label) == keys && $0.footer == text },
                              "footer \(keys) \(text) is no binding of \(contexts)")
            }
            let row = StudioView.render(s, theme: .builtinDark).grid.text.split(separator: "\n", omittingEmptySubsequences: false)[s.height - 1]
            XCTAssertTrue(row.contains("\(footer[0].0) \(footer[0].1)"), String(row))
        }
        XCTAssertTrue(Chrome.keys(for: running).contains { $0 == ("Esc", "cancel") })
        XCTAssertFalse(Chrome.keys(for: states[0]).contains { $0.0 == "Esc" }, "Esc cancel only while images are made")
        XCTAssertFalse(Chrome.keys(for: typing).contains { $0.0 == "q" || $0.0 == "?" }, "q and ? type while a value is typed")
    }
}
