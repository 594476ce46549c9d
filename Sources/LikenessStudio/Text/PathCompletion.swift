// Tab completion of a typed path, as a shell does it: "~" and "~/" mean the home folder (the
// text keeps the "~" as typed), a partial name completes to the longest prefix all matches
// share, a lone directory match gets a "/", hidden entries are offered only when the typed
// name starts with "." and "." / ".." never. Relative paths are taken from `currentDirectory`.

import Foundation

public struct PathCompletionResult: Equatable, Sendable {
    /// The typed text with as much added as every match agrees on (unchanged when none match).
    public var completed: String
    /// Matching names (directories end with "/"), sorted; empty when there is one match or none.
    public var candidates: [String]
}

public enum PathCompletion {
    /// Completes `partial`. `fileExtensions` (lowercased, without dots) limits files offered,
    /// e.g. ["png", "jpg"]; directories are always offered.
    public static func complete(_ partial: String, home: String = NSHomeDirectory(),
                                currentDirectory: String = FileManager.default.currentDirectoryPath,
                                fileExtensions: [String]? = nil,
                                fileManager: FileManager = .default) -> PathCompletionResult {
        let typedDir: String, prefix: String
        if partial == "~" {
            typedDir = "~/"; prefix = ""
        } else if let slash = partial.lastIndex(of: "/") {
            typedDir = String(partial[...slash]); prefix = String(partial[partial.index(after: slash)...])
        } else {
            typedDir = ""; prefix = partial
        }
        let dir = resolve(typedDir, home: home, currentDirectory: currentDirectory)
        guard let names = try? fileManager.contentsOfDirectory(atPath: dir) else {
            return PathCompletionResult(completed: partial, candidates: [])
        }
        let showHidden = prefix.hasPrefix(".")
        var matches: [(name: String, isDir: Bool)] = []
        for name in names where name.hasPrefix(prefix) && name != "." && name != ".." && (showHidden || !name.hasPrefix(".")) {
            var isDir: ObjCBool = false
            let full = (dir as NSString).appendingPathComponent(name)
            guard fileManager.fileExists(atPath: full, isDirectory: &isDir) || isSymlink(full, fileManager) else { continue }
            if !isDir.boolValue, let exts = fileExtensions, !exts.contains((name as NSString).pathExtension.lowercased()) {
                continue
            }
            matches.append((name, isDir.boolValue))
        }
        matches.sort { $0.name < $1.name }
        guard let first = matches.first else { return PathCompletionResult(completed: partial, candidates: []) }
        if matches.count == 1 {
            return PathCompletionResult(completed: typedDir + first.name + (first.isDir ? "/" : ""), candidates: [])
        }
        let common = matches.dropFirst().reduce(first.name) { commonPrefix($0, $1.name) }
        return PathCompletionResult(completed: typedDir + common,
                                    candidates: matches.map { $0.name + ($0.isDir ? "/" : "") })
    }

    /// The folder a typed directory part names ("" is the current directory).
    static func resolve(_ typedDir: String, home: String, currentDirectory: String) -> String {
        var d = typedDir
        if d == "~/" || d.hasPrefix("~/") { d = home + d.dropFirst() }
        if d.isEmpty { return currentDirectory }
        if !d.hasPrefix("/") { d = (currentDirectory as NSString).appendingPathComponent(d) + "/" }
        return d
    }

    /// Longest common prefix by Characters (so a shared base letter with different accents stops before it).
    static func commonPrefix(_ a: String, _ b: String) -> String {
        var out = ""
        for (x, y) in zip(a, b) {
            guard x == y else { break }
            out.append(x)
        }
        return out
    }

    private static func isSymlink(_ path: String, _ fm: FileManager) -> Bool {
        (try? fm.destinationOfSymbolicLink(atPath: path)) != nil
    }
}
