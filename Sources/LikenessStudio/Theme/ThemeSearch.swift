// Where theme files are looked for, and the theme the studio starts with: the user's folder
// ($XDG_CONFIG_HOME/likeness/themes) first, then Themes/ in the current directory, then Themes/
// beside the executable or up to four folders above it (a SwiftPM build folder sits three deep
// in the checkout), then share/likeness/themes of an install prefix. When nothing is found the
// built-in dark theme is used, with a warning; NO_COLOR (set and not empty) removes colours.

import Foundation
import LikenessKit

extension ThemeLoader {
    /// Candidate theme directories, in search order (not checked for existence).
    public static func searchDirectories(environment: [String: String], executable: URL?,
                                         currentDirectory: URL) -> [URL] {
        var dirs = [LikenessPaths(environment: environment).configHome.appendingPathComponent("themes"),
                    currentDirectory.appendingPathComponent("Themes")]
        if let exe = executable?.resolvingSymlinksInPath() {
            var dir = exe.deletingLastPathComponent()
            for _ in 0..<5 {
                dirs.append(dir.appendingPathComponent("Themes"))
                dir = dir.deletingLastPathComponent()
            }
            dirs.append(exe.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("share/likeness/themes"))
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// The theme to start with: `name` (default "dark") from `directories`; the built-in dark
    /// theme when `name` is nil or "dark" and no file is found. Errors in a file that exists, and
    /// a named theme that is missing, are reported as `warning` and the built-in theme is used,
    /// so the studio always starts. NO_COLOR applies `withoutColor()`.
    public static func startTheme(name: String?, directories: [URL],
                                  environment: [String: String]) -> (theme: Theme, warning: String?) {
        var theme = Theme.builtinDark
        var warning: String?
        do {
            theme = try load(name: name ?? "dark", directories: directories)
        } catch let e as ThemeError {
            let missingDefault = (name == nil || name == "dark") && e.line == nil && e.key == nil
                && !directories.contains { FileManager.default.fileExists(atPath: $0.appendingPathComponent("dark.toml").path) }
            if !missingDefault { warning = "\(e.description); using the built-in dark theme" }
        } catch {
            warning = "\(error); using the built-in dark theme"
        }
        if let v = environment["NO_COLOR"], !v.isEmpty { theme = theme.withoutColor() }
        return (theme, warning)
    }
}
