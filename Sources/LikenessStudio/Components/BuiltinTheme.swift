// The built-in dark theme: the same styles as Themes/dark.toml (a test loads the file and
// compares), used when no theme file can be found so the studio always has colours.

extension Theme {
    public static let builtinDark: Theme = {
        let fg = RGB(0xab, 0xb2, 0xbf), grey = RGB(0x8b, 0x91, 0x9c), faint = RGB(0x5c, 0x63, 0x70)
        let line = RGB(0x3e, 0x44, 0x51), panel = RGB(0x2c, 0x31, 0x3a), ink = RGB(0x28, 0x2c, 0x34)
        let blue = RGB(0x61, 0xaf, 0xef), yellow = RGB(0xe5, 0xc0, 0x7b), red = RGB(0xe0, 0x6c, 0x75)
        let green = RGB(0x98, 0xc3, 0x79), purple = RGB(0xc6, 0x78, 0xdd)
        let styles: [ThemeRole: Style] = [
            .text: Style(fg: fg),
            .dim: Style(fg: faint),
            .accent: Style(fg: blue),
            .border: Style(fg: line),
            .focusBorder: Style(fg: blue, bold: true),
            .title: Style(fg: yellow, bold: true),
            .selection: Style(fg: ink, bg: blue),
            .error: Style(fg: red, bold: true),
            .warning: Style(fg: yellow),
            .ok: Style(fg: green),
            .unknownWord: Style(fg: red, underline: true),
            .placeholder: Style(fg: purple, bold: true),
            .progress: Style(fg: green),
            .progressTrack: Style(fg: line),
            .statusBar: Style(fg: fg, bg: panel),
            .footerKey: Style(fg: yellow, bold: true),
            .footerText: Style(fg: grey),
            .caption: Style(fg: grey),
            .highlight: Style(fg: ink, bg: yellow),
        ]
        return Theme(name: "dark", styles: styles)
    }()
}
