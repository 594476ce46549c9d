// Keys for the text fields: the prompt, the negative prompt and the one-line inputs of overlays
// (object path, names, save path). Editing itself is TextBuffer's.

import Foundation
import LikenessKit

extension Studio {
    /// Applies an editing key to `buffer`; returns whether the key was an editing key.
    /// `wrapWidth`: the field is multi-line, shown wrapped at that many cells (Enter inserts a line
    /// break, Up/Down move by the rows shown); nil: a one-line field.
    static func edit(_ buffer: inout TextBuffer, _ key: Key, wrapWidth: Int?) -> Bool {
        switch key {
        case .char(let c): buffer.insert(String(c))
        case .paste(let text): buffer.paste(wrapWidth != nil ? text : text.replacingOccurrences(of: "\n", with: " "))
        case .enter where wrapWidth != nil: buffer.insert("\n")
        case .backspace: buffer.backspace()
        case .delete, .ctrl("d"): buffer.deleteForward()
        case .left, .ctrl("b"): buffer.moveLeft()
        case .right, .ctrl("f"): buffer.moveRight()
        case .up, .down:
            guard let w = wrapWidth else { return false }
            if key == .up { buffer.moveUp(wrapWidth: w) } else { buffer.moveDown(wrapWidth: w) }
        case .home, .ctrl("a"): buffer.moveHome()
        case .end, .ctrl("e"): buffer.moveEnd()
        case .alt("b"): buffer.moveWordLeft()
        case .alt("f"): buffer.moveWordRight()
        case .ctrl("w"), .altBackspace: buffer.deleteWordBackward()
        case .ctrl("u"): buffer.killToLineStart()
        case .ctrl("k"): buffer.killToLineEnd()
        case .ctrl("z"), .ctrl("_"): buffer.undo()
        case .ctrl("y"), .alt("z"): buffer.redo()
        default: return false
        }
        return true
    }

    static func handlePromptKey(_ s: inout StudioState, _ key: Key) -> [Effect] {
        let field = s.focus
        switch key {
        case .ctrl("o"):
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
        case .ctrl("p"):
            return recallPromptHistory(&s, older: true)
        case .ctrl("n"):
            return recallPromptHistory(&s, older: false)
        default:
            break
        }
        var b = field == .prompt ? s.prompt : s.negative
        let before = b.text
        // Wrapped as the pane draws it, so Up/Down move by the rows the user sees.
        let width = Layout(width: s.width, height: s.height).rect(of: field).inset(1).width
        guard edit(&b, key, wrapWidth: width) else { return [] }
        if field == .prompt { s.prompt = b } else { s.negative = b }
        if b.text != before {
            s.historyNav.reset()
            return [checkPrompt(s)]
        }
        return []
    }

    /// Ctrl-P (older) and Ctrl-N (newer) through the prompt history; the draft comes back at the end.
    static func recallPromptHistory(_ s: inout StudioState, older: Bool) -> [Effect] {
        let entries = s.promptHistory
        guard !entries.isEmpty else {
            setStatus(&s, "no prompt history yet (prompts are kept when you generate)")
            return []
        }
        let current = PromptHistoryEntry(prompt: s.prompt.text, negative: s.negative.text)
        let next = older ? s.historyNav.older(in: entries, current: current) : s.historyNav.newer(in: entries)
        guard let entry = next else {
            setStatus(&s, older ? "no older prompt" : "this is your draft")
            return []
        }
        s.prompt.setText(entry.prompt)
        s.negative.setText(entry.negative)
        if let i = s.historyNav.index { setStatus(&s, "history \(i + 1)/\(entries.count)") } else { setStatus(&s, "back to your draft") }
        return [checkPrompt(s)]
    }

    // MARK: one-line inputs

    static func openInput(_ s: inout StudioState, _ kind: InputKind, title: String, text: String = "") {
        let b = TextBuffer(text, singleLine: true)
        s.overlay = .input(InputPrompt(kind: kind, title: title, buffer: b))
    }

    static func handleInputKey(_ s: inout StudioState, _ prompt: InputPrompt, _ key: Key) -> [Effect] {
        var p = prompt
        switch key {
        case .escape, .ctrl("c"), .ctrl("g"):
            s.overlay = nil
            return []
        case .tab:
            switch p.kind {
            case .addObjectPath, .saveImage, .openPNG: return [.completePath(p.buffer.text)]
            default: return []
            }
        case .enter:
            return commitInput(&s, p)
        default:
            if edit(&p.buffer, key, wrapWidth: nil) {
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
