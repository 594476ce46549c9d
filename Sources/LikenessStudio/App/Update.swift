// The pure update function: (state, message) -> (state, effects). Keys go first to an open
// overlay, then to the global bindings (Ctrl-G, Ctrl-Q, Tab, F1, ...), then to the focused pane.

import Foundation

public enum Studio {
    /// bubbletea-style entry point.
    public static func update(_ state: StudioState, _ msg: Msg) -> (StudioState, [Effect]) {
        var s = state
        let effects = update(&s, msg)
        return (s, effects)
    }

    public static func update(_ s: inout StudioState, _ msg: Msg) -> [Effect] {
        // Live mode looks for edits (UpdateLive.swift); off, nothing is compared.
        let before = s.live.on ? LiveInputs(s) : nil
        var effects = apply(&s, msg)
        if let before { effects += liveEdit(&s, since: before, effects: effects) }
        return effects + historyImageRequest(&s)
    }

    /// On the history screen, the selected entry's full image is asked for once.
    static func historyImageRequest(_ s: inout StudioState) -> [Effect] {
        guard s.screen == .history, s.history.items.indices.contains(s.history.selected) else { return [] }
        let path = s.history.items[s.history.selected].path
        guard s.history.requested != path, s.history.image?.path != path else { return [] }
        s.history.requested = path
        return [.loadHistoryImage(path: path)]
    }

    static func apply(_ s: inout StudioState, _ msg: Msg) -> [Effect] {
        switch msg {
        case .key(let key):
            return handleKey(&s, key)
        case let .click(x, y):
            return handleClick(&s, x: x, y: y)
        case let .scroll(x, y, delta):
            return handleScroll(&s, x: x, y: y, delta: delta)
        case let .resize(w, h):
            s.width = max(0, w); s.height = max(0, h)
            return []
        case let .job(run, index, update):
            return applyJob(&s, run: run, index: index, update)
        case .galleryLoaded(let items):
            applyGallery(&s, items)
            return [checkPrompt(s)]
        case .galleryBusy(let text):
            s.gallery.busy = text
            return []
        case let .status(text, kind):
            setStatus(&s, text, kind)
            return []
        case .promptChecked(let check):
            s.promptCheck = check
            return []
        case let .outputSaved(run, cell, path):
            if s.run?.plan.runID == run, let r = s.run, cell < r.cells.count { s.run?.cells[cell].savedPath = path }
            return []
        case let .historyImageLoaded(path, image):
            if let image { s.history.image = HistoryImage(path: path, image: image) }
            return []
        case .historyLoaded(let items):
            s.history.items = items
            // A reloaded list may hold a new image under an old name: ask again.
            s.history.requested = nil
            s.history.image = nil
            s.history.loaded = true
            s.history.selected = clampedRow(s.history.selected, count: items.count)
            return []
        case let .recalled(recall, from):
            return applyRecall(&s, recall, from: from)
        case let .completed(text, candidates):
            if case .input(var p) = s.overlay {
                p.buffer.setText(text)
                p.candidates = candidates
                s.overlay = .input(p)
            }
            return []
        case .promptHistoryLoaded(let entries):
            s.promptHistory.entries = entries
            s.promptHistory.navigator.reset()
            return []
        case .liveDue(let token):
            guard s.live.on, token == s.live.token else { return [] }
            return submitLive(&s)
        case .sessionRestored(let data):
            s.prompt.setText(data.prompt)
            s.negative.setText(data.negative)
            s.settings = data.settings
            s.gallery.active = data.object
            s.gallery.selected = max(0, data.selectedObject)
            s.focus = data.focus
            s.screen = data.screen
            return [checkPrompt(s)] + (data.screen == .history ? [.loadHistory] : [])
        case let .lorasLoaded(folder, names):
            applyLoRAFolder(&s, folder: folder, names: names)
            return []
        }
    }

    static func setStatus(_ s: inout StudioState, _ text: String, _ kind: StatusKind = .info) {
        s.status = text
        s.statusKind = kind
    }

    static func checkPrompt(_ s: StudioState) -> Effect {
        .checkPrompt(prompt: s.prompt.text, negative: s.negative.text, object: s.gallery.active)
    }

    // MARK: keys

