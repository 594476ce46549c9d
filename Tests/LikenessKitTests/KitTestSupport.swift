import Foundation
import LikenessEngine
import LikenessImaging
import XCTest
@testable import LikenessKit

/// A new folder removed after the test.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-kit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Runs `command` with /bin/sh; returns trimmed stdout; throws on a non-zero exit.
@discardableResult
func shell(_ command: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw KitError("`\(command)` exited \(p.terminationStatus): \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The repository root (for Models/toybox and the generated fixtures).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A smooth test image.
func testImage(width: Int, height: Int) throws -> RGBImage {
    var px = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            px[i] = UInt8(x * 255 / max(1, width - 1))
            px[i + 1] = UInt8(y * 255 / max(1, height - 1))
            px[i + 2] = UInt8((x + y) % 256)
        }
    }
    return try RGBImage(width: width, height: height, pixels: px)
}

/// A model identity for gallery tests (no model folder needed).
func fakeModel(_ name: String = "toy", fingerprint: String = String(repeating: "a", count: 64), k: Int = 4, d: Int = 8) -> ModelIdentity {
    ModelIdentity(name: name, folder: URL(fileURLWithPath: "/models/\(name)"), fingerprint: fingerprint,
                  tokenCount: k, hiddenSize: d, injection: "input_embedding")
}

func tokens(k: Int = 4, d: Int = 8, offset: Float = 0) -> Tensor {
    Tensor(shape: [1, k, d]) { p in for i in 0..<p.count { p[i] = Float(i) * 0.25 + offset } }
}

/// A saved reference decoded from a generated PNG.
func reference(_ dir: URL, name: String = "ref.png", width: Int = 40, height: Int = 32) throws -> ReferenceImage {
    let url = dir.appendingPathComponent(name)
    try testImage(width: width, height: height).write(to: url)
    return try ReferenceImage(contentsOf: url)
}

/// Asserts that `body` throws an error whose description contains every needle.
func assertThrows<T>(_ body: @autoclosure () throws -> T, contains needles: [String], file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(needles)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for n in needles { XCTAssertTrue(text.contains(n), "error \"\(text)\" lacks \"\(n)\"", file: file, line: line) }
    }
}

/// Tests/Fixtures/generated/metadata (scripts/fixtures/metadata.py).
let metadataFixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/generated/metadata")

/// A metadata fixture's URL; a missing fixture fails the test (it is never skipped).
func metadataFixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let url = metadataFixtures.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: url.path) else {
        let message = "missing fixture \(url.path): run `make fixtures` (or .venv/bin/python scripts/fixtures/metadata.py)"
        XCTFail(message, file: file, line: line)
        throw KitError(message)
    }
    return url
}
