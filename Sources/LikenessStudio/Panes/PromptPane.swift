// The prompt editor and the negative prompt: wrapped text with the cursor, words the tokenizer
// does not know highlighted, the placeholder marked (red when no object is active), the token
// count against the model's limit on the title (75-token chunks once past one), the prompt's
// problem on the bottom edge, and A1111's syntax: <lora:NAME:W> tags (malformed ones in the error
// colour) and the emphasis brackets, weights and BREAK.

import Foundation
import LikenessKit

enum PromptPane {
    static func draw(_ c: inout Canvas, _ s: StudioState, _ r: Rect, field: Pane) {
        let focused = s.focus == field && s.screen == .studio && s.overlay == nil
        let buffer = field == .prompt ? s.prompt : s.negative
        var title = field.title
        if field == .prompt {
            let check = s.promptCheck
            title += check.chunks > 1
                ? " · \(check.tokenCount) tokens in \(check.chunks) chunks of \(check.maxTokens - 2)"
                : " · \(check.tokenCount)/\(check.maxTokens) tokens"
        }
        c.pane(r, title: title, focused: focused)
        let inner = r.inset(1)
        guard inner.width > 0, inner.height > 0 else { return }

        let chars = Array(buffer.text)
        let roles = field == .prompt ? roles(for: chars, s) : Array(repeating: ThemeRole.text, count: chars.count)
        // Visual rows wrapped in terminal cells (CJK and emoji take two), as Up/Down and clicks see them.
        let rows = TextLayout.rows(chars, width: inner.width)
        let (cRow, cCol) = TextLayout.cursor(rows, chars, cursor: buffer.cursor)
        let top = firstVisibleRow(rows: rows.count, cursorRow: cRow, height: inner.height)
        for (k, row) in rows.enumerated().dropFirst(top).prefix(inner.height) {
            var x = inner.x
            for idx in row.start..<row.end {
                x = c.put(String(chars[idx]), x: x, y: inner.y + k - top, roles[idx], clip: inner)
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
            } else if s.promptCheck.chunks <= 1 && s.promptCheck.tokenCount > s.promptCheck.maxTokens {
                c.bottomNote(r, "too long for this model", .error)
            }
        }
    }

    /// The first visual row shown: the cursor's row stays in view, the last rows fill the pane.
    static func firstVisibleRow(rows: Int, cursorRow: Int, height: Int) -> Int {
        max(0, min(cursorRow - height + 1, rows - height))
    }

    /// The text offset under a click at (`x`, `y`) in the pane `r` showing `buffer`.
    static func offset(at x: Int, _ y: Int, in r: Rect, _ buffer: TextBuffer) -> Int {
        let inner = r.inset(1)
        let chars = buffer.characters
        let rows = TextLayout.rows(chars, width: inner.width)
        let top = firstVisibleRow(rows: rows.count, cursorRow: TextLayout.cursor(rows, chars, cursor: buffer.cursor).row,
                                  height: inner.height)
        return TextLayout.offset(rows, chars, row: top + y - inner.y, column: x - inner.x)
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
        for (k, syntax) in emphasisSyntax(chars).enumerated() where syntax { roles[k] = .warning }
        for span in LoRATags.spans(in: String(chars)) {
            // The rule `likeness generate` and the studio's jobs apply: a tag they would refuse is an error.
            let good = span.closed && (try? LoRATags.extract(from: String(chars[span.range]))) != nil
            for k in span.range where k < roles.count { roles[k] = good ? .accent : .error }
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

    /// Which characters are A1111 emphasis syntax: unescaped ( ) [ ], a ":WEIGHT" before ")", and
    /// the word BREAK (PromptEmphasis.swift in the engine reads them).
    static func emphasisSyntax(_ chars: [Character]) -> [Bool] {
        var out = Array(repeating: false, count: chars.count)
        var i = 0
        func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        while i < chars.count {
            let c = chars[i]
            if c == "\\" && i + 1 < chars.count { i += 2; continue }
            if c == "(" || c == ")" || c == "[" || c == "]" {
                out[i] = true
            } else if c == ":" {
                // ":" [spaces] number [spaces] ")"
                var j = i + 1
                while j < chars.count && chars[j] == " " { j += 1 }
                if j < chars.count && (chars[j] == "+" || chars[j] == "-") { j += 1 }
                let digits = j
                while j < chars.count && (chars[j].isASCII && chars[j].isNumber || chars[j] == ".") { j += 1 }
                let hasNumber = j > digits
                while j < chars.count && chars[j] == " " { j += 1 }
                if hasNumber && j < chars.count && chars[j] == ")" {
                    for k in i...j { out[k] = true }
                    i = j + 1
                    continue
                }
            } else if c == "B", i + 5 <= chars.count, String(chars[i..<i + 5]) == "BREAK",
                      i == 0 || !isWordChar(chars[i - 1]), i + 5 == chars.count || !isWordChar(chars[i + 5]) {
                for k in i..<i + 5 { out[k] = true }
                i += 5
                continue
            }
            i += 1
        }
        return out
    }
}
