// The Settings pane's commands (keys in Keymap.swift): choose a row, change it, type a value
// (applied or dropped); a refused value keeps the old one and shows the reason.

import Foundation

extension Studio {
    static var settingRows: [SettingField] { SettingField.allCases }

    static func handleSettingsKey(_ s: inout StudioState, _ command: Command, _ key: Key) -> [Effect] {
        let rows = settingRows
        s.settingsPane.row = min(max(0, s.settingsPane.row), rows.count - 1)
        let field = rows[s.settingsPane.row]
        switch command {
        case .up: s.settingsPane.row = max(0, s.settingsPane.row - 1); s.settingsPane.error = nil
        case .down: s.settingsPane.row = min(rows.count - 1, s.settingsPane.row + 1); s.settingsPane.error = nil
        case .first: s.settingsPane.row = 0
        case .last: s.settingsPane.row = rows.count - 1
        case .decrease, .increase:
            field.step(&s.settings, by: command == .increase ? 1 : -1, s.model); s.settingsPane.error = nil
            showSetting(&s, field)
        case .enterSetting:
            if field.acceptsText {
                s.settingsPane.edit = field == .axisValues ? field.value(s.settings, s.model) : ""
            } else {
                field.step(&s.settings, by: 1, s.model)
                showSetting(&s, field)
            }
        case .typeSetting:
            switch key {
            case .char(let c) where field.acceptsText && (c.isNumber || c == "." || field == .axisValues):
                s.settingsPane.edit = String(c)
                s.settingsPane.error = nil
            case .paste(let text) where field.acceptsText:
                s.settingsPane.edit = text.replacingOccurrences(of: "\n", with: " ")
                s.settingsPane.error = nil
            case .char(let c) where c.isNumber || c == ".":
                s.settingsPane.error = "use Left/Right to change \(field.label.lowercased())"
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
        guard let text = s.settingsPane.edit else { return [] }
        let rows = settingRows
        s.settingsPane.row = min(max(0, s.settingsPane.row), rows.count - 1)
        let field = rows[s.settingsPane.row]
        switch command {
        case .applySetting:
            applySettingText(&s, field, text)
        case .applyAndMove:
            applySettingText(&s, field, text)
            if s.settingsPane.edit == nil {
                s.settingsPane.row = key == .up ? max(0, s.settingsPane.row - 1) : min(rows.count - 1, s.settingsPane.row + 1)
                s.settingsPane.error = nil
            }
        case .deleteBackward:
            s.settingsPane.edit = String(text.dropLast())
        case .clearSetting:
            s.settingsPane.edit = ""
        case .dropSetting:
            s.settingsPane.edit = nil; s.settingsPane.error = nil
        case .insertText:
            if case .char(let c) = key { s.settingsPane.edit = text + String(c) }
            if case .paste(let p) = key { s.settingsPane.edit = text + p.replacingOccurrences(of: "\n", with: " ") }
        default:
            break
        }
        return []
    }

    static func applySettingText(_ s: inout StudioState, _ field: SettingField, _ text: String) {
        if let reason = field.set(&s.settings, from: text, s.model) {
            s.settingsPane.error = reason
            setStatus(&s, reason, .error)
        } else {
            s.settingsPane.edit = nil
            s.settingsPane.error = nil
            showSetting(&s, field)
        }
    }

    /// The status line shows the field's new value.
    static func showSetting(_ s: inout StudioState, _ field: SettingField) {
        setStatus(&s, "\(field.label.lowercased()): \(field.value(s.settings, s.model))")
    }
}
