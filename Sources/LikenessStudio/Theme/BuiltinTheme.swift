// The built-in dark theme: the same styles as Themes/dark.toml (a test loads the file and
// compares), used when no theme file can be found so the studio always has colours.

extension Theme {
    public static let builtinDark: Theme = {
        let fg = RGB(0xab, 0xb2, 0xbf), grey = RGB(0x97, 0x9d, 0xa8), faint = RGB(0x5c, 0x63, 0x70)
        let line = RGB(0x3e, 0x44, 0x51), panel = RGB(0x2c, 0x31, 0x3a), ink = RGB(0x28, 0x2c, 0x34)
        let blue = RGB(0x61, 0xaf, 0xef), yellow = RGB(0xe5, 0xc0, 0x7b), red = RGB(0xef, 0x7b, 0x84)
        let green = RGB(0x98, 0xc3, 0x79), purple = RGB(0xc6, 0x78, 0xdd)
        // The text role's background (ink) is every role's unless it sets its own.
        let styles: [ThemeRole: Style] = [
            .text: Style(fg: fg, bg: ink),
            .dim: Style(fg: faint, bg: ink),
            .accent: Style(fg: blue, bg: ink),
            .border: Style(fg: line, bg: ink),
            .focusBorder: Style(fg: blue, bg: ink, bold: true),
            .title: Style(fg: yellow, bg: ink, bold: true),
            .selection: Style(fg: ink, bg: blue),
            .error: Style(fg: red, bg: ink, bold: true),
            .warning: Style(fg: yellow, bg: ink),
            .ok: Style(fg: green, bg: ink),
            .unknownWord: Style(fg: red, bg: ink, underline: true),
            .placeholder: Style(fg: purple, bg: ink, bold: true),
            .progress: Style(fg: green, bg: ink),
            .progressTrack: Style(fg: line, bg: ink),
            .statusBar: Style(fg: fg, bg: panel),
            .footerKey: Style(fg: yellow, bg: ink, bold: true),
            .footerText: Style(fg: grey, bg: ink),
            .caption: Style(fg: grey, bg: ink),
            .highlight: Style(fg: ink, bg: yellow),
        ]
        return Theme(name: "dark", styles: styles)
    }()
}
