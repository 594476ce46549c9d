// Standalone VAEs (--vae) against diffusers on the same files (scripts/fixtures/single_file.py):
// a second random VAE as an original-layout file (keys without prefix, like the ft-MSE VAE), its
// F16 copy, a diffusers-layout file without config and a diffusers folder. Decode max-abs
// <= 1e-4 x max(1, |reference|); a 2-step generation of sd1.safetensors with the VAE replaced
// PSNR >= 40 dB against diffusers' from_single_file(..., vae=AutoencoderKL.from_single_file(...)).

import Foundation
import XCTest
@testable import LikenessEngine

final class StandaloneVAETests: XCTestCase {
    func testEveryLayoutMatchesDiffusers() throws {
        let ref = try SafeTensorsFile(url: SingleFileFixtures.url("expected.safetensors"))
        let latents = try ref.tensor(named: "latents.in")
        let expected = try ref.tensor(named: "vae.vae-orig")
        for name in ["vae-orig.safetensors", "vae-diffusers-layout.safetensors", "vae-diffusers"] {
            let vae = try StandaloneVAE.load(SingleFileFixtures.url(name))
            XCTAssertEqual(vae.config.block_out_channels, [32, 64], name)
            XCTAssertEqual(vae.config.layers_per_block, 1, name)
            assertClose(try vae.decode(latents), expected, "standalone VAE \(name) decode")
        }
        let half = try StandaloneVAE.load(SingleFileFixtures.url("vae-orig-fp16.safetensors"))
        assertClose(try half.decode(latents), try ref.tensor(named: "vae.vae-orig-fp16"), "standalone VAE vae-orig-fp16 decode")
    }

    func testGenerationWithReplacedVAEMatchesDiffusers() throws {
        let meta = try SingleFileFixtures.meta()
        let ref = try SafeTensorsFile(url: SingleFileFixtures.url("expected.safetensors"))
        for variant in ["vae-orig", "vae-orig-fp16"] {
            let vaeURL = try SingleFileFixtures.url("\(variant).safetensors")
            let pipe = try LikenessPipeline(model: SingleFileFixtures.url("sd1.safetensors"), vae: vaeURL)
            XCTAssertEqual(pipe.vaeReplacement, vaeURL)
            var request = GenerationRequest(prompt: meta.prompt)
            request.negativePrompt = meta.negative_prompt
            request.seeds = [meta.seed]
            request.steps = meta.steps
            request.textGuidance = meta.guidance
            request.sampler = .euler
            request.width = meta.size
            request.height = meta.size
            let result = try pipe.generate(request)
            assertPSNR(result.image, try ref.tensor(named: "image.sd1+\(variant)"), "sd1 + \(variant) 2-step generation vs diffusers")
        }
        // A folder model takes a standalone VAE too.
        let folder = try LikenessPipeline(model: SingleFileFixtures.url("sd1"), vae: SingleFileFixtures.url("vae-orig.safetensors"))
        assertClose(try folder.vae.decode(try ref.tensor(named: "latents.in")), try ref.tensor(named: "vae.vae-orig"), "sd1 folder + vae-orig decode")
    }

    func testBadVAEFilesGiveClearErrors() throws {
        func expectError(_ body: () throws -> Void, contains words: [String], _ label: String) {
            do { try body(); XCTFail("\(label): loaded") } catch {
                for w in words { XCTAssertTrue("\(error)".contains(w), "\(label): \(error)") }
            }
        }
        expectError({ _ = try StandaloneVAE.load(SingleFileFixtures.url("sd1.safetensors")) },
                    contains: ["whole model checkpoint", "--model"], "a model as VAE")
        expectError({ _ = try StandaloneVAE.load(URL(fileURLWithPath: "/nonexistent/vae.safetensors")) },
                    contains: ["no such VAE"], "missing file")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-vae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pt = dir.appendingPathComponent("vae.pt")
        try Data([0x80, 0x02]).write(to: pt)
        expectError({ _ = try StandaloneVAE.load(pt) }, contains: ["never unpickles"], "pickle")
        // A VAE with other latent channels does not fit the model.
        let src = try SafeTensorsFile(url: SingleFileFixtures.url("vae-orig.safetensors"))
        var tensors: [String: Tensor] = [:]
        for n in src.names { tensors[n] = try src.tensor(named: n) }
        tensors["stray.weight"] = Tensor(zeros: [2])
        let stray = dir.appendingPathComponent("stray.safetensors")
        try SafeTensorsWriter.write(tensors, to: stray)
        expectError({ _ = try StandaloneVAE.load(stray) }, contains: ["stray.weight", "fit no part of a VAE"], "stray tensor")
    }
}
