// Single files at the real SD-1.5 and SD-2.x architectures (random weights; written by
// scripts/large/single_file_real.py, which checks that diffusers' from_single_file reads them back
// to the folder's weights): Likeness from the single file against diffusers, 256x256, 2 steps,
// guidance 5, seed 7, PSNR >= 40 dB; F32 files against diffusers from the folder, F16/BF16 files
// against diffusers from the same file. Minutes on 2 cores and ~26 GB of fixtures, so it is not part
// of `make test`: `make test-large` makes the fixtures and runs it
// (swift test --filter LargeSingleFileTests).

import Foundation
import XCTest
@testable import LikenessEngine

final class LargeSingleFileTests: XCTestCase {
    struct Meta: Decodable {
        struct Variant: Decodable { let sampler: String; let version: String }
        let prompt: String
        let negative_prompt: String
        let steps: Int
        let guidance: Float
        let seed: UInt64
        let size: Int
        let variants: [String: Variant]
    }

    static func url(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = LikenessFixtures.generated.appendingPathComponent("large").appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: u.path) else {
            XCTFail("\(u.path) is missing: run `make test-large` (scripts/large/single_file_real.py)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return u
    }

    func testRealArchitecturesMatchDiffusers() throws {
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: Self.url("expected.json")))
        let ref = try SafeTensorsFile(url: Self.url("expected.safetensors"))
        XCTAssertEqual(Set(meta.variants.keys), ["sd15", "sd15-fp16", "sd15-bf16", "sd2", "sd2-fp16"])
        for (name, variant) in meta.variants.sorted(by: { $0.key < $1.key }) {
            let start = Date()
            let pipe = try LikenessPipeline(model: Self.url("\(name).safetensors"))
            let ckpt = try XCTUnwrap(pipe.checkpoint)
            XCTAssertEqual(ckpt.version, variant.version == "sd15" ? .v1 : .v2, name)
            XCTAssertEqual(pipe.unet.config.block_out_channels, [320, 640, 1280, 1280], name)
            XCTAssertEqual(pipe.textEncoder.config.hidden_size, variant.version == "sd15" ? 768 : 1024, name)
            var request = GenerationRequest(prompt: meta.prompt)
            request.negativePrompt = meta.negative_prompt
            request.seeds = [meta.seed]
            request.steps = meta.steps
            request.textGuidance = meta.guidance
            request.sampler = try SamplerKind(parsing: variant.sampler)
            request.width = meta.size
            request.height = meta.size
            request.preview = .none
            let image = try pipe.generate(request).image
            let expected = try ref.tensor(named: "image.\(name)")
            let p = assertPSNR(image, expected, "\(name) at the real architecture, 256x256, 2 steps vs diffusers")
            print("\(name): PSNR \(String(format: "%.1f", p)) dB, load and generate \(Int(Date().timeIntervalSince(start))) s")
        }
    }
}
