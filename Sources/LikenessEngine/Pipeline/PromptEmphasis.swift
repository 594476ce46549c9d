// AUTOMATIC1111's prompt emphasis syntax, written from its documented rules:
//   (text)      weight x 1.1            [text]      weight / 1.1
//   (text:w)    weight x w (w a decimal number, e.g. 1.3, .5, -0.2)
//   nesting multiplies: ((a)) is 1.21, ([a]) is 1.0, ((a:2)) is 2.2
//   \( \) \[ \] \\ are the literal characters
//   BREAK (a word of its own, upper case) ends the current 75-token chunk
// Brackets left open at the end apply to the rest of the prompt, and a closing bracket with no
// opening one is literal text (as A1111 does); both give a warning here. Runs with the same
// weight are merged. The text between markers is kept exactly (spacing included).

import Foundation

/// One piece of a prompt: text with its emphasis weight, or a chunk break.
public enum EmphasisPiece: Equatable, Sendable {
    case text(String, weight: Float)
    case chunkBreak
}

public enum PromptEmphasis {
    /// The weight of `(text)`.
    public static let roundMultiplier: Float = 1.1
    /// The weight of `[text]` is 1 / 1.1.
    public static let squareMultiplier: Float = 1 / 1.1

    /// Splits `prompt` into weighted pieces and chunk breaks, with warnings for unbalanced brackets.
    public static func parse(_ prompt: String) -> (pieces: [EmphasisPiece], warnings: [String]) {
        var pieces: [(text: String, weight: Float, isBreak: Bool)] = []
        var round: [Int] = [], square: [Int] = []
        var warnings: [String] = []
        var literal = ""
        func flush() {
            guard !literal.isEmpty else { return }
            pieces.append((literal, 1, false))
            literal = ""
        }
        func multiply(from start: Int, by m: Float) {
            for i in start..<pieces.count where !pieces[i].isBreak { pieces[i].weight *= m }
        }
        let chars = Array(prompt)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, "()[]\\".contains(chars[i + 1]) {
                literal.append(chars[i + 1]); i += 2; continue
            }
            switch c {
            case "(":
                flush(); round.append(pieces.count); i += 1
            case "[":
                flush(); square.append(pieces.count); i += 1
            case ":" where !round.isEmpty:
                if let (w, end) = weightSuffix(chars, from: i) {
                    flush()
                    multiply(from: round.removeLast(), by: w)
                    i = end
                } else {
                    literal.append(c); i += 1
                }
            case ")" where !round.isEmpty:
                flush(); multiply(from: round.removeLast(), by: roundMultiplier); i += 1
            case "]" where !square.isEmpty:
                flush(); multiply(from: square.removeLast(), by: squareMultiplier); i += 1
            case ")", "]":
                warnings.append("'\(c)' at character \(i + 1) closes no bracket; kept as text (write \\\(c) for the character)")
                literal.append(c); i += 1
            case "B" where isBreak(chars, at: i):
                // BREAK with the whitespace around it.
                while let last = literal.last, last.isWhitespace { literal.removeLast() }
                flush()
                pieces.append(("", 1, true))
                i += 5
                while i < chars.count, chars[i].isWhitespace { i += 1 }
            default:
                literal.append(c); i += 1
            }
        }
        flush()
        for start in round { multiply(from: start, by: roundMultiplier) }
        for start in square { multiply(from: start, by: squareMultiplier) }
        if !round.isEmpty { warnings.append("\(round.count) '(' not closed; applied to the end of the prompt (write \\( for the character)") }
        if !square.isEmpty { warnings.append("\(square.count) '[' not closed; applied to the end of the prompt (write \\[ for the character)") }
        // Merge neighbours of equal weight.
        var out: [EmphasisPiece] = []
        for p in pieces {
            if p.isBreak { out.append(.chunkBreak); continue }
            if p.text.isEmpty { continue }
            if case let .text(t, w)? = out.last, w == p.weight {
                out[out.count - 1] = .text(t + p.text, weight: w)
            } else {
                out.append(.text(p.text, weight: p.weight))
            }
        }
        if out.isEmpty { out = [.text("", weight: 1)] }
        return (out, warnings)
    }

    /// `:` + optional spaces + a number + optional spaces + `)` starting at `i`: the number and the index after `)`.
    static func weightSuffix(_ chars: [Character], from i: Int) -> (Float, Int)? {
        var j = i + 1
        while j < chars.count, chars[j] == " " { j += 1 }
        var number = ""
        if j < chars.count, chars[j] == "+" || chars[j] == "-" { number.append(chars[j]); j += 1 }
        while j < chars.count, chars[j].isASCII, chars[j].isNumber || chars[j] == "." { number.append(chars[j]); j += 1 }
        while j < chars.count, chars[j] == " " { j += 1 }
        guard j < chars.count, chars[j] == ")", let w = Float(number), w.isFinite else { return nil }
        return (w, j + 1)
    }

    /// "BREAK" as a word of its own at `i`.
    static func isBreak(_ chars: [Character], at i: Int) -> Bool {
        guard i + 5 <= chars.count, String(chars[i..<(i + 5)]) == "BREAK" else { return false }
        func wordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        let beforeOK = i == 0 || !wordChar(chars[i - 1])
        let afterOK = i + 5 == chars.count || !wordChar(chars[i + 5])
        return beforeOK && afterOK
    }

    /// Whether `prompt` uses any emphasis syntax or BREAK (plain prompts encode as before).
    public static func hasSyntax(_ prompt: String) -> Bool {
        let (pieces, _) = parse(prompt)
        if pieces.count != 1 { return true }
        if case let .text(t, w) = pieces[0] { return w != 1 || t != prompt }
        return true
    }
}
