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
