// Commands of the text fields (keys in Keymap.swift): the prompt, the negative prompt and the
// one-line inputs of overlays (object path, names, save path). Editing itself is TextBuffer's.

import Foundation
import LikenessKit

extension Studio {
    /// Performs a text-editing command (the `.textEditing` bindings) on `buffer`; returns whether
    /// it was one. `key` carries the typed text. `wrapWidth`: the field is multi-line, shown wrapped
    /// at that many cells (a new line can be typed, row up/down move by the rows shown); nil: a
    /// one-line field, where those two do nothing.
    static func edit(_ buffer: inout TextBuffer, _ command: Command, _ key: Key, wrapWidth: Int?) -> Bool {
        switch command {
        case .insertText:
            switch key {
            case .char(let c): buffer.insert(String(c))
            case .paste(let text): buffer.paste(wrapWidth != nil ? text : text.replacingOccurrences(of: "\n", with: " "))
            default: return false
            }
        case .newline:
            guard wrapWidth != nil else { return false }
            buffer.insert("\n")
        case .deleteBackward: buffer.backspace()
        case .deleteForward: buffer.deleteForward()
        case .cursorLeft: buffer.moveLeft()
        case .cursorRight: buffer.moveRight()
        case .rowUp, .rowDown:
            guard let w = wrapWidth else { return false }
            if command == .rowUp { buffer.moveUp(wrapWidth: w) } else { buffer.moveDown(wrapWidth: w) }
        case .lineStart: buffer.moveHome()
        case .lineEnd: buffer.moveEnd()
        case .wordLeft: buffer.moveWordLeft()
        case .wordRight: buffer.moveWordRight()
        case .deleteWord: buffer.deleteWordBackward()
        case .deleteToStart: buffer.killToLineStart()
        case .deleteToEnd: buffer.killToLineEnd()
        case .undo: buffer.undo()
        case .redo: buffer.redo()
        default: return false
        }
        return true
    }

    static func handlePromptKey(_ s: inout StudioState, _ command: Command, _ key: Key) -> [Effect] {
        let field = s.focus
        switch command {
        case .insertPlaceholder:
            let ph = s.model.placeholder
            var b = field == .prompt ? s.prompt : s.negative
            let before = b.text.prefix(b.cursor)
            let pad = before.isEmpty || before.last == " " || before.last == "\n" ? "" : " "
            b.insert(pad + ph)
            if field == .prompt { s.prompt = b } else { s.negative = b }
            if s.gallery.active == nil && field == .prompt {
                setStatus(&s, "\(ph) inserted; choose an object in the gallery (Tab to Objects, Enter)", .warning)
            }
            return [checkPrompt(s)]
        case .olderPrompt:
            return recallPromptHistory(&s, older: true)
        case .newerPrompt:
            return recallPromptHistory(&s, older: false)
        default:
            break
        }
        var b = field == .prompt ? s.prompt : s.negative
        let before = b.text
        // Wrapped as the pane draws it, so Up/Down move by the rows the user sees.
        let width = Layout(width: s.width, height: s.height).rect(of: field).inset(1).width
        guard edit(&b, command, key, wrapWidth: width) else { return [] }
        if field == .prompt { s.prompt = b } else { s.negative = b }
        if b.text != before {
            s.promptHistory.navigator.reset()
            return [checkPrompt(s)]
        }
        return []
    }

    /// Ctrl-P (older) and Ctrl-N (newer) through the prompt history; the draft comes back at the end.
    static func recallPromptHistory(_ s: inout StudioState, older: Bool) -> [Effect] {
        let entries = s.promptHistory.entries
        guard !entries.isEmpty else {
            setStatus(&s, "no prompt history yet (prompts are kept when you generate)")
            return []
        }
        let current = PromptHistoryEntry(prompt: s.prompt.text, negative: s.negative.text)
        let next = older ? s.promptHistory.navigator.older(in: entries, current: current) : s.promptHistory.navigator.newer(in: entries)
        guard let entry = next else {
            setStatus(&s, older ? "no older prompt" : "this is your draft")
            return []
        }
        s.prompt.setText(entry.prompt)
        s.negative.setText(entry.negative)
        if let i = s.promptHistory.navigator.index { setStatus(&s, "history \(i + 1)/\(entries.count)") } else { setStatus(&s, "back to your draft") }
        return [checkPrompt(s)]
    }

    // MARK: one-line inputs

    static func openInput(_ s: inout StudioState, _ kind: InputKind, title: String, text: String = "") {
        let b = TextBuffer(text, singleLine: true)
        s.overlay = .input(InputPrompt(kind: kind, title: title, buffer: b))
    }

    static func handleInputKey(_ s: inout StudioState, _ prompt: InputPrompt, _ command: Command, _ key: Key) -> [Effect] {
        var p = prompt
        switch command {
        case .cancelInput:
            s.overlay = nil
            return []
        case .complete:
            switch p.kind {
            case .addObjectPath, .saveImage, .openPNG: return [.completePath(p.buffer.text)]
            default: return []
            }
        case .accept:
            return commitInput(&s, p)
        default:
            if edit(&p.buffer, command, key, wrapWidth: nil) {
                p.error = nil
                s.overlay = .input(p)
            }
            return []
        }
    }

    static func commitInput(_ s: inout StudioState, _ p: InputPrompt) -> [Effect] {
        let text = p.buffer.text.trimmingCharacters(in: .whitespacesAndNewlines)
        func refuse(_ message: String) -> [Effect] {
            var q = p
            q.error = message
            s.overlay = .input(q)
            return []
        }
        guard !text.isEmpty else { return refuse("type a value, or Esc to cancel") }
        switch p.kind {
        case .addObjectPath:
            openInput(&s, .addObjectName(path: text), title: "Name for the new object",
                      text: ObjectName.suggestion(forImageAt: text))
            return []
        case .addObjectName(let path):
            if let problem = nameProblem(text) { return refuse(problem) }
            if s.gallery.items.contains(where: { $0.name == text }) { return refuse("an object named \(text) exists; pick another name") }
            s.overlay = nil
            setStatus(&s, "encoding \(text)…")
            s.gallery.busy = "encoding \(text)"
            return [.addObject(path: path, name: text)]
        case .rename(let old):
            if let problem = nameProblem(text) { return refuse(problem) }
            if text == old { s.overlay = nil; return [] }
            if s.gallery.items.contains(where: { $0.name == text }) { return refuse("an object named \(text) exists; pick another name") }
            s.overlay = nil
            if s.gallery.active == old { s.gallery.active = text }
            return [.renameObject(from: old, to: text)]
        case .saveImage(let cell):
            guard text.lowercased().hasSuffix(".png") else { return refuse("the file name must end in .png") }
            guard let r = s.run, cell < r.cells.count, let image = r.cells[cell].image, r.cells[cell].done else {
                s.overlay = nil
                setStatus(&s, "that image is not finished yet", .warning)
                return []
            }
            s.overlay = nil
            return [.saveImage(image: image, meta: meta(for: r, cell: cell, model: s.model.name), path: text)]
        case .openPNG:
            s.overlay = nil
            return [.openParameters(path: text)]
        }
    }

    /// Why `name` cannot name an object (the gallery's own rule), or nil.
    static func nameProblem(_ name: String) -> String? {
        do { try ObjectName.validate(name) } catch { return "\(error)" }
        return nil
    }
}
