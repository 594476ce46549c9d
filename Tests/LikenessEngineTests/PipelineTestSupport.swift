// Fixture access for the pipeline tests (scripts/fixtures/pipeline.py writes
// Tests/Fixtures/generated/pipeline/: the model folders toy-a and toy-b, <toy>.expected.safetensors
// and <toy>.expected.json). A missing fixture fails the test with instructions; never skipped.

import Foundation
import XCTest
@testable import LikenessEngine

enum PipelineFixtures {
    static let folders = ["toy-a", "toy-b"]

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "fixture \(path) is missing; run `make fixtures` (or .venv/bin/python scripts/fixtures/pipeline.py)"
        }
    }

    /// Tests/Fixtures/generated/pipeline/<relative>, which must exist.
    static func url(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = LikenessFixtures.generated.appendingPathComponent("pipeline").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let error = Missing(path: u.path)
            XCTFail(error.description, file: file, line: line)
            throw error
        }
        return u
    }

    static func expected(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: url("\(name).expected.safetensors"))
    }

    static func meta(_ name: String) throws -> PipelineFixtureMeta {
        try JSONDecoder().decode(PipelineFixtureMeta.self, from: Data(contentsOf: url("\(name).expected.json")))
    }

    private static let lock = NSLock()
    private static var cache: [String: LikenessPipeline] = [:]

    /// The loaded model folder (loaded once per test process).
    static func pipeline(_ name: String) throws -> LikenessPipeline {
        lock.lock(); defer { lock.unlock() }
        if let p = cache[name] { return p }
        let p = try LikenessPipeline(folder: url(name))
        cache[name] = p
        return p
    }

    /// A copy of a fixture model folder in a fresh temporary directory (removed by the caller).
    static func copy(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("likeness-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dest = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: url(name), to: dest)
        return dest
    }
}

/// <toy>.expected.json
struct PipelineFixtureMeta: Decodable {
    struct Conditioning: Decodable {
        let ids: [Int]
        let slot_start: Int?
        let warnings: [String]
        /// [[slot, word]] the reference pipeline's word slots made of the prompt (the edit case).
        let word_slot_edits: [[JSONScalar]]?
    }

    /// An int or a string of a mixed JSON array.
    enum JSONScalar: Decodable, Equatable {
        case int(Int), string(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .string(try c.decode(String.self)) }
        }
    }

    struct Case: Decodable {
        let name: String
        let kind: String
        let prompt: String
        let negative_prompt: String
        let seed: UInt64
        let steps: Int
        let sampler: String
        let karras: Bool
        let text_scale: Float
        let id_scale: Float
        let object: String?
        let allow_truncation: Bool
        let width: Int
        let height: Int
        let warnings: [String]
        let image: String
        let latents: String
        let diffusers: String?
    }

    let folder: String
    let dtype: String
    let text_prefixed: Bool
    let injection: String
    let num_tokens: Int
    let max_length: Int
    let hidden_size: Int
    let placeholder: String
    let null_word: String
    let default_size: Int
    let text_prompt: String
    let object_prompt: String
    let truncation_prompt: String
    /// A prompt whose property words set word slots (folders whose object encoder has them).
    let edit_prompt: String?
    let negative_prompt: String
    let conditionings: [String: Conditioning]
    let cases: [Case]
}

/// PSNR in dB of two images in [-1, 1] (peak-to-peak 2), `actual` clamped to [-1, 1] first, as
/// the references are. Identical images give +infinity.
func psnr(_ actual: Tensor, _ expected: Tensor) -> Double {
    precondition(actual.shape == expected.shape, "psnr of \(actual.shape) and \(expected.shape)")
    var sum = 0.0
    actual.withUnsafeBufferPointer { a in
        expected.withUnsafeBufferPointer { e in
            for i in 0..<a.count {
                let d = Double(min(max(a[i], -1), 1)) - Double(e[i])
                sum += d * d
            }
        }
    }
    let mse = sum / Double(max(1, actual.count))
    return mse == 0 ? .infinity : 10 * log10(4 / mse)
}

/// Asserts PSNR(actual, expected) >= minDB, printing PSNR and max-abs difference.
@discardableResult
func assertPSNR(_ actual: Tensor, _ expected: Tensor, atLeast minDB: Double = 40, _ label: String,
                file: StaticString = #filePath, line: UInt = #line) -> Double {
    guard actual.shape == expected.shape else {
        XCTFail("\(label): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line)
        return -.infinity
    }
    let p = psnr(actual, expected)
    let diff = actual.maxAbsDifference(expected) ?? .infinity
    print("parity \(label): PSNR \(String(format: "%.1f", p)) dB, max-abs diff \(diff)")
    XCTAssertGreaterThanOrEqual(p, minDB, "\(label): PSNR \(p) dB below \(minDB) dB (max-abs \(diff))", file: file, line: line)
    return p
}

extension PipelineFixtureMeta.Case {
    /// The request this case describes; object tokens come from the Swift encoder on the stored pixels.
    func request(pipeline: LikenessPipeline, expected: SafeTensorsFile) throws -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt)
        r.negativePrompt = negative_prompt
        r.seed = seed
        r.steps = steps
        r.textGuidance = text_scale
        r.identityGuidance = id_scale
        r.sampler = try SamplerKind(parsing: sampler)
        r.karras = karras
        r.width = width == pipeline.defaultSize ? nil : width
        r.height = height == pipeline.defaultSize ? nil : height
        r.allowTruncation = allow_truncation
        r.previewEvery = 0
        if let object {
            r.objectTokens = try pipeline.encodeObject(pixels: expected.tensor(named: "pixels.\(object)"))
        }
        return r
    }
}

/// Thread-safe list of job events.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [JobEvent] = []
    func append(_ e: JobEvent) { lock.lock(); items.append(e); lock.unlock() }
    var events: [JobEvent] { lock.lock(); defer { lock.unlock() }; return items }
}
