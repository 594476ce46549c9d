// Single-file checkpoints (SD 1.x / 2.x original layout) against diffusers' own loader on the
// same files: scripts/fixtures/single_file.py writes tiny random SD1-like and SD2-like pipelines
// as diffusers folders and as original-layout files (F32, F16, BF16, with EMA keys), checks that
// diffusers' from_single_file(file, config=folder) reads each back to the folder's weights, and
// stores what diffusers computes from each file. Here Likeness loads each file alone (no config,
// no tokenizer: both from the keys and the bundled CLIP vocabulary) and must match: text states,
// UNet and VAE outputs max-abs <= 1e-4 x max(1, |reference|); whole 2-step generations
// PSNR >= 40 dB. Measured at the time of writing: text <= 2.6e-6, UNet <= 1.7e-6, VAE <= 2.9e-6,
// images >= 119 dB (max-abs <= 1.1e-5). Bad files: clear errors, never a crash.

import Foundation
import XCTest
@testable import LikenessEngine

enum SingleFileFixtures {
    static func url(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let u = LikenessFixtures.generated.appendingPathComponent("single_file").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: u.path) else {
            let error = PipelineFixtures.Missing(path: u.path)
            XCTFail(error.description.replacingOccurrences(of: "pipeline.py", with: "single_file.py"), file: file, line: line)
            throw error
        }
        return u
    }

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

    static func meta() throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: Data(contentsOf: url("expected.json")))
    }
}

final class SingleFileTests: XCTestCase {
    func testEveryVariantMatchesDiffusersFromTheSameFile() throws {
        let meta = try SingleFileFixtures.meta()
        let ref = try SafeTensorsFile(url: SingleFileFixtures.url("expected.safetensors"))
        XCTAssertEqual(Set(meta.variants.keys), ["sd1", "sd1-fp16", "sd1-bf16", "sd1-ema", "sd2"])
        let latents = try ref.tensor(named: "latents.in")
        for (name, variant) in meta.variants.sorted(by: { $0.key < $1.key }) {
            let pipe = try LikenessPipeline(model: SingleFileFixtures.url("\(name).safetensors"))
            let ckpt = try XCTUnwrap(pipe.checkpoint, name)
            XCTAssertEqual(ckpt.version, variant.version == "sd1" ? .v1 : .v2, name)
            XCTAssertEqual(ckpt.hasEMA, name == "sd1-ema", name)
            XCTAssertNil(pipe.objectEncoder)
            // The bundled tokenizer gives diffusers' ids (SD 2.x pads with "!", id 0).
            let ids = try ref.tensor(named: "ids.\(name)").storage.map { Int($0) }
            XCTAssertEqual(try pipe.tokenizer.encode(meta.prompt).ids, ids, "\(name) token ids")
            let text = try pipe.textEncoder(ids: [ids])
            assertClose(text, try ref.tensor(named: "text.\(name)"), "\(name) text encoder")
            let eps = try pipe.unet(sample: latents, timestep: 500, encoderHiddenStates: text)
            assertClose(eps, try ref.tensor(named: "unet.\(name)"), "\(name) UNet")
            assertClose(try pipe.vae.decode(latents), try ref.tensor(named: "vae.\(name)"), "\(name) VAE decode")

            var request = GenerationRequest(prompt: meta.prompt)
            request.negativePrompt = meta.negative_prompt
            request.seeds = [meta.seed]
            request.steps = meta.steps
            request.textGuidance = meta.guidance
            request.sampler = try SamplerKind(parsing: variant.sampler)
            request.width = meta.size
            request.height = meta.size
            let result = try pipe.generate(request)
            assertPSNR(result.image, try ref.tensor(named: "image.\(name)"), "\(name) 2-step generation vs diffusers from_single_file")
        }
    }

    func testArchitectureAndPredictionAreReadFromTheFile() throws {
        let sd1 = try SingleFileCheckpoint(url: SingleFileFixtures.url("sd1.safetensors"))
        XCTAssertEqual(sd1.version, .v1)
        XCTAssertEqual(sd1.unetConfig.block_out_channels, [32, 64, 64])
        XCTAssertEqual(sd1.unetConfig.layers_per_block, .int(2))
        XCTAssertEqual(sd1.unetConfig.down_block_types, ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])
        XCTAssertFalse(sd1.unetConfig.use_linear_projection)
        XCTAssertEqual(sd1.textConfig.hidden_act, "quick_gelu")
        XCTAssertEqual(sd1.vaeConfig?.block_out_channels, [32, 64])
        XCTAssertEqual(sd1.vaeConfig?.layers_per_block, 1)
        XCTAssertNil(sd1.statedPrediction)
        XCTAssertEqual(sd1.defaultPrediction, .epsilon)
        XCTAssertEqual(sd1.schedulerConfig(prediction: .epsilon).className, "PNDMScheduler")

        let sd2 = try SingleFileCheckpoint(url: SingleFileFixtures.url("sd2.safetensors"))
        XCTAssertEqual(sd2.version, .v2)
        XCTAssertTrue(sd2.unetConfig.use_linear_projection)
        XCTAssertEqual(sd2.unetConfig.attention_head_dim, .list([1, 2, 2]))
        XCTAssertEqual(sd2.textConfig.num_hidden_layers, 23, "the last of 24 resblocks is not used")
        XCTAssertEqual(sd2.textConfig.hidden_act, "gelu")
        XCTAssertEqual(sd2.defaultPrediction, .vPrediction)
        XCTAssertEqual(sd2.schedulerConfig(prediction: .vPrediction).predictionType, "v_prediction")

