import Foundation
import XCTest
import LikenessImaging

/// Directory of the fixtures made by scripts/fixtures/imaging.py.
let fixtureDir = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("Fixtures/generated/imaging")

/// A fixture file's URL; fails the test (not skips) when it is missing.
func fixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let url = fixtureDir.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: url.path) else {
        XCTFail("missing fixture \(url.path): run `make fixtures` "
            + "(or .venv/bin/python scripts/fixtures/imaging.py)", file: file, line: line)
        throw FixtureError.missing(url.path)
    }
    return url
}

enum FixtureError: Error { case missing(String), bad(String) }

/// A tensor read from a .safetensors file (only the dtypes these fixtures use).
struct FixtureTensor {
    let shape: [Int]
    let u8: [UInt8]
    let f32: [Float]
}

/// Minimal safetensors reader for test fixtures: 8-byte little-endian header length, JSON
/// header {name: {dtype, shape, data_offsets}}, raw little-endian data.
func loadSafetensors(_ url: URL) throws -> [String: FixtureTensor] {
    let data = try Data(contentsOf: url)
    guard data.count >= 8 else { throw FixtureError.bad("\(url.path): too short") }
    var n: UInt64 = 0
    for i in 0..<8 { n |= UInt64(data[i]) << (8 * UInt64(i)) }
    let headerEnd = 8 + Int(n)
    guard headerEnd <= data.count,
          let header = try JSONSerialization.jsonObject(with: data[8..<headerEnd]) as? [String: Any]
    else { throw FixtureError.bad("\(url.path): bad header") }
    var out: [String: FixtureTensor] = [:]
    for (name, value) in header where name != "__metadata__" {
        guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
              let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2
        else { throw FixtureError.bad("\(url.path): bad entry \(name)") }
        let bytes = data[(headerEnd + offs[0])..<(headerEnd + offs[1])]
        switch dtype {
        case "U8":
            out[name] = FixtureTensor(shape: shape, u8: Array(bytes), f32: [])
        case "F32":
            var floats = [Float](repeating: 0, count: bytes.count / 4)
            _ = floats.withUnsafeMutableBytes { bytes.copyBytes(to: $0) }
            out[name] = FixtureTensor(shape: shape, u8: [], f32: floats)
        default:
            throw FixtureError.bad("\(url.path): tensor \(name) has dtype \(dtype), expected U8 or F32")
        }
    }
    return out
}

/// Deterministic pseudo-random bytes (SplitMix64), so tests do not depend on a global RNG.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

func randomImage(width: Int, height: Int, seed: UInt64) throws -> RGBImage {
    var rng = TestRNG(seed: seed)
    return try RGBImage(width: width, height: height, pixels: rng.bytes(width * height * 3))
}

/// A smooth image (gradients), which JPEG compresses well.
func smoothImage(width: Int, height: Int) throws -> RGBImage {
    var p = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            p[i] = UInt8(255 * x / max(width - 1, 1))
            p[i + 1] = UInt8(255 * y / max(height - 1, 1))
            p[i + 2] = UInt8((x + y) * 255 / max(width + height - 2, 1))
        }
    }
    return try RGBImage(width: width, height: height, pixels: p)
}

/// A fresh empty temporary directory, removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("likeness-imaging-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Max-abs difference; Int.max when the counts differ (so the assertion fails, not the process).
func maxAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
    guard a.count == b.count else { return Int.max }
    var m = 0
    for i in 0..<a.count { m = max(m, abs(Int(a[i]) - Int(b[i]))) }
    return m
}

/// Mean-abs difference; infinity when the counts differ.
func meanAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Double {
    guard a.count == b.count, !a.isEmpty else { return .infinity }
    var s = 0
    for i in 0..<a.count { s += abs(Int(a[i]) - Int(b[i])) }
    return Double(s) / Double(a.count)
}

/// Asserts that `body` throws an ImageError whose message contains every string in `contains`.
func assertImageError<T>(_ body: @autoclosure () throws -> T, contains: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an ImageError containing \(contains), got success", file: file, line: line)
    } catch let error as ImageError {
        let text = error.description
        for part in contains {
            XCTAssertTrue(text.contains(part), "error \"\(text)\" does not contain \"\(part)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected an ImageError, got \(error)", file: file, line: line)
    }
}