    /// Looks the key up in the keymap (`Keymap.contexts(for:)` says where) and performs its
    /// command: the global ones here, the others in the update function of their context.
    static func handleKey(_ s: inout StudioState, _ key: Key) -> [Effect] {
        guard let (binding, command) = Keymap.lookup(key, in: Keymap.contexts(for: s)) else { return [] }
        if s.overlay != nil { return handleOverlayKey(&s, command, key) }
        switch binding.context {
        case .overlay: return []
        case .historyScreen: return handleHistoryKey(&s, command)
        case .promptFields, .textEditing: return handlePromptKey(&s, command, key)
        case .settingsTyping: return handleSettingsTyping(&s, command, key)
        case .pane(.gallery): return handleGalleryKey(&s, command)
        case .pane(.settings): return handleSettingsKey(&s, command, key)
        case .pane(.preview): return handlePreviewKey(&s, command)
        case .pane: return []
        case .anywhere, .studio, .outsideText: break
        }
        switch command {
        case .quit:
            return requestQuit(&s)
        case .interrupt:
            if s.jobRunning, let r = s.run { return cancelRun(&s, r.plan.runID) }
            return requestQuit(&s)
        case .generate:
            return generate(&s)
        case .showHelp:
            s.overlay = .help
            s.helpPage = 0
        case .showLoRAs:
            return openLoRAs(&s)
        case .toggleHistory:
            return toggleHistory(&s)
        case .cyclePreviewMode:
            cyclePreviewMode(&s)
        case .saveAs:
            return beginSave(&s)
        case .toggleLive:
            return toggleLive(&s)
        case .clearInit:
            guard s.initImage != nil else {
                setStatus(&s, "no init image in use (i on a result or a history image sets one)")
                return []
            }
            s.initImage = nil
            setStatus(&s, "init image cleared: images start from noise again", .ok)
        case .escape:
            if s.preview.zoomed != nil { s.preview.zoomed = nil; return [] }
            if s.jobRunning, let r = s.run { return cancelRun(&s, r.plan.runID) }
            if s.queued != nil { s.queued = nil; setStatus(&s, "queued run dropped") }
        case .nextPane, .previousPane:
            s.settingsPane.edit = nil
            let all = Pane.allCases
            let i = all.firstIndex(of: s.focus) ?? 0
            s.focus = all[(i + (command == .nextPane ? 1 : all.count - 1)) % all.count]
        default:
            break
        }
        return []
    }

    static func requestQuit(_ s: inout StudioState) -> [Effect] {
        if s.jobRunning {
            s.overlay = .confirmQuit
            return []
        }
        return quitNow(&s)
    }

    static func quitNow(_ s: inout StudioState) -> [Effect] {
        s.quit = true
        var effects: [Effect] = []
        if let r = s.run, r.active { effects.append(.cancel(run: r.plan.runID)) }
        effects.append(.saveSession(SessionData(from: s)))
        effects.append(.quit)
        return effects
    }

    static func toggleHistory(_ s: inout StudioState) -> [Effect] {
        if s.screen == .history {
            s.screen = .studio
            return []
        }
        s.screen = .history
        return [.loadHistory]
    }

    static func cyclePreviewMode(_ s: inout StudioState) {
        let all = s.previewModes.isEmpty ? PreviewMode.allCases : s.previewModes
        let i = all.firstIndex(of: s.previewMode) ?? 0
        s.previewMode = all[(i + 1) % all.count]
        setStatus(&s, "preview mode: \(s.previewMode.rawValue)")
    }

    // MARK: overlays

    static func handleOverlayKey(_ s: inout StudioState, _ command: Command, _ key: Key) -> [Effect] {
        guard let overlay = s.overlay else { return [] }
        switch overlay {
        case .help:
            let pages = HelpOverlay.pageCount(width: s.width, height: s.height)
            let next = s.helpPage + (command == .pageDown ? 1 : command == .pageUp ? -1 : pages)
            if next >= 0 && next < pages { s.helpPage = next } else { s.overlay = nil }
            return []
        case .loras:
            return handleLoRAKey(&s, command)
        case .confirmQuit:
            s.overlay = nil
            return command == .yes ? quitNow(&s) : []
        case .confirmDelete(let name):
            s.overlay = nil
            if command == .yes {
                if s.gallery.active == name { s.gallery.active = nil }
                setStatus(&s, "removing \(name)…")
                return [.removeObject(name)]
            }
            setStatus(&s, "kept \(name)")
            return []
        case .input(let prompt):
            return handleInputKey(&s, prompt, command, key)
        }
    }
}
