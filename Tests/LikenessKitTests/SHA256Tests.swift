import Foundation
import XCTest
@testable import LikenessKit

/// FIPS 180-2 appendix B examples (SHA-256) and the streaming interface.
final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hash(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hash(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hash(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testStreamingInPiecesEqualsOneShot() {
        let data = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let whole = SHA256.hash(data)
        for piece in [1, 3, 63, 64, 65, 200] {
            var h = SHA256()
            var i = 0
            while i < data.count {
                h.update(data[i..<min(i + piece, data.count)])
                i += piece
            }
            XCTAssertEqual(h.hexDigest(), whole, "pieces of \(piece)")
        }
    }

    func testFileHashMatchesSystemTool() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("f.bin")
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: url)
        XCTAssertEqual(try SHA256.hash(fileAt: url), try shell("sha256sum '\(url.path)' | cut -d' ' -f1"))
    }
}
