// Every key binding of the studio, in one list. A binding names its keys, the context it works
// in, the command each key triggers, its line in the help overlay and its (optional) footer text.
// The update functions look keys up here, the footer and the help overlay are drawn from here,
// so the three cannot drift apart. To add a key: add a `Command` case, a binding below, and the
// case in the update function of its context.

import Foundation

/// Where a binding works. A key is looked up in the state's active contexts, in order
/// (`Keymap.contexts(for:)`); the first binding that matches wins.
public enum KeyContext: Hashable, Sendable {
    /// Both screens and every pane, text fields included (not in dialogs).
    case anywhere
    /// The studio screen, every pane.
    case studio
    /// The studio screen outside the text fields and outside a settings value being typed.
    case outsideText
    /// The prompt and the negative prompt.
    case promptFields
    /// Text editing: the prompt fields and the one-line inputs of dialogs.
    case textEditing
    /// A focused pane other than the prompt fields.
    case pane(Pane)
    /// A settings value being typed.
    case settingsTyping
    case historyScreen
    case overlay(OverlayKind)
}

public enum OverlayKind: Hashable, Sendable { case help, loras, confirmQuit, confirmDelete, input }

/// What a binding matches: one key, any typed character, or any paste, or any key at all.
public enum KeyMatch: Hashable, Sendable {
    case key(Key)
    case anyCharacter
    case anyPaste
    case anyKey

    func matches(_ key: Key) -> Bool {
        switch (self, key) {
        case (.key(let k), _): return k == key
        case (.anyCharacter, .char): return true
        case (.anyPaste, .paste): return true
        case (.anyKey, _): return true
        default: return false
        }
    }

    var isExact: Bool { if case .key = self { return true }; return false }

    /// A key this match stands for (the keymap test presses it).
    public var example: Key {
        switch self {
        case .key(let k): return k
        case .anyCharacter: return .char("7")
        case .anyPaste: return .paste("7")
        case .anyKey: return .char("z")
        }
    }
}

/// What a key does. The update function of the binding's context performs it.
public enum Command: Hashable, Sendable {
    // anywhere
    case quit, interrupt, generate, showHelp, toggleHistory, cyclePreviewMode, saveAs, toggleLive, clearInit, showLoRAs
    // studio screen
    case escape, nextPane, previousPane
    // lists and grids
    case up, down, left, right, pageUp, pageDown, first, last
    // objects
    case useObject, noObject, addObject, renameObject, deleteObject, reencodeObject, reencodeStale
    // prompt fields
    case insertPlaceholder, olderPrompt, newerPrompt
    // text editing
    case insertText, newline, deleteBackward, deleteForward, cursorLeft, cursorRight, rowUp, rowDown,
         lineStart, lineEnd, wordLeft, wordRight, deleteWord, deleteToStart, deleteToEnd, undo, redo
    // settings
    case decrease, increase, enterSetting, typeSetting, applySetting, applyAndMove, dropSetting, clearSetting
    // preview
    case zoom, saveCell, baseSeed, useAsInit
    // history
    case back, recall, openPNG, refresh
    // LoRA list
    case toggleLoRA
    // dialogs
    case close, yes, no, accept, cancelInput, complete
}

public struct KeyBinding: Sendable {
    public var context: KeyContext
    /// Each key this binding owns, with the command it triggers.
    public var triggers: [(match: KeyMatch, command: Command)]
    /// The keys as the help overlay names them.
    public var label: String
    public var help: String
    /// Short text for the footer (nil: not shown there).
    public var footer: String?
    /// The keys as the footer names them (default: `label`).
    public var footerLabel: String?

    init(_ context: KeyContext, each triggers: [(KeyMatch, Command)], _ label: String, _ help: String,
         footer: String? = nil, footerLabel: String? = nil) {
        self.context = context
        self.triggers = triggers.map { (match: $0.0, command: $0.1) }
        self.label = label; self.help = help; self.footer = footer; self.footerLabel = footerLabel
    }

    /// One command for all of `keys`, named `label` in the help.
    init(_ context: KeyContext, _ keys: [Key], _ command: Command, _ label: String, _ help: String,
         footer: String? = nil, footerLabel: String? = nil) {
        self.init(context, each: keys.map { (KeyMatch.key($0), command) }, label, help, footer: footer, footerLabel: footerLabel)
    }

