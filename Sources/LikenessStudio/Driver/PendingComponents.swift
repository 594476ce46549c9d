// Temporary adapters until Components/PathCompletion.swift and Components/PromptHistory.swift
// land (requested in notes/requests.md); then these go.

import Foundation

extension StudioRuntime {
    func completePath(_ partial: String) -> (String, [String]) {
        let expanded = expandTilde(partial.isEmpty ? "./" : partial)
        let dir = expanded.hasSuffix("/") ? expanded : (expanded as NSString).deletingLastPathComponent
        let prefix = expanded.hasSuffix("/") ? "" : (expanded as NSString).lastPathComponent
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? [])
            .filter { $0.hasPrefix(prefix) && !$0.hasPrefix(".") }.sorted()
        guard let first = names.first else { return (partial, []) }
        var common = first
        for n in names.dropFirst() { while !n.hasPrefix(common) { common.removeLast() } }
        let base = partial.hasSuffix("/") ? partial : String(partial.dropLast(prefix.count))
        var completed = base + common
        var isDir: ObjCBool = false
        if names.count == 1, FileManager.default.fileExists(atPath: expandTilde(completed), isDirectory: &isDir), isDir.boolValue {
            completed += "/"
        }
        return (completed, names.count > 1 ? names : [])
    }
}

/// The prompt history file: one JSON object per line, {"prompt","negative","date"}.
final class PromptHistoryFile: @unchecked Sendable {
    let url: URL
    init(url: URL) { self.url = url }

    struct Line: Codable { var prompt: String; var negative: String; var date: String? }

    func load() -> [HistoryPromptEntry] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONDecoder().decode(Line.self, from: Data(line.utf8))).map { HistoryPromptEntry(prompt: $0.prompt, negative: $0.negative) }
        }.suffix(1000)
    }

    func append(prompt: String, negative: String) throws {
        if load().last == HistoryPromptEntry(prompt: prompt, negative: negative) { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let line = Line(prompt: prompt, negative: negative, date: ISO8601DateFormatter().string(from: Date()))
        var data = try JSONEncoder().encode(line)
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: data)
    }
}
