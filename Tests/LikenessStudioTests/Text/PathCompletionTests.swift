// Path completion in a temporary folder: common prefixes, directories, hidden files, "~",
// relative paths, extension filters and folders that cannot be read.

import Foundation
import XCTest
@testable import LikenessStudio

final class PathCompletionTests: XCTestCase {
    private var root: String!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("complete-\(UUID().uuidString)").path
        let fm = FileManager.default
        for d in ["photos", "photos/cats", "pets", ".config", "home/objects"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        for f in ["photo-1.png", "photo-2.JPG", "notes.txt", ".hidden.png", "photos/cats/tom.png", "home/objects/star.png"] {
            XCTAssertTrue(fm.createFile(atPath: root + "/" + f, contents: Data([1])))
        }
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func complete(_ s: String, ext: [String]? = nil) -> PathCompletionResult {
        PathCompletion.complete(s, home: root + "/home", currentDirectory: root, fileExtensions: ext)
    }

    func testCommonPrefixAndCandidates() {
        let r = complete(root + "/ph")
        XCTAssertEqual(r.completed, root + "/photo")
        XCTAssertEqual(r.candidates, ["photo-1.png", "photo-2.JPG", "photos/"])
    }

    func testSingleDirectoryGetsSlashAndSingleFileCompletes() {
        XCTAssertEqual(complete(root + "/photos"), PathCompletionResult(completed: root + "/photos/", candidates: []))
        XCTAssertEqual(complete(root + "/photos/c"), PathCompletionResult(completed: root + "/photos/cats/", candidates: []))
        XCTAssertEqual(complete(root + "/photos/cats/").completed, root + "/photos/cats/tom.png")
        XCTAssertEqual(complete(root + "/no").completed, root + "/notes.txt")
    }

    func testHiddenOnlyWithDotPrefix() {
        let all = complete(root + "/")
        XCTAssertFalse(all.candidates.contains { $0.hasPrefix(".") })
        XCTAssertEqual(all.candidates, ["home/", "notes.txt", "pets/", "photo-1.png", "photo-2.JPG", "photos/"])
        let dot = complete(root + "/.")
        XCTAssertEqual(dot.candidates, [".config/", ".hidden.png"])
        XCTAssertEqual(dot.completed, root + "/.")
    }

    func testTildeAndRelativePaths() {
        XCTAssertEqual(complete("~").completed, "~/objects/")
        XCTAssertEqual(complete("~/obj").completed, "~/objects/")
        XCTAssertEqual(complete("~/objects/s").completed, "~/objects/star.png")
        XCTAssertEqual(complete("pe").completed, "pets/")
        XCTAssertEqual(complete("photos/cats/t").completed, "photos/cats/tom.png")
        XCTAssertEqual(complete("./no").completed, "./notes.txt")
    }

    func testExtensionFilterKeepsDirectories() {
        let r = complete(root + "/p", ext: ["png", "jpg"])
        XCTAssertEqual(r.candidates, ["pets/", "photo-1.png", "photo-2.JPG", "photos/"])
        XCTAssertEqual(complete(root + "/n", ext: ["png"]).completed, root + "/n", "notes.txt filtered out")
    }

    func testNoMatchOrMissingFolderLeavesTextAlone() {
        XCTAssertEqual(complete(root + "/zzz"), PathCompletionResult(completed: root + "/zzz", candidates: []))
        XCTAssertEqual(complete(root + "/missing/x"), PathCompletionResult(completed: root + "/missing/x", candidates: []))
        XCTAssertEqual(complete(""), PathCompletionResult(completed: "", candidates: ["home/", "notes.txt", "pets/",
                                                                                    "photo-1.png", "photo-2.JPG", "photos/"]))
    }

    func testCommonPrefixIsGraphemeAware() {
        XCTAssertEqual(PathCompletion.commonPrefix("cafe\u{301}-1", "cafe-2"), "caf")
        XCTAssertEqual(PathCompletion.commonPrefix("abc", "abd"), "ab")
    }
}