    /// One command for all of `keys`, named by their labels.
    init(_ context: KeyContext, _ keys: [Key], _ command: Command, _ help: String,
         footer: String? = nil, footerLabel: String? = nil) {
        self.init(context, keys, command, keys.map(\.label).joined(separator: " "), help, footer: footer, footerLabel: footerLabel)
    }
}

public enum Keymap {
    static let digits: [Key] = "0123456789.".map { .char($0) }

    public static let bindings: [KeyBinding] = [
        // Anywhere (also in the text fields)
        KeyBinding(.anywhere, [.ctrl("g")], .generate, "generate", footer: "generate"),
        KeyBinding(.anywhere, [.ctrl("s")], .saveAs, "save selected image as…"),
        KeyBinding(.anywhere, [.function(2)], .toggleHistory, "history", footer: "history"),
        KeyBinding(.anywhere, [.function(4)], .cyclePreviewMode, "preview mode"),
        KeyBinding(.anywhere, [.function(3)], .toggleLive, "live mode on/off"),
        KeyBinding(.anywhere, [.function(5)], .showLoRAs, "LoRA list", footer: "LoRAs"),
        KeyBinding(.anywhere, [.function(1)], .showHelp, "this help", footer: "help"),
        KeyBinding(.anywhere, [.ctrl("q")], .quit, "quit", footer: "quit"),
        KeyBinding(.anywhere, [.ctrl("c")], .interrupt, "cancel, or quit if idle"),
        KeyBinding(.studio, [.escape], .escape, "cancel images, close large view", footer: "cancel"),
        KeyBinding(.studio, each: [(.key(.tab), .nextPane), (.key(.backTab), .previousPane)], "Tab S-Tab", "next/previous pane",
                   footer: "next pane", footerLabel: "Tab"),
        KeyBinding(.outsideText, [.char("H")], .toggleHistory, "history"),
        KeyBinding(.outsideText, [.char("v")], .cyclePreviewMode, "preview mode"),
        KeyBinding(.outsideText, [.char("?")], .showHelp, "this help", footer: "help"),
        KeyBinding(.outsideText, [.char("q")], .quit, "quit", footer: "quit"),
        KeyBinding(.outsideText, [.char("I")], .clearInit, "clear the init image"),

        // Prompt and negative prompt
        KeyBinding(.promptFields, [.ctrl("o")], .insertPlaceholder, "insert <obj>", footer: "<obj>"),
        KeyBinding(.promptFields, each: [(.key(.ctrl("p")), .olderPrompt), (.key(.ctrl("n")), .newerPrompt)], "Ctrl-P/N",
                   "older/newer prompt", footer: "history"),
        KeyBinding(.textEditing, each: [(.anyCharacter, .insertText), (.anyPaste, .insertText)], "letters", "type, paste"),
        KeyBinding(.textEditing, [.enter], .newline, "new line (prompt fields)"),
        KeyBinding(.textEditing, [.backspace], .deleteBackward, "delete left"),
        KeyBinding(.textEditing, [.delete, .ctrl("d")], .deleteForward, "Del Ctrl-D", "delete right"),
        KeyBinding(.textEditing, each: [(.key(.left), .cursorLeft), (.key(.right), .cursorRight), (.key(.ctrl("b")), .cursorLeft),
                                  (.key(.ctrl("f")), .cursorRight)], "←→ Ctrl-B/F", "left/right"),
        KeyBinding(.textEditing, each: [(.key(.up), .rowUp), (.key(.down), .rowDown)], "↑↓", "row up/down (prompt fields)"),
        KeyBinding(.textEditing, each: [(.key(.home), .lineStart), (.key(.end), .lineEnd), (.key(.ctrl("a")), .lineStart),
                                  (.key(.ctrl("e")), .lineEnd)], "Home End Ctrl-A/E", "line start/end"),
        KeyBinding(.textEditing, each: [(.key(.alt("b")), .wordLeft), (.key(.alt("f")), .wordRight)], "Alt-B/F", "word left/right"),
        KeyBinding(.textEditing, [.ctrl("w"), .altBackspace], .deleteWord, "Ctrl-W Alt-Bksp", "delete word"),
        KeyBinding(.textEditing, each: [(.key(.ctrl("u")), .deleteToStart), (.key(.ctrl("k")), .deleteToEnd)], "Ctrl-U/K",
                   "delete to line start/end"),
        KeyBinding(.textEditing, each: [(.key(.ctrl("z")), .undo), (.key(.ctrl("_")), .undo), (.key(.ctrl("y")), .redo),
                                  (.key(.alt("z")), .redo)], "Ctrl-Z/Y", "undo/redo"),

        // Objects
        KeyBinding(.pane(.gallery), [.enter, .char(" ")], .useObject, "Enter Space", "use / stop using", footer: "use", footerLabel: "Enter"),
        KeyBinding(.pane(.gallery), each: [(.key(.up), .up), (.key(.down), .down), (.key(.char("k")), .up), (.key(.char("j")), .down)],
                   "↑↓ k j", "choose"),
        KeyBinding(.pane(.gallery), each: [(.key(.pageUp), .pageUp), (.key(.pageDown), .pageDown)], "PgUp PgDn", "page up/down"),
        KeyBinding(.pane(.gallery), each: [(.key(.home), .first), (.key(.end), .last), (.key(.char("g")), .first), (.key(.char("G")), .last)],
                   "Home End g G", "first/last"),
        KeyBinding(.pane(.gallery), [.char("x")], .noObject, "no object", footer: "none"),
        KeyBinding(.pane(.gallery), [.char("a")], .addObject, "add from image file", footer: "add"),
        KeyBinding(.pane(.gallery), [.char("r")], .renameObject, "rename", footer: "rename"),
        KeyBinding(.pane(.gallery), [.char("d"), .delete], .deleteObject, "d Del", "delete (asks)", footer: "delete", footerLabel: "d"),
        KeyBinding(.pane(.gallery), [.char("e")], .reencodeObject, "re-encode if stale", footer: "re-encode"),
        KeyBinding(.pane(.gallery), [.char("E")], .reencodeStale, "re-encode all stale"),

        // Settings
        KeyBinding(.pane(.settings), each: [(.key(.up), .up), (.key(.down), .down), (.key(.char("k")), .up), (.key(.char("j")), .down)],
                   "↑↓ k j", "choose", footer: "choose", footerLabel: "↑↓"),
        KeyBinding(.pane(.settings), each: [(.key(.home), .first), (.key(.end), .last)], "Home End", "first/last"),
        KeyBinding(.pane(.settings), each: [(.key(.left), .decrease), (.key(.char("-")), .decrease), (.key(.char("h")), .decrease),
                                      (.key(.right), .increase), (.key(.char("+")), .increase), (.key(.char("=")), .increase),
                                      (.key(.char("l")), .increase), (.key(.char(" ")), .increase)],
                   "←→ - + h l", "change", footer: "change", footerLabel: "←→"),
        KeyBinding(.pane(.settings), [.enter], .enterSetting, "type a value, or next choice"),
        KeyBinding(.pane(.settings), each: [(.anyCharacter, .typeSetting), (.anyPaste, .typeSetting)], "0-9 .",
                   "type a value (Values: any text)", footer: "type", footerLabel: "0-9"),
        KeyBinding(.settingsTyping, each: [(.anyCharacter, .insertText), (.anyPaste, .insertText)], "letters", "type the value"),
        KeyBinding(.settingsTyping, [.backspace], .deleteBackward, "delete left"),
        KeyBinding(.settingsTyping, [.ctrl("u")], .clearSetting, "clear the value"),
        KeyBinding(.settingsTyping, [.enter], .applySetting, "apply the value", footer: "apply"),
        KeyBinding(.settingsTyping, each: [(.key(.up), .applyAndMove), (.key(.down), .applyAndMove)], "↑↓", "apply and move",
                   footer: "apply and move"),
        KeyBinding(.settingsTyping, [.escape], .dropSetting, "drop the typed value", footer: "drop"),

        // Preview
        KeyBinding(.pane(.preview), each: [(.key(.left), .left), (.key(.right), .right), (.key(.up), .up), (.key(.down), .down),
                                     (.key(.char("h")), .left), (.key(.char("l")), .right), (.key(.char("k")), .up),
                                     (.key(.char("j")), .down)],
                   "←→↑↓ h l k j", "choose an image", footer: "pick", footerLabel: "←→↑↓"),
        KeyBinding(.pane(.preview), [.enter, .char("o")], .zoom, "Enter o", "open large / back", footer: "large", footerLabel: "Enter"),
        KeyBinding(.pane(.preview), [.char("s")], .saveCell, "save as…", footer: "save"),
        KeyBinding(.pane(.preview), [.char("b")], .baseSeed, "seed (and id. guidance) as base", footer: "base seed"),
        KeyBinding(.pane(.preview), [.char("i")], .useAsInit, "use as init image (img2img)"),

        // History screen
        KeyBinding(.historyScreen, [.enter, .char("r")], .recall, "Enter r", "recall all settings", footer: "recall", footerLabel: "Enter"),
        KeyBinding(.historyScreen, each: [(.key(.up), .up), (.key(.down), .down), (.key(.char("k")), .up), (.key(.char("j")), .down)],
                   "↑↓ k j", "choose"),
        KeyBinding(.historyScreen, each: [(.key(.pageUp), .pageUp), (.key(.pageDown), .pageDown)], "PgUp PgDn", "page up/down"),
        KeyBinding(.historyScreen, each: [(.key(.home), .first), (.key(.end), .last)], "Home End", "first/last"),
        KeyBinding(.historyScreen, [.char("o")], .openPNG, "open a PNG, JPEG or WebP", footer: "open PNG/JPEG/WebP"),
        KeyBinding(.historyScreen, [.char("i")], .useAsInit, "use as init image (img2img)"),
        KeyBinding(.historyScreen, [.char("g")], .refresh, "refresh", footer: "refresh"),
        KeyBinding(.historyScreen, [.escape, .char("q"), .char("H")], .back, "Esc q H", "back", footer: "back", footerLabel: "Esc"),
        KeyBinding(.historyScreen, [.char("?")], .showHelp, "this help"),

        // Dialogs
        KeyBinding(.overlay(.help), each: [(.key(.pageDown), .pageDown), (.key(.char(" ")), .pageDown), (.key(.pageUp), .pageUp)],
                   "PgDn PgUp", "next/previous help page (closes past the end)", footer: "more", footerLabel: "PgDn"),
        KeyBinding(.overlay(.help), each: [(.anyKey, .close)], "any key", "close this help", footer: "close"),
        KeyBinding(.overlay(.loras), each: [(.key(.up), .up), (.key(.down), .down), (.key(.char("k")), .up), (.key(.char("j")), .down)],
                   "↑↓ k j", "choose", footer: "choose", footerLabel: "↑↓"),
        KeyBinding(.overlay(.loras), [.enter, .char(" ")], .toggleLoRA, "Enter Space", "tag in / out of the prompt",
                   footer: "on/off", footerLabel: "Enter"),
        KeyBinding(.overlay(.loras), each: [(.key(.left), .decrease), (.key(.char("-")), .decrease), (.key(.right), .increase),
                                      (.key(.char("+")), .increase), (.key(.char("=")), .increase)],
                   "←→ - +", "weight -/+ 0.05", footer: "weight", footerLabel: "←→"),
        KeyBinding(.overlay(.loras), [.escape, .function(5), .char("q")], .close, "Esc F5 q", "close", footer: "close",
                   footerLabel: "Esc"),
        KeyBinding(.overlay(.confirmQuit), [.char("y"), .char("Y"), .enter, .ctrl("q")], .yes, "y Enter", "yes", footer: "yes", footerLabel: "y"),
        KeyBinding(.overlay(.confirmQuit), each: [(.anyKey, .no)], "other", "no", footer: "no"),
        KeyBinding(.overlay(.confirmDelete), [.char("y"), .char("Y")], .yes, "y", "yes", footer: "yes"),
        KeyBinding(.overlay(.confirmDelete), each: [(.anyKey, .no)], "other", "no", footer: "no"),
        KeyBinding(.overlay(.input), [.enter], .accept, "accept", footer: "accept"),
        KeyBinding(.overlay(.input), [.escape, .ctrl("c"), .ctrl("g")], .cancelInput, "Esc", "cancel", footer: "cancel"),
        KeyBinding(.overlay(.input), [.tab], .complete, "complete a path", footer: "complete"),
    ]

