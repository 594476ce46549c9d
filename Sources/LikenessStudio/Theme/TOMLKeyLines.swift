// Finds the line of a key in TOML source text. TOMLKit reports lines for syntax errors only, so
// errors about a valid file's content (unknown role, bad colour) look the key up here. Handles
// [table] headers, dotted and quoted keys and inline tables (the line of the enclosing key);
// not keys inside multi-line strings or arrays.

import Foundation

enum TOMLKeyLines {
    /// The 1-based line where the key path (e.g. ["roles", "text", "fg"]) is written, or the line
    /// of the nearest enclosing key or header when the last parts are inside an inline table.
    static func line(of path: [String], in source: String) -> Int? {
        var header: [String] = []
        var best: (line: Int, depth: Int)?
        for (i, raw) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var full: [String]
            if line.hasPrefix("[") {
                let inner = line.drop(while: { $0 == "[" }).prefix(while: { $0 != "]" })
                header = splitKey(String(inner))
                full = header
            } else if let eq = firstUnquoted("=", in: line) {
                full = header + splitKey(String(line[..<eq]))
            } else {
                continue
            }
            if full == path { return i + 1 }
            if !full.isEmpty, path.starts(with: full), full.count > (best?.depth ?? 0) {
                best = (i + 1, full.count)
            }
        }
        return best?.line
    }

    /// "a . \"b.c\" . d" -> ["a", "b.c", "d"].
    static func splitKey(_ s: String) -> [String] {
        var parts: [String] = [], current = "", quote: Character?
        for ch in s {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == "." {
                parts.append(current.trimmingCharacters(in: .whitespaces)); current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current.trimmingCharacters(in: .whitespaces))
        return parts
    }

    private static func firstUnquoted(_ target: Character, in s: String) -> String.Index? {
        var quote: Character?
        var i = s.startIndex
        while i < s.endIndex {
            let ch = s[i]
            if let q = quote { if ch == q { quote = nil } } else if ch == "\"" || ch == "'" { quote = ch } else if ch == target { return i }
            i = s.index(after: i)
        }
        return nil
    }
}
