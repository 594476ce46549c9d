// Prompt history: the JSON-lines format, duplicates, the cap, corrupt and cut lines, two
// writers, and Ctrl-P/N navigation that keeps the draft.

import Foundation
import XCTest
@testable import LikenessStudio

final class PromptHistoryTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private var file: URL { dir.appendingPathComponent("sub/prompt_history.jsonl") }
    private func lines() throws -> [String] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    func testAppendWritesOneJSONLinePerEntry() throws {
        let h = PromptHistory(file: file)
        XCTAssertTrue(h.entries.isEmpty)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertTrue(try h.append(prompt: "a <obj> on\nthe \"beach\"/sand", negative: "blurry", time: t))
        XCTAssertEqual(try lines(), [#"{"prompt":"a <obj> on\nthe \"beach\"/sand","negative":"blurry","time":"2027-01-15T08:00:00Z"}"#, ""])
        let again = PromptHistory(file: file)
        XCTAssertEqual(again.entries, [PromptHistoryEntry(prompt: "a <obj> on\nthe \"beach\"/sand", negative: "blurry", time: t)])
    }

    func testConsecutiveDuplicatesAndBlankPromptsSkipped() throws {
        let h = PromptHistory(file: file)
        XCTAssertTrue(try h.append(prompt: "one"))
        XCTAssertFalse(try h.append(prompt: "one"))
        XCTAssertTrue(try h.append(prompt: "one", negative: "x"), "a different negative is a different entry")
        XCTAssertTrue(try h.append(prompt: "one"))
        XCTAssertFalse(try h.append(prompt: "  \n"))
        XCTAssertEqual(h.entries.map(\.prompt), ["one", "one", "one"])
        XCTAssertEqual(try lines().count, 4)
    }

    func testCorruptLinesAreSkippedAndCounted() throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try """
            {"prompt":"good","negative":"","time":"2026-01-01T00:00:00Z"}
            not json
            {"negative":"no prompt"}

            {"prompt":"old style","negative":"n","date":"2025-05-05T05:05:05Z"}
            {"prompt":"cut off","nega
            """.write(to: file, atomically: true, encoding: .utf8)
        let h = PromptHistory(file: file)
        XCTAssertEqual(h.entries.map(\.prompt), ["good", "old style"])
        XCTAssertEqual(h.corruptLines, 3)
        XCTAssertNotNil(h.entries[1].time)
        // The cut-off last line must not swallow the next entry.
        XCTAssertTrue(try h.append(prompt: "after the cut"))
        XCTAssertEqual(PromptHistory(file: file).entries.map(\.prompt), ["good", "old style", "after the cut"])
    }

    func testCapKeepsNewestAndCompactsFile() throws {
        let h = PromptHistory(file: file, limit: 3)
        for i in 0..<7 { try h.append(prompt: "p\(i)") }
        XCTAssertEqual(h.entries.map(\.prompt), ["p4", "p5", "p6"])
        XCTAssertLessThanOrEqual(try lines().count - 1, 6, "rewritten once past twice the limit")
        XCTAssertEqual(PromptHistory(file: file, limit: 3).entries.map(\.prompt), ["p4", "p5", "p6"])
    }

    func testTwoWritersBothKept() throws {
        let a = PromptHistory(file: file), b = PromptHistory(file: file)
        try a.append(prompt: "from a")
        XCTAssertFalse(try b.append(prompt: "from a"), "b sees a's entry before deciding it is a duplicate")
        try b.append(prompt: "from b")
        a.reload()
        XCTAssertEqual(a.entries.map(\.prompt), ["from a", "from b"])
    }

    func testConcurrentAppendsProduceWholeLines() throws {
        let h1 = PromptHistory(file: file, limit: 10_000), h2 = PromptHistory(file: file, limit: 10_000)
        try h1.append(prompt: "start")
        let long = String(repeating: "x", count: 3000)
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            _ = try? (i % 2 == 0 ? h1 : h2).append(prompt: "\(i) \(long)")
        }
        let h = PromptHistory(file: file, limit: 10_000)
        XCTAssertEqual(h.corruptLines, 0)
        XCTAssertEqual(h.entries.count, 41)
    }

    func testUnwritableFileThrows() throws {
        try FileManager.default.createDirectory(at: file, withIntermediateDirectories: true)  // a folder where the file goes
        XCTAssertThrowsError(try PromptHistory(file: file).append(prompt: "x"))
    }

    func testNavigatorKeepsDraft() {
        let entries = ["one", "two", "three"].map { PromptHistoryEntry(prompt: $0) }
        var nav = HistoryNavigator()
        let draft = PromptHistoryEntry(prompt: "half typed", negative: "neg")
        XCTAssertNil(nav.newer(in: entries))
        XCTAssertEqual(nav.older(in: entries, current: draft)?.prompt, "three")
        XCTAssertEqual(nav.older(in: entries, current: entries[2])?.prompt, "two")
        XCTAssertEqual(nav.older(in: entries, current: entries[1])?.prompt, "one")
        XCTAssertNil(nav.older(in: entries, current: entries[0]), "nothing older")
        XCTAssertEqual(nav.index, 0)
        XCTAssertEqual(nav.newer(in: entries)?.prompt, "two")
        XCTAssertEqual(nav.newer(in: entries)?.prompt, "three")
        XCTAssertEqual(nav.newer(in: entries), draft, "past the newest: the draft")
        XCTAssertFalse(nav.isBrowsing)
        XCTAssertNil(nav.newer(in: entries))
    }

    func testNavigatorSkipsEntryEqualToCurrentText() {
        let entries = ["one", "two"].map { PromptHistoryEntry(prompt: $0) }
        var nav = HistoryNavigator()
        XCTAssertEqual(nav.older(in: entries, current: PromptHistoryEntry(prompt: "two"))?.prompt, "one")
        var empty = HistoryNavigator()
        XCTAssertNil(empty.older(in: [], current: PromptHistoryEntry(prompt: "x")))
        XCTAssertFalse(empty.isBrowsing)
    }
}