    /// The contexts active in `s`, most specific last-resort order: a key is looked up in each in turn.
    public static func contexts(for s: StudioState) -> [KeyContext] {
        if let o = s.overlay {
            switch o {
            case .help: return [.overlay(.help)]
            case .loras: return [.overlay(.loras)]
            case .confirmQuit: return [.overlay(.confirmQuit)]
            case .confirmDelete: return [.overlay(.confirmDelete)]
            case .input: return [.overlay(.input), .textEditing]
            }
        }
        if s.screen == .history { return [.anywhere, .historyScreen] }
        switch s.focus {
        case .prompt, .negative: return [.anywhere, .studio, .promptFields, .textEditing]
        case .settings where s.settingsPane.edit != nil: return [.anywhere, .settingsTyping, .studio]
        case let pane: return [.anywhere, .studio, .outsideText, .pane(pane)]
        }
    }

    /// The binding and command for `key` in `contexts`: exact keys before any-key matches within a context.
    public static func lookup(_ key: Key, in contexts: [KeyContext]) -> (binding: KeyBinding, command: Command)? {
        for context in contexts {
            let here = bindings.filter { $0.context == context }
            for exact in [true, false] {
                for b in here {
                    if let t = b.triggers.first(where: { $0.match.isExact == exact && $0.match.matches(key) }) {
                        return (b, t.command)
                    }
                }
            }
        }
        return nil
    }

