// Reads theme files (TOML, parsed with TOMLKit; keys documented in Themes/README.md):
//   name = "dark"
//   [palette]  blue = "#61afef"                       (optional named colours)
//   [roles]    text = "#abb2bf"                       (a colour: the foreground)
//              selection = { fg = "#282c34", bg = "blue", bold = true }
// Roles without fg/bg take the text role's; roles left out draw as text. Every problem is a
// ThemeError naming the file, line and key.

import Foundation
import TOMLKit

public enum ThemeLoader {
    static let styleKeys = ["fg", "bg", "bold", "underline", "reverse", "dim"]
    static let topKeys = ["name", "description", "palette", "roles"]

    /// Loads `NAME.toml` from the first directory that has it.
    public static func load(name: String, directories: [URL]) throws -> Theme {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw ThemeError(file: name, message: "a theme name is a file name without .toml, like \"dark\"")
        }
        let fm = FileManager.default
        for dir in directories {
            let file = dir.appendingPathComponent(name + ".toml")
            if fm.fileExists(atPath: file.path) { return try load(file: file) }
        }
        let known = available(in: directories)
        let hint = known.isEmpty ? "no themes found" : "available: " + known.joined(separator: ", ")
        throw ThemeError(file: name + ".toml",
                         message: "theme not found in \(directories.map(\.path).joined(separator: ", ")) (\(hint))")
    }

    public static func load(file: URL) throws -> Theme {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw ThemeError(file: file.path, message: "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ThemeError(file: file.path, message: "not UTF-8 text")
        }
        return try parse(text, file: file.path, defaultName: file.deletingPathExtension().lastPathComponent)
    }

    /// Sorted names of the `*.toml` files in the directories (missing directories are skipped).
    public static func available(in directories: [URL]) -> [String] {
        var names = Set<String>()
        for dir in directories {
            let items = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for f in items where f.hasSuffix(".toml") && !f.hasPrefix(".") { names.insert(String(f.dropLast(5))) }
        }
        return names.sorted()
    }

    /// Parses theme text; `file` is used in errors.
    public static func parse(_ source: String, file: String, defaultName: String = "theme") throws -> Theme {
        let root: TOMLTable
        do { root = try TOMLTable(string: source) } catch let e as TOMLParseError {
            throw ThemeError(file: file, line: e.source.begin.line, message: "TOML syntax: \(e.description)")
        } catch {
            throw ThemeError(file: file, message: "TOML syntax: \(error)")
        }
        func fail(_ path: [String], _ message: String) -> ThemeError {
            ThemeError(file: file, line: TOMLKeyLines.line(of: path, in: source), key: path.joined(separator: "."),
                       message: message)
        }
        for key in root.keys where !topKeys.contains(key) {
            throw fail([key], "unknown key (known: \(topKeys.joined(separator: ", ")))")
        }
        var name = defaultName
        if let v = root["name"] {
            guard let s = v.string else { throw fail(["name"], "expected a string, got \(v.type)") }
            name = s
        }
        let palette = try readPalette(root["palette"], fail)
        guard let rolesValue = root["roles"] else { throw fail([], "missing [roles] table") }
        guard let roles = rolesValue.table else { throw fail(["roles"], "expected a table, got \(rolesValue.type)") }
        var parsed: [ThemeRole: (style: Style, hasFg: Bool, hasBg: Bool)] = [:]
        for key in roles.keys {
            guard let role = ThemeRole(rawValue: key) else {
                throw fail(["roles", key], "unknown role (known: \(ThemeRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let value = roles[key] else { continue }
            parsed[role] = try readStyle(value, path: ["roles", key], palette: palette, fail)
        }
        guard let text = parsed[.text] else { throw fail(["roles", "text"], "missing: every theme sets the text role") }
        var styles: [ThemeRole: Style] = [:]
        for role in ThemeRole.allCases {
            guard let p = parsed[role] else { styles[role] = text.style; continue }
            var s = p.style
            if !p.hasFg { s.fg = text.style.fg }
            if !p.hasBg { s.bg = text.style.bg }
            styles[role] = s
        }
        return Theme(name: name, styles: styles)
    }

    private static func readPalette(_ value: TOMLValueConvertible?, _ fail: ([String], String) -> ThemeError) throws -> [String: RGB] {
        guard let value else { return [:] }
        guard let table = value.table else { throw fail(["palette"], "expected a table, got \(value.type)") }
        var out: [String: RGB] = [:]
        for key in table.keys {
            guard let v = table[key], let s = v.string else {
                throw fail(["palette", key], "expected a colour string like \"#61afef\"")
            }
            guard let c = ThemeColor.parseHex(s) else {
                throw fail(["palette", key], "bad colour \"\(s)\": expected \"#rrggbb\" or \"#rgb\"")
            }
            out[key] = c
        }
        return out
    }

    private static func readStyle(_ value: TOMLValueConvertible, path: [String], palette: [String: RGB],
                                  _ fail: ([String], String) -> ThemeError) throws -> (style: Style, hasFg: Bool, hasBg: Bool) {
        func colour(_ v: TOMLValueConvertible, _ p: [String]) throws -> RGB {
            guard let s = v.string else { throw fail(p, "expected a colour string, got \(v.type)") }
            if let c = ThemeColor.parseHex(s) ?? palette[s] { return c }
            let names = palette.keys.sorted()
            let known = names.isEmpty ? "" : " or a [palette] name (\(names.joined(separator: ", ")))"
            throw fail(p, "bad colour \"\(s)\": expected \"#rrggbb\", \"#rgb\"\(known)")
        }
        if value.type == .string { return (Style(fg: try colour(value, path)), true, false) }
        guard let table = value.table else {
            throw fail(path, "expected a colour string or a table like { fg = \"#rrggbb\", bold = true }, got \(value.type)")
        }
        var style = Style()
        var hasFg = false, hasBg = false
        for key in table.keys {
            guard let v = table[key] else { continue }
            let p = path + [key]
            switch key {
            case "fg": style.fg = try colour(v, p); hasFg = true
            case "bg": style.bg = try colour(v, p); hasBg = true
            case "bold", "underline", "reverse", "dim":
                guard let b = v.bool else { throw fail(p, "expected true or false, got \(v.type)") }
                switch key {
                case "bold": style.bold = b
                case "underline": style.underline = b
                case "reverse": style.reverse = b
                default: style.dim = b
                }
            default:
                throw fail(p, "unknown style key (known: \(styleKeys.joined(separator: ", ")))")
            }
        }
        return (style, hasFg, hasBg)
    }
}
