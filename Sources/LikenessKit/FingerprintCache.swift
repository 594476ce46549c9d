// Model fingerprints remembered by the identity of the weight files they hash (path, device,
// inode, size, modification time in ns), so an SD-1.5-sized text encoder is hashed once, not on
// every run. A changed file gets a new key; the cache is only ever a shortcut (losing it costs
// one hash). Writes are atomic; concurrent writers may drop each other's entries, never corrupt.

import Foundation
import LikenessImaging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct FingerprintCache: Sendable {
    public let url: URL
    /// Entries kept (the most recent ones).
    static let limit = 64

    public init(url: URL) { self.url = url }
    public init(paths: LikenessPaths = LikenessPaths()) { url = paths.fingerprintCache }

    /// The key of a list of files, or nil when one cannot be stat'ed.
    static func key(_ files: [URL]) -> String? {
        var parts: [String] = []
        for f in files {
            var st = stat()
            guard stat(f.path, &st) == 0 else { return nil }
            #if canImport(Glibc)
            let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            #else
            let mtime = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
            #endif
            parts.append("\(f.standardizedFileURL.path)|\(st.st_dev)|\(st.st_ino)|\(st.st_size)|\(mtime)")
        }
        return parts.joined(separator: "\n")
    }

    func lookup(_ key: String) -> String? { load()[key]?.fingerprint }

    func store(_ key: String, _ fingerprint: String) {
        var entries = load()
        entries[key] = Entry(fingerprint: fingerprint, used: Date().timeIntervalSince1970)
        if entries.count > Self.limit {
            for (k, _) in entries.sorted(by: { $0.value.used < $1.value.used }).prefix(entries.count - Self.limit) { entries[k] = nil }
        }
        guard let data = try? JSONEncoder().encode(entries) else { return }
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? AtomicFile.write(data, to: url)
    }

    private struct Entry: Codable {
        var fingerprint: String
        var used: Double
    }

    private func load() -> [String: Entry] {
        guard let data = try? Data(contentsOf: url) else { return [:] }
        return (try? JSONDecoder().decode([String: Entry].self, from: data)) ?? [:]
    }
}
