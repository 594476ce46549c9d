// The Settings pane's commands (keys in Keymap.swift): choose a row, change it, type a value
// (applied or dropped); a refused value keeps the old one and shows the reason.

import Foundation

extension Studio {
    static var settingRows: [SettingField] { SettingField.allCases }

    static func handleSettingsKey(_ s: inout StudioState, _ command: Command, _ key: Key) -> [Effect] {
        let rows = settingRows
        s.settingsRow = min(max(0, s.settingsRow), rows.count - 1)
        let field = rows[s.settingsRow]
        switch command {
        case .up: s.settingsRow = max(0, s.settingsRow - 1); s.settingsError = nil
        case .down: s.settingsRow = min(rows.count - 1, s.settingsRow + 1); s.settingsError = nil
        case .first: s.settingsRow = 0
        case .last: s.settingsRow = rows.count - 1
        case .decrease, .increase:
            field.step(&s.settings, by: command == .increase ? 1 : -1, s.model); s.settingsError = nil
            return settingChanged(&s, field)
        case .enterSetting:
            if field.acceptsText {
                s.settingsEdit = field == .axisValues ? field.value(s.settings, s.model) : ""
            } else {
                field.step(&s.settings, by: 1, s.model)
                return settingChanged(&s, field)
            }
        case .typeSetting:
            switch key {
            case .char(let c) where field.acceptsText && (c.isNumber || c == "." || field == .axisValues):
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
        default:
            break
        }
        return []
    }

    /// A value being typed: Enter applies it, Up/Down apply it and move, Esc drops it.
    static func handleSettingsTyping(_ s: inout StudioState, _ command: Command, _ key: Key) -> [Effect] {
        guard let text = s.settingsEdit else { return [] }
        let rows = settingRows
        s.settingsRow = min(max(0, s.settingsRow), rows.count - 1)
        let field = rows[s.settingsRow]
        switch command {
        case .applySetting:
            applySettingText(&s, field, text)
        case .applyAndMove:
            applySettingText(&s, field, text)
            if s.settingsEdit == nil {
                s.settingsRow = key == .up ? max(0, s.settingsRow - 1) : min(rows.count - 1, s.settingsRow + 1)
                s.settingsError = nil
            }
        case .deleteBackward:
            s.settingsEdit = String(text.dropLast())
        case .clearSetting:
            s.settingsEdit = ""
        case .dropSetting:
            s.settingsEdit = nil; s.settingsError = nil
        case .insertText:
            if case .char(let c) = key { s.settingsEdit = text + String(c) }
            if case .paste(let p) = key { s.settingsEdit = text + p.replacingOccurrences(of: "\n", with: " ") }
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
