// Themes: a Style for each role the views draw with. `Theme.builtinDark` is used when no theme
// file can be found; `withoutColor()` is what NO_COLOR gets (attributes only, no colours).
// Theme files are read by ThemeLoader; Themes/README.md documents their keys.

import Foundation

/// What a piece of the interface is, for choosing its style. Raw values are the keys of theme
/// files (snake_case).
public enum ThemeRole: String, CaseIterable, Sendable {
    case text, dim, accent, border
    case focusBorder = "focus_border"
    case title, selection, error, warning, ok
    case unknownWord = "unknown_word"
    case placeholder, progress
    case progressTrack = "progress_track"
    case statusBar = "status_bar"
    case footerKey = "footer_key"
    case footerText = "footer_text"
    case caption, highlight
}

public struct Theme: Sendable, Equatable {
    public var name: String
    /// Every role's style; roles missing here draw as `.text`.
    public var styles: [ThemeRole: Style]

    public init(name: String, styles: [ThemeRole: Style]) {
        self.name = name
        self.styles = styles
    }

    public func style(_ role: ThemeRole) -> Style {
        styles[role] ?? styles[.text] ?? .plain
    }

    /// True when no role has a colour (a `withoutColor()` theme).
    public var isMonochrome: Bool { styles.values.allSatisfy { $0.fg == nil && $0.bg == nil } }

    /// The theme for NO_COLOR: every colour removed, each role's own attributes kept, and the
    /// attributes of `monochromeAttributes` added so that roles told apart by colour alone
    /// (selection, errors, unknown words, the focused border) stay distinguishable.
    public func withoutColor() -> Theme {
        var out: [ThemeRole: Style] = [:]
        for role in ThemeRole.allCases {
            let s = style(role)
            let add = Theme.monochromeAttributes[role] ?? .plain
            out[role] = Style(fg: nil, bg: nil, bold: s.bold || add.bold, underline: s.underline || add.underline,
                              reverse: s.reverse || add.reverse, dim: s.dim || add.dim)
        }
        return Theme(name: name, styles: out)
    }

    /// Attributes each role gets in a colourless theme.
    public static let monochromeAttributes: [ThemeRole: Style] = [
        .dim: Style(dim: true),
        .accent: Style(bold: true),
        .focusBorder: Style(bold: true),
        .title: Style(bold: true),
        .selection: Style(reverse: true),
        .error: Style(bold: true, underline: true),
        .warning: Style(underline: true),
        .unknownWord: Style(underline: true),
        .placeholder: Style(dim: true),
        .progress: Style(reverse: true),
        .statusBar: Style(reverse: true),
        .footerKey: Style(bold: true),
        .highlight: Style(reverse: true),
        .caption: Style(dim: true),
    ]
}
