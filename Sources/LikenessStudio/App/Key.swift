// Keys and mouse clicks as the update function sees them: decoded from curses by the driver,
// written directly in tests. Control keys are `.ctrl("g")`, Alt/Meta keys `.alt("b")`.

public enum Key: Hashable, Sendable {
    case char(Character)
    case ctrl(Character)
    case alt(Character)
    case up, down, left, right, home, end, pageUp, pageDown
    case tab, backTab, enter, backspace, altBackspace, delete, escape
    case function(Int)
    /// Text arriving in one burst (bracketed or fast paste).
    case paste(String)

    /// A short human name, for the footer and the help overlay.
    public var label: String {
        switch self {
        case .char(let c): return String(c)
        case .ctrl(let c): return "Ctrl-\(String(c).uppercased())"
        case .alt(let c): return "Alt-\(String(c).uppercased())"
        case .up: return "Up"
        case .down: return "Down"
        case .left: return "Left"
        case .right: return "Right"
        case .home: return "Home"
        case .end: return "End"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .tab: return "Tab"
        case .backTab: return "Shift-Tab"
        case .enter: return "Enter"
        case .backspace: return "Backspace"
        case .altBackspace: return "Alt-Backspace"
        case .delete: return "Del"
        case .escape: return "Esc"
        case .function(let n): return "F\(n)"
        case .paste: return "paste"
        }
    }
}
