// Keys of the Settings pane: Up/Down choose a row, Left/Right or -/+ change it, typing sets it
// (Enter applies, Esc drops); a refused value keeps the old one and shows the reason.

import Foundation

extension Studio {
    static var settingRows: [SettingField] { SettingField.allCases }

    static func handleSettingsKey(_ s: inout StudioState, _ key: Key) -> [Effect] {
        let rows = settingRows
        s.settingsRow = min(max(0, s.settingsRow), rows.count - 1)
        let field = rows[s.settingsRow]
        if var text = s.settingsEdit {
            switch key {
            case .enter:
                applySettingText(&s, field, text)
                return []
            case .backspace:
                text.removeLast(text.isEmpty ? 0 : 1)
                s.settingsEdit = text
                return []
            case .char(let c):
                s.settingsEdit = text + String(c)
                return []
            case .paste(let p):
                s.settingsEdit = text + p.replacingOccurrences(of: "\n", with: " ")
                return []
            case .ctrl("u"):
                s.settingsEdit = ""
                return []
            case .up, .down:
                applySettingText(&s, field, text)
                if s.settingsEdit != nil { return [] }
            default:
                return []
            }
        }
        switch key {
        case .up, .char("k"): s.settingsRow = max(0, s.settingsRow - 1); s.settingsError = nil
        case .down, .char("j"): s.settingsRow = min(rows.count - 1, s.settingsRow + 1); s.settingsError = nil
        case .home: s.settingsRow = 0
        case .end: s.settingsRow = rows.count - 1
        case .left, .char("-"), .char("h"):
            field.step(&s.settings, by: -1, s.model); s.settingsError = nil
            return settingChanged(&s, field)
        case .right, .char("+"), .char("="), .char("l"), .char(" "):
            field.step(&s.settings, by: 1, s.model); s.settingsError = nil
            return settingChanged(&s, field)
        case .enter:
            if field.acceptsText {
                s.settingsEdit = field == .axisValues ? field.value(s.settings, s.model).replacingOccurrences(of: "(type: term | alt | alt)", with: "") : ""
            } else {
                field.step(&s.settings, by: 1, s.model)
                return settingChanged(&s, field)
            }
        case .char(let c) where field.acceptsText && (c.isNumber || c == "." || (field == .axisValues)):
            s.settingsEdit = String(c)
            s.settingsError = nil
        case .paste(let text) where field.acceptsText:
            s.settingsEdit = text.replacingOccurrences(of: "\n", with: " ")
            s.settingsError = nil
        case .char(let c) where c.isNumber || c == ".":
            s.settingsError = "use Left/Right to change \(field.label.lowercased())"
        default:
            break
        }
        return []
    }

    static func applySettingText(_ s: inout StudioState, _ field: SettingField, _ text: String) {
        if let reason = field.set(&s.settings, from: text, s.model) {
            s.settingsError = reason
            setStatus(&s, reason, .error)
        } else {
            s.settingsEdit = nil
            s.settingsError = nil
            setStatus(&s, "\(field.label.lowercased()): \(field.value(s.settings, s.model))")
        }
    }

    static func settingChanged(_ s: inout StudioState, _ field: SettingField) -> [Effect] {
        setStatus(&s, "\(field.label.lowercased()): \(field.value(s.settings, s.model))")
        return []
    }
}