        let eps = try LikenessPipeline(model: SingleFileFixtures.url("sd2.safetensors"), prediction: .epsilon)
        XCTAssertEqual(eps.schedulerConfig.predictionType, "epsilon")
        XCTAssertEqual(eps.predictionNote, "epsilon (--prediction)")
        let v = try LikenessPipeline(model: SingleFileFixtures.url("sd2.safetensors"))
        XCTAssertTrue(v.predictionNote?.hasPrefix("v (SD 2.x default") == true, v.predictionNote ?? "nil")
    }

    func testStatedPredictionWins() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try SafeTensorsFile(url: SingleFileFixtures.url("sd1.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in src.names where src.entries[name]?.dtype.name != "I64" { tensors[name] = try src.tensor(named: name) }
        tensors["cond_stage_model.transformer.text_model.embeddings.position_ids"] = nil
        let out = dir.appendingPathComponent("stated.safetensors")
        try SafeTensorsWriter.write(tensors, to: out, metadata: ["modelspec.prediction_type": "v"])
        let ckpt = try SingleFileCheckpoint(url: out)
        XCTAssertEqual(ckpt.statedPrediction, .vPrediction)
        let pipe = try LikenessPipeline(checkpoint: ckpt)
        XCTAssertEqual(pipe.schedulerConfig.predictionType, "v_prediction")
        XCTAssertEqual(pipe.predictionNote, "v (stated by the file: metadata modelspec.prediction_type)")
    }

    func testBadFilesGiveClearErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func expectError(_ url: URL, contains words: [String], _ label: String) {
            do {
                _ = try LikenessPipeline(model: url)
                XCTFail("\(label): loaded")
            } catch {
                let text = "\(error)"
                for w in words { XCTAssertTrue(text.contains(w), "\(label): \(text)") }
            }
        }
        // Pickles are refused by name and by content, before anything parses them.
        let ckpt = dir.appendingPathComponent("model.ckpt")
        try Data([0x80, 0x02, 0x7d, 0x71]).write(to: ckpt)
        expectError(ckpt, contains: ["pickled", "never unpickles", "safetensors.torch.save_file"], ".ckpt")
        let disguised = dir.appendingPathComponent("zip.safetensors")
        try Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0]).write(to: disguised)
        expectError(disguised, contains: ["pickled"], "zip pickle named .safetensors")

        // Truncated and hostile headers.
        let full = try Data(contentsOf: SingleFileFixtures.url("sd1.safetensors"))
        let truncated = dir.appendingPathComponent("truncated.safetensors")
        try full.prefix(full.count / 2).write(to: truncated)
        expectError(truncated, contains: ["truncated.safetensors"], "truncated")
        let hostile = dir.appendingPathComponent("hostile.safetensors")
        var header = Data(); var n = UInt64(1 << 40).littleEndian
        withUnsafeBytes(of: &n) { header.append(contentsOf: $0) }
        try header.write(to: hostile)
        expectError(hostile, contains: ["hostile.safetensors", "header"], "oversized header")

        // Other architectures are named.
        func write(_ name: String, _ keys: [String: [Int]]) throws -> URL {
            let u = dir.appendingPathComponent(name)
            try SafeTensorsWriter.write(keys.mapValues { Tensor(zeros: $0) }, to: u)
            return u
        }
        expectError(try write("xl.safetensors", ["conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight": [4, 2],
                                                 "model.diffusion_model.input_blocks.0.0.weight": [2, 4, 3, 3]]),
                    contains: ["Stable Diffusion XL", "only SD 1.x and 2.x"], "SDXL")
        expectError(try write("vae.safetensors", ["encoder.down.0.block.0.conv1.weight": [2, 2, 3, 3]]),
                    contains: ["standalone VAE"], "VAE as model")
        expectError(try write("lora.safetensors", ["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": [2, 2]]),
                    contains: ["LoRA"], "LoRA as model")
        expectError(try write("other.safetensors", ["foo.weight": [2]]), contains: ["not a Stable Diffusion checkpoint"], "unknown")

        // A complete file with one stray tensor: named, not ignored.
        let src = try SafeTensorsFile(url: SingleFileFixtures.url("sd1-fp16.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in src.names where src.entries[name]?.dtype.name != "I64" { tensors[name] = try src.tensor(named: name) }
        tensors["model.diffusion_model.mystery.weight"] = Tensor(zeros: [3])
        let stray = dir.appendingPathComponent("stray.safetensors")
        try SafeTensorsWriter.write(tensors, to: stray)
        expectError(stray, contains: ["model.diffusion_model.mystery.weight", "fit no part"], "stray tensor")
        // A missing tensor is named with the file's own key.
        tensors["model.diffusion_model.mystery.weight"] = nil
        tensors["model.diffusion_model.out.2.bias"] = nil
        let missing = dir.appendingPathComponent("missing.safetensors")
        try SafeTensorsWriter.write(tensors, to: missing)
        expectError(missing, contains: ["conv_out.bias"], "missing tensor")
    }

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-single-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
