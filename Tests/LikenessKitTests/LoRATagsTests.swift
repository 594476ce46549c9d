// A1111's <lora:NAME:W> prompt tags: taken out of the encoder's text, malformed tags named,
// names resolved in the LoRA folder, and A1111's short hash of a .safetensors LoRA.

import Foundation
import XCTest
@testable import LikenessKit

final class LoRATagsTests: XCTestCase {
    func testExtract() throws {
        let (text, tags) = try LoRATags.extract(from: "a cat <lora:add_detail:0.6>, (red) <lora:style> BREAK x")
        XCTAssertEqual(text, "a cat , (red)  BREAK x")
        XCTAssertEqual(tags, [LoRAWeight(name: "add_detail", weight: 0.6), LoRAWeight(name: "style", weight: 1)])
        XCTAssertEqual(try LoRATags.extract(from: "no tags").tags, [])
        XCTAssertEqual(try LoRATags.extract(from: "<lora: spaced : -0.5 >").tags, [LoRAWeight(name: "spaced", weight: -0.5)])
        for (bad, needle) in [("<lora:x:abc>", "not a number"), ("<lora::1>", "names no LoRA"), ("<lora:x:1", "unclosed"),
                              ("<lora:x:0.8:0.5>", "separate text encoder"), ("<lora:../x:1>", "names no LoRA")] {
            XCTAssertThrowsError(try LoRATags.extract(from: bad), bad) { XCTAssertTrue("\($0)".contains(needle), "\(bad): \($0)") }
        }
    }

    func testResolveAndHash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-loratags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A safetensors-shaped file: 8-byte header length 2, header "{}", data "abc".
        var data = Data([2, 0, 0, 0, 0, 0, 0, 0]); data += Data("{}abc".utf8)
        let file = dir.appendingPathComponent("detail.safetensors")
        try data.write(to: file)
        XCTAssertEqual(try LoRATags.resolve("detail", in: dir), file)
        XCTAssertThrowsError(try LoRATags.resolve("other", in: dir)) { XCTAssertTrue("\($0)".contains("available: detail"), "\($0)") }
        // SHA-256("abc"): only the data after the header is hashed.
        XCTAssertEqual(try LoRATags.shortHash(of: file), "ba7816bf8f01")
    }
}
