// The prompt editor and the negative prompt: wrapped text with the cursor, words the tokenizer
// does not know highlighted, the placeholder marked (red when no object is active), the token
// count against the model's limit on the title, and the prompt's problem on the bottom edge.

import Foundation

enum PromptPane {
    static func draw(_ c: inout Canvas, _ s: StudioState, _ r: Rect, field: Pane) {
        let focused = s.focus == field && s.screen == .studio && s.overlay == nil
        let buffer = field == .prompt ? s.prompt : s.negative
        var title = field.title
        if field == .prompt {
            let check = s.promptCheck
            title += " · \(check.tokenCount)/\(check.maxTokens) tokens"
        }
        c.pane(r, title: title, focused: focused)
        let inner = r.inset(1)
        guard inner.width > 0, inner.height > 0 else { return }

        let chars = Array(buffer.text)
        let roles = field == .prompt ? roles(for: chars, s) : Array(repeating: ThemeRole.text, count: chars.count)
        // Visual rows (start offset, length): each line wrapped at the last space that fits
        // (the space stays at the row's end), or cut at the width when a word is longer.
        var rows: [(start: Int, length: Int)] = []
        var start = 0
        for i in 0...chars.count where i == chars.count || chars[i] == "\n" {
            var st = start
            while i - st > inner.width {
                var cut = st + inner.width
                if let space = (st + 1..<st + inner.width).last(where: { chars[$0] == " " }) { cut = space + 1 }
                rows.append((st, cut - st))
                st = cut
            }
            rows.append((st, i - st))
            start = i + 1
        }
        // The cursor is on the last row starting at or before it.
        let cursor = min(max(0, buffer.cursor), chars.count)
        let cRow = rows.lastIndex(where: { $0.start <= cursor }) ?? 0
        let cCol = cursor - rows[cRow].start
        let top = max(0, min(cRow - inner.height + 1, rows.count - inner.height))
        for (k, row) in rows.enumerated().dropFirst(top).prefix(inner.height) {
            let y = inner.y + k - top
            for j in 0..<row.length {
                let idx = row.start + j
                _ = c.put(String(chars[idx]), x: inner.x + j, y: y, roles[idx], clip: inner)
            }
        }
        if chars.isEmpty && !focused {
            _ = c.put(field == .prompt ? "type what to draw; Ctrl-O inserts \(s.model.placeholder)" : "what to steer away from",
                      x: inner.x, y: inner.y, .dim, clip: inner)
        }
        if focused {
            let x = inner.x + min(cCol, inner.width - 1), y = inner.y + cRow - top
            c.cursor = (x, y)
            var cell = c.grid[x, y]
            cell.style.reverse = true
            c.grid[x, y] = cell
        }
        if field == .prompt {
            if let problem = s.promptCheck.problem ?? placeholderProblem(s) {
                c.bottomNote(r, problem, .error)
            } else if !s.promptCheck.unknownWords.isEmpty {
                c.bottomNote(r, "unknown: " + s.promptCheck.unknownWords.joined(separator: ", "), .warning)
            } else if s.promptCheck.tokenCount > s.promptCheck.maxTokens {
                c.bottomNote(r, "too long for this model", .error)
            }
        }
    }

    /// The placeholder/object mismatch, seen without asking the engine.
    static func placeholderProblem(_ s: StudioState) -> String? {
        let ph = s.model.placeholder
        let has = Studio.hasPlaceholder(s.prompt.text, ph)
        if has && s.gallery.active == nil { return "\(ph) but no active object" }
        if !has && s.gallery.active != nil { return "object active but no \(ph)" }
        return nil
    }

    /// A role per character: unknown words, the placeholder, plain text.
    static func roles(for chars: [Character], _ s: StudioState) -> [ThemeRole] {
        var roles = Array(repeating: ThemeRole.text, count: chars.count)
        let unknown = Set(s.promptCheck.unknownWords.map { $0.lowercased() })
        var i = 0
        while i < chars.count {
            if chars[i].isLetter || chars[i].isNumber {
                var j = i
                while j < chars.count && (chars[j].isLetter || chars[j].isNumber || chars[j] == "'" || chars[j] == "-") { j += 1 }
                let word = String(chars[i..<j]).lowercased()
                if unknown.contains(word) { for k in i..<j { roles[k] = .unknownWord } }
                i = j
            } else {
                i += 1
            }
        }
        let ph = Array(s.model.placeholder)
        if !ph.isEmpty && chars.count >= ph.count {
            let role: ThemeRole = s.gallery.active == nil ? .error : .placeholder
            for start in 0...(chars.count - ph.count) where Array(chars[start..<start + ph.count]) == ph {
                for k in start..<start + ph.count { roles[k] = role }
            }
        }
        return roles
    }
}
