// Terminal detection as timg, notcurses and chafa do it: environment first, then queries with
// a timeout, DA1 asked last because every terminal answers it, so its reply ends the wait (a
// "4" among its attributes means sixel). Pure apart from the write/read closures, so tests
// script the replies; TerminalTTY runs it on a real terminal. Nothing is sent to a dumb one.

import Foundation

public enum TerminalDetect {
    /// XTVERSION `CSI > 0 q`, cell size `CSI 16 t`, sixel colour registers `CSI ? 1 ; 1 ; 0 S`,
    /// then DA1 `CSI c`; with `kitty`, the kitty graphics query before DA1.
    public static func queryBytes(kitty: Bool = false) -> [UInt8] {
        Array("\u{1b}[>0q\u{1b}[16t\u{1b}[?1;1;0S".utf8) + (kitty ? KittyGraphics.query : []) + Array("\u{1b}[c".utf8)
    }

    public static func fromEnvironment(_ env: [String: String]) -> TerminalCapabilities {
        TerminalCapabilities.fromEnvironment(env)
    }

    /// The environment guess corrected by the replies found in `replies`.
    public static func parse(replies: [UInt8], base: TerminalCapabilities) -> TerminalCapabilities {
        var p = TerminalReplyParser()
        p.feed(replies)
        return apply(p.replies, to: base)
    }

    /// Applies parsed replies. A DA1 answer decides sixel (attribute 4 after the device class);
    /// without one, a successful XTSMGRAPHICS answer counts as sixel.
    public static func apply(_ replies: [TerminalReply], to base: TerminalCapabilities) -> TerminalCapabilities {
        var c = base
        var registersOK = false
        for r in replies {
            switch r {
            case .deviceAttributes(let params):
                c.answered = true
                c.deviceAttributes = params
            case .cellSize(let w, let h):
                if (1...1000).contains(w), (1...1000).contains(h) { c.cellPixelWidth = w; c.cellPixelHeight = h }
            case .sixelRegisters(let status, let value):
                if status == 0, value > 0 { c.sixelColorRegisters = value; registersOK = true }
            case .version(let text):
                c.name = text
                let lower = text.lowercased()
                if lower.hasPrefix("tmux") { c.inTmux = true }
                if TerminalCapabilities.truecolorNames.contains(where: { lower.hasPrefix($0) }) { c.truecolor = true }
                c.colors256 = true  // every terminal that answers XTVERSION has the 256-colour palette
            case .kittyGraphics(let ok):
                c.kittyGraphics = ok
            }
        }
        if c.answered { c.sixel = c.deviceAttributes.dropFirst().contains(4) } else if registersOK { c.sixel = true }
        if c.truecolor { c.colors256 = true }
        return c
    }

    /// Sends the queries with `write` and reads answers with `read(timeoutMs)` (nil or empty: no
    /// more within that time) until DA1 arrives or `timeoutMs` passes (five times that once
    /// any other answer has come). Returns the capabilities
    /// and the bytes that were not answers (keys typed meanwhile).
    public static func detectWithInput(env: [String: String], write: ([UInt8]) -> Void, read: (Int) -> [UInt8]?,
                                       timeoutMs: Int = 200, kitty: Bool = false)
        -> (capabilities: TerminalCapabilities, unconsumed: [UInt8]) {
        let base = fromEnvironment(env)
        if base.dumb { return (base, []) }
        write(queryBytes(kitty: kitty))
        var parser = TerminalReplyParser()
        let clock = ContinuousClock()
        let start = clock.now
        var deadline = start.advanced(by: .milliseconds(max(0, timeoutMs)))
        while !parser.sawDeviceAttributes {
            // A terminal that has answered something will answer DA1 too (a slow link): wait
            // longer rather than leave its late replies to arrive as typed keys.
            if !parser.replies.isEmpty { deadline = start.advanced(by: .milliseconds(max(0, timeoutMs) * 5)) }
            let left = clock.now.duration(to: deadline)
            if left <= .zero { break }
            let ms = max(1, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            guard let chunk = read(ms), !chunk.isEmpty else { break }
            parser.feed(chunk)
        }
        parser.finish()
        return (apply(parser.replies, to: base), parser.unconsumed)
    }

    public static func detect(env: [String: String], write: ([UInt8]) -> Void, read: (Int) -> [UInt8]?,
                              timeoutMs: Int = 200, kitty: Bool = false) -> TerminalCapabilities {
        detectWithInput(env: env, write: write, read: read, timeoutMs: timeoutMs, kitty: kitty).capabilities
    }

    /// Whether the locale (after setlocale) encodes text as UTF-8; without it the studio draws
    /// its boxes and symbols in ASCII.
    static func localeIsUTF8() -> Bool {
        guard let cs = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: cs).uppercased()
        return name == "UTF-8" || name == "UTF8"
    }

    /// The preview mode for `--preview auto|sixel|halfblock|halfblock256|ascii` (any case).
    /// "halfblock" is 24-bit where the terminal has it, else 256 colours; the others are taken
    /// as asked, sixel even inside tmux.
    public static func resolve(requested: String, caps: TerminalCapabilities) throws -> PreviewMode {
        switch requested.lowercased() {
        case "auto": return caps.bestPreview
        case "sixel": return .sixel
        case "kitty": return .kitty
        case "halfblock", "half-block": return caps.truecolor ? .halfblockTruecolor : .halfblock256
        case "halfblock256": return .halfblock256
        case "ascii": return .ascii
        default: throw PreviewModeError(requested: requested)
        }
    }
}

public struct PreviewModeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var requested: String
    public var description: String {
        "unknown preview mode \"\(requested)\": use auto, kitty, sixel, halfblock, halfblock256 or ascii"
    }
}
