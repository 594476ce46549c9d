import Foundation
import XCTest
import LikenessImaging
#if canImport(Glibc)
import Glibc
#endif

final class AtomicWriteTests: XCTestCase {
    private func contents(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    func testWritesNewFileAndLeavesNoTemporaryFiles() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("image.png")
        let image = try randomImage(width: 9, height: 5, seed: 3)
        try image.write(to: url, text: [("parameters", "seed: 1")])
        XCTAssertEqual(try contents(dir), ["image.png"])
        XCTAssertEqual(try RGBImage(contentsOf: url), image)

        // Overwrite: new content, still no temporary files.
        let other = try randomImage(width: 4, height: 4, seed: 4)
        try other.write(to: url)
        XCTAssertEqual(try contents(dir), ["image.png"])
        XCTAssertEqual(try RGBImage(contentsOf: url), other)
    }

    func testOverwriteKeepsPermissionBits() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("private.png")
        try Data([1, 2, 3]).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        try randomImage(width: 2, height: 2, seed: 1).write(to: url)
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)
    }

    func testMissingDirectoryFails() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("no/such/dir/out.png")
        assertImageError(try randomImage(width: 2, height: 2, seed: 1).write(to: url),
                         contains: [url.path, "temporary file"])
        XCTAssertEqual(try contents(dir), [])
    }

    func testDestinationIsADirectoryFailsAndKeepsIt() throws {
        let dir = try makeTempDir(self)
        let target = dir.appendingPathComponent("taken.png")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data([7]).write(to: target.appendingPathComponent("inner"))
        assertImageError(try randomImage(width: 2, height: 2, seed: 1).write(to: target),
                         contains: [target.path, "is a directory"])
        XCTAssertEqual(try contents(dir), ["taken.png"])
        XCTAssertEqual(try contents(target), ["inner"])
    }

    func testEncodeFailureKeepsOldFile() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("keep.png")
        let old = try randomImage(width: 3, height: 3, seed: 11)
        try old.write(to: url)
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try randomImage(width: 3, height: 3, seed: 12).write(to: url, text: [("", "bad key")]))
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try contents(dir), ["keep.png"])
    }

    /// A failure in the middle of writing the bytes (file size limit reached): the old file must
    /// be intact and the temporary file removed.
    func testMidWriteFailureKeepsOldFileAndRemovesTemporary() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("big.png")
        let old = try randomImage(width: 4, height: 4, seed: 21)
        try old.write(to: url)
        let before = try Data(contentsOf: url)
        let big = try randomImage(width: 128, height: 128, seed: 22)  // ~49 KB of PNG, incompressible

        var saved = rlimit()
        XCTAssertEqual(getrlimit(rlimitFSize, &saved), 0)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var limited = saved
        limited.rlim_cur = 8192
        XCTAssertEqual(setrlimit(rlimitFSize, &limited), 0)
        var thrown: Error?
        do { try big.write(to: url) } catch { thrown = error }
        XCTAssertEqual(setrlimit(rlimitFSize, &saved), 0)
        signal(SIGXFSZ, oldHandler)

        let error = try XCTUnwrap(thrown as? ImageError, "writing past the file size limit must throw")
        XCTAssertTrue(error.description.contains(url.path), error.description)
        XCTAssertTrue(error.description.contains("write failed"), error.description)
        XCTAssertEqual(try Data(contentsOf: url), before, "old file was modified")
        XCTAssertEqual(try contents(dir), ["big.png"], "temporary file left behind")
    }

    func testReadOnlyDirectoryFailsWhenNotRoot() throws {
        let dir = try makeTempDir(self)
        let sub = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        let url = sub.appendingPathComponent("x.png")
        let old = try randomImage(width: 2, height: 2, seed: 31)
        try old.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: sub.path)
        addTeardownBlock { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: sub.path) }
        if geteuid() == 0 {
            // Root ignores directory permissions; the other failure tests cover this path.
            try randomImage(width: 2, height: 2, seed: 32).write(to: url)
            XCTAssertEqual(try contents(sub), ["x.png"])
            return
        }
        assertImageError(try randomImage(width: 2, height: 2, seed: 32).write(to: url), contains: [url.path])
        XCTAssertEqual(try RGBImage(contentsOf: url), old)
        XCTAssertEqual(try contents(sub), ["x.png"])
    }
}

#if canImport(Glibc)
private let rlimitFSize = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#else
private let rlimitFSize = RLIMIT_FSIZE
#endif
