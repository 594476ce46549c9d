// How images are shown: kitty's graphics protocol, sixel graphics, half-blocks in 24-bit or 256
// colours, or ASCII. The raw values are the names the --preview flag and the status line use.

public enum PreviewMode: String, CaseIterable, Sendable, Codable {
    case kitty
    case sixel
    case halfblockTruecolor = "halfblock"
    case halfblock256 = "halfblock256"
    case ascii

    /// A short label for the status line.
    public var label: String {
        switch self {
        case .kitty: return "kitty"
        case .sixel: return "sixel"
        case .halfblockTruecolor: return "half-block 24-bit"
        case .halfblock256: return "half-block 256"
        case .ascii: return "ASCII"
        }
    }

    /// Images go to the terminal as graphics after the text (the cells under them stay blank).
    public var isGraphics: Bool { self == .kitty || self == .sixel }
}
