// What the terminal can show, first guessed from the environment (TERM, TERM_PROGRAM,
// COLORTERM, TMUX/STY, NO_COLOR), then corrected by the terminal's own answers
// (TerminalDetect). `bestPreview` picks sixel, then 24-bit half-blocks, 256-colour half-blocks,
// ASCII; inside tmux or GNU screen never sixel on its own (tmux 3.3 passes none and drops them
// on resize), though `--preview sixel` still forces it.

public struct TerminalCapabilities: Equatable, Sendable {
    public var term: String?
    /// XTVERSION's answer (e.g. "XTerm(388)"), else TERM_PROGRAM.
    public var name: String?
    public var sixel = false
    public var truecolor = false
    public var colors256 = false
    public var inTmux = false
    /// GNU screen (STY set, or TERM screen* outside tmux).
    public var inScreen = false
    /// NO_COLOR set and not empty: the theme drops colours (images still show in colour).
    public var noColor = false
    /// TERM unset, empty or "dumb": nothing is queried and previews are ASCII.
    public var dumb = false
    public var cellPixelWidth: Int?
    public var cellPixelHeight: Int?
    /// Sixel colour registers reported by XTSMGRAPHICS.
    public var sixelColorRegisters: Int?
    public var kittyGraphics = false
    /// The terminal answered DA1 (so the answers are complete).
    public var answered = false
    /// DA1 parameters as answered.
    public var deviceAttributes: [Int] = []

    public init() {}

    public var inMultiplexer: Bool { inTmux || inScreen }

    /// Cell height over width from the reported cell size; 2 (most fonts) when unknown.
    public var cellAspect: Double {
        guard let w = cellPixelWidth, let h = cellPixelHeight, w > 0, h > 0 else { return 2 }
        return Double(h) / Double(w)
    }

    public var bestPreview: PreviewMode {
        if dumb { return .ascii }
        if kittyGraphics && !inMultiplexer { return .kitty }
        if sixel && !inMultiplexer { return .sixel }
        if truecolor { return .halfblockTruecolor }
        if colors256 { return .halfblock256 }
        return .ascii
    }

    /// Terminals whose TERM or XTVERSION name means 24-bit colour (lowercased prefixes).
    static let truecolorNames = ["xterm-kitty", "kitty", "alacritty", "foot", "wezterm", "xterm-ghostty", "ghostty",
                                 "contour", "iterm2", "konsole", "mintty", "vscode", "st-256color"]
    /// TERM values of terminals that draw sixel (used only when the terminal does not answer DA1).
    static let sixelTerms = ["foot", "foot-extra", "mlterm", "contour", "yaft-256color"]
    static let sixelPrograms = ["WezTerm", "mintty"]
    static let truecolorPrograms = ["iTerm.app", "WezTerm", "vscode", "ghostty", "Hyper", "mintty"]

    /// The guess from environment variables alone.
    public static func fromEnvironment(_ env: [String: String]) -> TerminalCapabilities {
        var c = TerminalCapabilities()
        let term = env["TERM"] ?? ""
        let program = env["TERM_PROGRAM"] ?? ""
        c.term = term.isEmpty ? nil : term
        c.dumb = term.isEmpty || term == "dumb"
        c.noColor = !(env["NO_COLOR"] ?? "").isEmpty
        c.inTmux = !(env["TMUX"] ?? "").isEmpty || term.hasPrefix("tmux")
        c.inScreen = !c.inTmux && (!(env["STY"] ?? "").isEmpty || term.hasPrefix("screen"))
        if !program.isEmpty {
            let version = env["TERM_PROGRAM_VERSION"] ?? ""
            c.name = version.isEmpty ? program : "\(program) \(version)"
        }
        let colorterm = (env["COLORTERM"] ?? "").lowercased()
        c.truecolor = colorterm == "truecolor" || colorterm == "24bit" || term.hasSuffix("-direct")
            || truecolorNames.contains { term.lowercased().hasPrefix($0) } || truecolorPrograms.contains(program)
        c.colors256 = c.truecolor || term.contains("256color")
        c.sixel = sixelTerms.contains(term) || sixelPrograms.contains(program)
        if c.dumb { c.truecolor = false; c.colors256 = false; c.sixel = false }
        return c
    }
}