    public static func command(_ key: Key, in s: StudioState) -> Command? {
        lookup(key, in: contexts(for: s))?.command
    }

    /// The footer's keys per context, in order; `whileRunning` ones only show while images are made.
    static func footerKeys(for s: StudioState) -> [(key: Key, whileRunning: Bool)] {
        func plain(_ keys: Key...) -> [(key: Key, whileRunning: Bool)] { keys.map { ($0, false) } }
        let esc: [(key: Key, whileRunning: Bool)] = [(.escape, true)]
        if let o = s.overlay {
            switch o {
            case .help: return HelpOverlay.pageCount(width: s.width, height: s.height) > 1 ? plain(.pageDown, .char("z")) : plain(.char("z"))
            case .loras: return plain(.up, .enter, .left, .escape)
            case .confirmQuit, .confirmDelete: return plain(.char("y"), .char("z"))
            case .input: return plain(.enter, .escape, .tab)
            }
        }
        if s.screen == .history { return plain(.enter, .char("o"), .char("g"), .escape, .ctrl("q")) }
        switch s.focus {
        case .prompt, .negative:
            return plain(.ctrl("g")) + esc + plain(.ctrl("o"), .ctrl("p"), .tab, .function(1), .ctrl("q"))
        case .gallery:
            return plain(.enter, .char("x"), .char("a"), .char("r"), .char("d"), .char("e"), .ctrl("g")) + esc + plain(.char("q"))
        case .settings where s.settingsPane.edit != nil:
            return plain(.enter, .escape, .up, .ctrl("g"), .function(1), .ctrl("q"))
        case .settings:
            return plain(.up, .left, .char("0"), .ctrl("g")) + esc + plain(.char("?"), .char("q"))
        case .preview:
            return plain(.left, .enter, .char("s"), .char("b"), .ctrl("g")) + esc + plain(.function(2), .char("q"))
        }
    }

