// Locates the generated fixtures (scripts/fixtures/ops_models.py) and compares tensors
// against references, recording the measured max-abs difference.

import Foundation
import XCTest
@testable import LikenessEngine

enum ModelFixtures {
    /// Tests/Fixtures/generated/models
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/generated/models")

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "fixture \(path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/ops_models.py)"
        }
    }

    /// URL of a fixture that must exist; records a failure with instructions when it does not.
    static func url(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = root.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let error = Missing(path: u.path)
            XCTFail(error.description, file: file, line: line)
            throw error
        }
        return u
    }

    static func tensors(_ relative: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: url(relative))
    }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(relative))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Missing(path: relative + " (not a JSON object)")
        }
        return object
    }
}

/// Root-mean-square of `a - b` over their elements (same shape), in Double.
func rmsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "rmsDifference of \(a.shape) and \(b.shape)")
    let sum = zip(a.storage, b.storage).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }
    return (sum / Double(max(1, a.count))).squareRoot()
}

/// Asserts `maxAbsDiff(actual, expected) <= relTol * max(1, maxAbs(expected))`, printing the measurement.
@discardableResult
func assertClose(
    _ actual: Tensor, _ expected: Tensor, _ label: String, relTol: Float = 1e-4,
    file: StaticString = #filePath, line: UInt = #line
) -> Float {
    guard actual.shape == expected.shape else {
        XCTFail("\(label): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line)
        return .infinity
    }
    let diff = actual.maxAbsDifference(expected) ?? .infinity
    let scale = max(1, expected.maxAbs())
    let limit = relTol * scale
    print("parity \(label): max-abs diff \(diff) (reference max-abs \(expected.maxAbs()), limit \(limit))")
    XCTAssertTrue(diff <= limit, "\(label): max-abs diff \(diff) exceeds \(limit)", file: file, line: line)
    return diff
}
