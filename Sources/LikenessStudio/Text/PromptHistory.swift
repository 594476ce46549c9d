// The prompt history file: JSON lines, one {"prompt":..,"negative":..,"time":..} per line
// ("time" ISO 8601; lines with "date" instead are read too). Appends are one write() on an
// O_APPEND descriptor, so concurrent studios interleave whole lines; an entry equal to the last
// one is skipped; corrupt lines are skipped and counted; only the newest `limit` entries are
// kept in memory, and the file is rewritten (temporary file, then rename) to those once it
// holds twice as many lines.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct PromptHistoryEntry: Equatable, Sendable {
    public var prompt: String
    public var negative: String
    public var time: Date?
    public init(prompt: String, negative: String = "", time: Date? = nil) {
        self.prompt = prompt; self.negative = negative; self.time = time
    }
    /// Same prompt and negative prompt (time aside).
    public func sameText(_ o: PromptHistoryEntry) -> Bool { prompt == o.prompt && negative == o.negative }
}

public final class PromptHistory: @unchecked Sendable {
    public let file: URL
    public let limit: Int
    private let lock = NSLock()
    private var _entries: [PromptHistoryEntry] = []
    private var _corruptLines = 0
    private var fileLines = 0

    /// Loads `file` (a missing file is an empty history).
    public init(file: URL, limit: Int = 1000) {
        self.file = file
        self.limit = max(1, limit)
        reload()
    }

    /// Oldest first, at most `limit`.
    public var entries: [PromptHistoryEntry] { lock.lock(); defer { lock.unlock() }; return _entries }
    /// Lines of the file that were not history entries at the last load.
    public var corruptLines: Int { lock.lock(); defer { lock.unlock() }; return _corruptLines }

    public func reload() {
        lock.lock(); defer { lock.unlock() }
        loadLocked()
    }

    private func loadLocked() {
        guard let data = try? Data(contentsOf: file) else { _entries = []; _corruptLines = 0; fileLines = 0; return }
        var out: [PromptHistoryEntry] = []
        var corrupt = 0, lines = 0
        for line in data.split(separator: 0x0A) where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) {
            lines += 1
            if let e = PromptHistoryCoding.decode(Data(line)) { out.append(e) } else { corrupt += 1 }
        }
        _entries = Array(out.suffix(limit))
        _corruptLines = corrupt
        fileLines = lines
    }

    /// Appends an entry unless its prompt is blank or it repeats the newest entry (after
    /// re-reading the file, so other studios' entries count). Returns whether it was written.
    @discardableResult
    public func append(prompt: String, negative: String = "", time: Date = Date()) throws -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return false }
        loadLocked()
        let entry = PromptHistoryEntry(prompt: prompt, negative: negative, time: time)
        if let last = _entries.last, last.sameText(entry) { return false }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        var line = PromptHistoryCoding.encode(entry)
        let fd = open(file.path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PromptHistoryError(file: file.path, message: "cannot open for appending: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // A previous writer that died mid-line must not swallow this entry.
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, st.st_size - 1) == 1, last != 0x0A { line.insert(0x0A, at: 0) }
        }
        let n = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == line.count else {
            throw PromptHistoryError(file: file.path, message: "short write (\(n) of \(line.count) bytes): \(String(cString: strerror(errno)))")
        }
        _entries.append(entry)
        if _entries.count > limit { _entries.removeFirst(_entries.count - limit) }
        fileLines += 1
        if fileLines > 2 * limit { try compactLocked() }
        return true
    }

    /// Rewrites the file with the entries in memory (temporary file, then rename).
    public func compact() throws {
        lock.lock(); defer { lock.unlock() }
        try compactLocked()
    }

    private func compactLocked() throws {
        var data = Data()
        for e in _entries { data.append(contentsOf: PromptHistoryCoding.encode(e)) }
        do { try data.write(to: file, options: .atomic) } catch {
            throw PromptHistoryError(file: file.path, message: "cannot rewrite: \(error.localizedDescription)")
        }
        fileLines = _entries.count
    }
}

public struct PromptHistoryError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String
    public var description: String { "prompt history \(file): \(message)" }
}

/// One history line to and from JSON, keys in the documented order.
enum PromptHistoryCoding {
    static func encode(_ e: PromptHistoryEntry) -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        func json(_ s: String) -> String {
            (try? enc.encode(s)).flatMap { String(data: $0, encoding: .utf8) } ?? "\"\""
        }
        var s = "{\"prompt\":\(json(e.prompt)),\"negative\":\(json(e.negative))"
        if let t = e.time { s += ",\"time\":\(json(isoLock.withLock { iso.string(from: t) }))" }
        s += "}\n"
        return Array(s.utf8)
    }

    static func decode(_ line: Data) -> PromptHistoryEntry? {
        guard let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
              let prompt = obj["prompt"] as? String else { return nil }
        let negative = obj["negative"] as? String ?? ""
        let stamp = (obj["time"] as? String) ?? (obj["date"] as? String)
        let time = stamp.flatMap { s in isoLock.withLock { iso.date(from: s) } }
        return PromptHistoryEntry(prompt: prompt, negative: negative, time: time)
    }

    /// Formatters are not documented as thread-safe on Linux: one shared, behind a lock.
    nonisolated(unsafe) static let iso = ISO8601DateFormatter()
    static let isoLock = NSLock()
}