    /// The footer of `s`: (keys, text) of the bindings its footer keys reach.
    public static func footer(for s: StudioState) -> [(String, String)] {
        let contexts = contexts(for: s)
        return footerKeys(for: s).compactMap { entry in
            if entry.whileRunning && !s.jobRunning { return nil }
            guard let b = lookup(entry.key, in: contexts)?.binding, let text = b.footer else { return nil }
            return (b.footerLabel ?? b.label, text)
        }
    }

    /// The help overlay's sections: bindings grouped as users think of them; bindings of one
    /// section with the same help text share a line.
    public static func helpSections() -> [(String, [(String, String)])] {
        let groups: [(String, (KeyContext) -> Bool)] = [
            ("Anywhere", { [.anywhere, .studio, .outsideText].contains($0) }),
            ("Prompt", { $0 == .promptFields || $0 == .textEditing }),
            ("Objects", { $0 == .pane(.gallery) }),
            ("Settings", { $0 == .pane(.settings) || $0 == .settingsTyping }),
            ("Preview", { $0 == .pane(.preview) }),
            ("History", { $0 == .historyScreen }),
            ("LoRA list", { $0 == .overlay(.loras) }),
            ("Dialogs", { if case .overlay(let kind) = $0 { return kind != .loras }; return false }),
        ]
        return groups.map { title, member in
            var lines: [(String, String)] = []
            for b in bindings where member(b.context) {
                if let i = lines.firstIndex(where: { $0.1 == b.help }) {
                    if !lines[i].0.split(separator: " ").contains(Substring(b.label)) { lines[i].0 += "  " + b.label }
                } else {
                    lines.append((b.label, b.help))
                }
            }
            return (title, lines)
        }
    }
}
