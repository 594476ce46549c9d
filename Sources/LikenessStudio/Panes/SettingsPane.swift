// Sampler settings: one row per field, the selected row highlighted, a value being typed shown
// with a cursor, the reason a value was refused underneath.

import Foundation

enum SettingsPane {
    static func draw(_ c: inout Canvas, _ s: StudioState, _ r: Rect) {
        let focused = s.focus == .settings && s.overlay == nil
        c.pane(r, title: "Settings", focused: focused)
        let inner = r.inset(1)
        guard inner.width > 4, inner.height > 0 else { return }
        let labelW = 10
        for (k, field) in SettingField.allCases.enumerated() where k < inner.height {
            let y = inner.y + k
            let selected = k == s.settingsPane.row
            let rowStyle: ThemeRole = selected ? (focused ? .selection : .highlight) : .text
            if selected {
                c.grid.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", c.style(rowStyle)))
            }
            _ = c.put(clipped(field.label, labelW), x: inner.x, y: y, selected ? rowStyle : .dim, clip: inner)
            var value = field.value(s.settings, s.model)
            if value.isEmpty { value = field.hint(s.settings) }
            var role = rowStyle
            if selected, let edit = s.settingsPane.edit {
                value = edit + "_"
                role = .accent
            } else if selected && focused && !field.acceptsText {
                value = "‹ \(value) ›"
            }
            _ = c.put(clipped(value, inner.width - labelW - 1), x: inner.x + labelW + 1, y: y, role, clip: inner)
        }
        var y = inner.y + SettingField.allCases.count + 1
        if let err = s.settingsPane.error {
            for line in wrapWords(err, inner.width) where y < inner.maxY {
                _ = c.put(line, x: inner.x, y: y, .error, clip: inner); y += 1
            }
        } else if focused {
            let field = SettingField.allCases[min(s.settingsPane.row, SettingField.allCases.count - 1)]
            let hint = field.acceptsText ? "←/→ change · type a value, Enter sets" : "←/→ or Enter change"
            for line in wrapWords(hint, inner.width) where y < inner.maxY {
                _ = c.put(line, x: inner.x, y: y, .dim, clip: inner); y += 1
            }
        }
    }
}
