import Foundation
import XCTest
@testable import LikenessKit

final class ModelIdentityTests: XCTestCase {
    /// The fingerprint is SHA-256 over the object encoder's then the text encoder's weight file.
    func testToyboxFingerprint() throws {
        let folder = repositoryRoot.appendingPathComponent("Models/toybox")
        let id = try ModelIdentity(folder: folder)
        XCTAssertEqual(id.name, "toybox")
        XCTAssertEqual(id.tokenCount, 4)
        XCTAssertEqual(id.hiddenSize, 128)
        XCTAssertEqual(id.injection, "input_embedding")
        let expected = try shell("cat '\(folder.path)/object_encoder/model.safetensors' '\(folder.path)/text_encoder/model.safetensors' | sha256sum | cut -d' ' -f1")
        XCTAssertEqual(id.fingerprint, expected)
        XCTAssertEqual(id.shortHash, String(expected.prefix(10)))
        assertThrows(try ModelIdentity(folder: folder.appendingPathComponent("nope")), contains: ["nope"])
    }
}

final class FingerprintCacheTests: XCTestCase {
    func testCachedFingerprintIsUsedUntilAFileChanges() throws {
        let dir = try temporaryDirectory(self)
        let folder = dir.appendingPathComponent("toybox")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Models/toybox"), to: folder)
        let cache = FingerprintCache(url: dir.appendingPathComponent("cache/fingerprints.json"))
        let real = try ModelIdentity(folder: folder).fingerprint
        XCTAssertEqual(try ModelIdentity(folder: folder, cache: cache).fingerprint, real)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache.url.path))
        // Plant another value under the same key: a cache hit returns it without hashing.
        let files = [folder.appendingPathComponent("object_encoder/model.safetensors"), folder.appendingPathComponent("text_encoder/model.safetensors")]
        let key = try XCTUnwrap(FingerprintCache.key(files))
        cache.store(key, "planted")
        XCTAssertEqual(try ModelIdentity(folder: folder, cache: cache).fingerprint, "planted")
        // Rewriting a weight file (new inode, new mtime) is a miss: hashed again.
        let text = files[1]
        let data = try Data(contentsOf: text)
        try FileManager.default.removeItem(at: text)
        try data.write(to: text)
        XCTAssertEqual(try ModelIdentity(folder: folder, cache: cache).fingerprint, real)
    }
}
