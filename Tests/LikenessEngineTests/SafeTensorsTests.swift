// The safetensors reader rejects every malformed input with an error naming the file and
// tensor; the writer round-trips F32 and F16.

import Foundation
import XCTest
@testable import LikenessEngine

final class SafeTensorsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Writes a raw file: 8-byte length (or `lengthOverride`), header, then `dataBytes` bytes.
    func raw(_ name: String, header: String, dataBytes: Int, lengthOverride: UInt64? = nil, data: [UInt8]? = nil) throws -> URL {
        var bytes: [UInt8] = []
        let h = Array(header.utf8)
        withUnsafeBytes(of: (lengthOverride ?? UInt64(h.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += h
        bytes += data ?? [UInt8](repeating: 0, count: dataBytes)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func expectError(_ url: URL, _ check: (SafeTensorsError) -> Bool, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try SafeTensorsFile(url: url)
            XCTFail("expected an error for \(url.lastPathComponent)", file: file, line: line)
        } catch let e as SafeTensorsError {
            XCTAssertTrue(check(e), "unexpected error \(e)", file: file, line: line)
            for m in mentions {
                XCTAssertTrue(e.description.contains(m), "'\(e.description)' does not mention '\(m)'", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testRoundTripF32AndF16() throws {
        let a = Tensor(shape: [2, 3], storage: [1, -2.5, 3.25, 0, 65504, -0.125])!
        let b = Tensor(shape: [4], storage: [0.1, 0.2, 0.3, 1.0 / 3.0])!
        let url32 = dir.appendingPathComponent("f32.safetensors")
        try SafeTensorsWriter.write(["a": a, "b.weight": b], to: url32, metadata: ["format": "pt"])
        let f32 = try SafeTensorsFile(url: url32)
        XCTAssertEqual(f32.names, ["a", "b.weight"])
        XCTAssertEqual(f32.metadata, ["format": "pt"])
        XCTAssertEqual(try f32.tensor(named: "a"), a)
        XCTAssertEqual(try f32.tensor(named: "b.weight"), b)
        XCTAssertEqual(f32.entries["a"]?.dtype, .f32)

        let url16 = dir.appendingPathComponent("f16.safetensors")
        try SafeTensorsWriter.write(["a": a, "b.weight": b], to: url16, dtype: .f16)
        let f16 = try SafeTensorsFile(url: url16)
        XCTAssertEqual(f16.entries["b.weight"]?.dtype, .f16)
        let back = try f16.tensor(named: "b.weight")
        for i in 0..<4 { XCTAssertEqual(back.storage[i], Float(Float16(b.storage[i]))) }
        XCTAssertEqual(try f16.tensor(named: "a"), a) // all exactly representable in half
        XCTAssertThrowsError(try f16.tensor(named: "nope")) { e in
            XCTAssertEqual(e as? SafeTensorsError, .tensorNotFound(file: f16.displayName, tensor: "nope"))
        }
    }

    func testHalfAndBFloat16Conversion() throws {
        // Every finite half converts exactly, subnormals and signed zero included.
        for bits in [UInt16(0x0000), 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xC000, 0x7BFF, 0x3555] {
            XCTAssertEqual(halfBitsToFloat(bits), Float(Float16(bitPattern: bits)), "bits \(bits)")
        }
        XCTAssertEqual(halfBitsToFloat(0x7C00), .infinity)
        XCTAssertEqual(halfBitsToFloat(0xFC00), -.infinity)
        XCTAssertTrue(halfBitsToFloat(0x7E00).isNaN)
        XCTAssertEqual(bfloat16BitsToFloat(0x3F80), 1)
        XCTAssertEqual(bfloat16BitsToFloat(0xC040), -3)

        // A BF16 tensor in a hand-written file, at an unaligned data offset.
        let header = #"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#
        let url = try raw("bf16.safetensors", header: header, dataBytes: 4, data: [0x80, 0x3F, 0x40, 0xC0])
        XCTAssertEqual(try SafeTensorsFile(url: url).tensor(named: "w").storage, [1, -3])
    }

    func testTruncatedFile() throws {
        let url = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        expectError(url, { if case .truncated = $0 { return true }; return false }, mentions: ["short.safetensors", "truncated"])
        // A valid file cut in the middle of its data.
        let good = dir.appendingPathComponent("good.safetensors")
        try SafeTensorsWriter.write(["w": Tensor(zeros: [64])], to: good)
        let data = try Data(contentsOf: good)
        let cut = dir.appendingPathComponent("cut.safetensors")
        try data.prefix(data.count - 10).write(to: cut)
        expectError(cut, { if case .offsetsOutOfRange(_, "w", _, _, _) = $0 { return true }; return false },
                    mentions: ["cut.safetensors", "'w'"])
    }

    func testHeaderLongerThanFile() throws {
        let url = try raw("long.safetensors", header: "{}", dataBytes: 0, lengthOverride: 1000)
        expectError(url, { if case .headerExceedsFile = $0 { return true }; return false }, mentions: ["long.safetensors", "1000"])
    }

    func testOversizedHeader() throws {
        let url = try raw("huge.safetensors", header: "{}", dataBytes: 0, lengthOverride: 200_000_000)
        expectError(url, { if case .headerTooLarge = $0 { return true }; return false }, mentions: ["huge.safetensors", "200000000"])
    }

    func testInvalidJSON() throws {
        let url = try raw("bad.safetensors", header: #"{"w": {"dtype": "F32",]"#, dataBytes: 0)
        expectError(url, { if case .invalidHeader = $0 { return true }; return false }, mentions: ["bad.safetensors", "JSON"])
        let array = try raw("array.safetensors", header: "[1, 2]", dataBytes: 0)
        expectError(array, { if case .invalidHeader = $0 { return true }; return false }, mentions: ["array.safetensors", "object"])
    }

    func testOverlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let url = try raw("overlap.safetensors", header: header, dataBytes: 12)
        expectError(url, { if case .overlappingTensors = $0 { return true }; return false }, mentions: ["overlap.safetensors", "'b'", "'a'"])
    }

    func testOffsetsOutOfRange() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        let url = try raw("range.safetensors", header: header, dataBytes: 16)
        expectError(url, { if case .offsetsOutOfRange(_, "w", 8, 24, 16) = $0 { return true }; return false },
                    mentions: ["range.safetensors", "'w'"])
        let reversed = try raw("reversed.safetensors", header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, dataBytes: 16)
        expectError(reversed, { if case .offsetsOutOfRange = $0 { return true }; return false }, mentions: ["'w'"])
    }

    func testUnsupportedDType() throws {
        let unknown = try raw("dtype.safetensors", header: #"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}"#, dataBytes: 2)
        expectError(unknown, { $0 == .unsupportedDType(file: "\(self.dir.lastPathComponent)/dtype.safetensors", tensor: "w", dtype: "Q4") },
                    mentions: ["dtype.safetensors", "'w'", "Q4"])
        // Known non-float dtypes open (SD 1.5 text encoders hold an I64 position_ids), but cannot be read as floats.
        let i64 = try raw("i64.safetensors", header: #"{"ids":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]}}"#, dataBytes: 24)
        let file = try SafeTensorsFile(url: i64)
        XCTAssertThrowsError(try file.tensor(named: "ids")) { e in
            let s = String(describing: e)
            XCTAssertTrue(s.contains("i64.safetensors") && s.contains("'ids'") && s.contains("I64"), s)
        }
    }

    func testShapeSizeMismatch() throws {
        let url = try raw("size.safetensors", header: #"{"w":{"dtype":"F16","shape":[3,2],"data_offsets":[0,8]}}"#, dataBytes: 8)
        expectError(url, { if case .sizeMismatch(_, "w", [3, 2], "F16", 12, 8) = $0 { return true }; return false },
                    mentions: ["size.safetensors", "'w'", "12"])
        let negative = try raw("neg.safetensors", header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, dataBytes: 0)
        expectError(negative, { if case .invalidEntry(_, "w", _) = $0 { return true }; return false }, mentions: ["neg.safetensors", "'w'"])
        let fractional = try raw("frac.safetensors", header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, dataBytes: 4)
        expectError(fractional, { if case .invalidEntry(_, "w", _) = $0 { return true }; return false }, mentions: ["'w'"])
    }

    func testMetadataAndPadding() throws {
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}    "#
        let url = try raw("meta.safetensors", header: header, dataBytes: 4, data: [0, 0, 0x80, 0x3F])
        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(try file.tensor(named: "w").storage, [1])
        let badMeta = try raw("badmeta.safetensors", header: #"{"__metadata__":{"n":3}}"#, dataBytes: 0)
        expectError(badMeta, { if case .invalidHeader = $0 { return true }; return false }, mentions: ["badmeta.safetensors", "'n'"])
    }

    func testMissingFile() {
        expectError(dir.appendingPathComponent("absent.safetensors"), { if case .cannotOpen = $0 { return true }; return false },
                    mentions: ["absent.safetensors"])
    }

    func testWriterReplacesAtomically() throws {
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensorsWriter.write(["x": Tensor(repeating: 1, shape: [3])], to: url)
        try SafeTensorsWriter.write(["y": Tensor(repeating: 2, shape: [2])], to: url)
        XCTAssertEqual(try SafeTensorsFile(url: url).names, ["y"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("tmp") }
        XCTAssertEqual(leftovers, [])
    }
}
