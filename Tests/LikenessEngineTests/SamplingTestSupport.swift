// Fixture access for the tokenizer, random and sampling tests (scripts/fixtures/
// tokenizers_sampling.py writes Tests/Fixtures/generated/{tokenizers,sampling}/). A missing
// fixture fails the test with instructions; it is never skipped.

import Foundation
import XCTest

enum LikenessFixtures {
    static let generated: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/generated")

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "fixture \(path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/tokenizers_sampling.py)"
        }
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static func url(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = generated.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let error = Missing(path: u.path)
            XCTFail(error.description, file: file, line: line)
            throw error
        }
        return u
    }

    static func json(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relative, file: file, line: line)))
    }

    /// Reads every F32 tensor of a .safetensors file, flattened.
    static func tensors(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: [Float]] {
        let data = try Data(contentsOf: url(relative, file: file, line: line))
        guard data.count >= 8 else { throw Malformed(description: "\(relative): too short") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        guard 8 + headerLength <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any]
        else { throw Malformed(description: "\(relative): bad header") }
        let body = data.subdata(in: (8 + headerLength)..<data.count)
        var out: [String: [Float]] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], info["dtype"] as? String == "F32",
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw Malformed(description: "\(relative): tensor \(name) is not F32")
            }
            let slice = body.subdata(in: offsets[0]..<offsets[1])
            out[name] = slice.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return out
    }
}

/// Max-abs difference, asserted against `relTol * max(1, max-abs of the reference)` and printed.
@discardableResult
func assertParity(_ actual: [Float], _ expected: [Float], _ label: String, relTol: Float = 1e-4,
                  file: StaticString = #filePath, line: UInt = #line) -> Float {
    guard actual.count == expected.count else {
        XCTFail("\(label): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return .infinity
    }
    var diff: Float = 0
    var scale: Float = 0
    for i in actual.indices {
        let d = abs(actual[i] - expected[i])
        diff = d.isNaN ? .infinity : max(diff, d)
        scale = max(scale, abs(expected[i]))
    }
    let limit = relTol * max(1, scale)
    print("parity \(label): max-abs diff \(diff) (reference max-abs \(scale), limit \(limit))")
    XCTAssertLessThanOrEqual(diff, limit, "\(label): max-abs diff \(diff) exceeds \(limit)", file: file, line: line)
    return diff
}
