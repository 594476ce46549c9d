// Parity of the tiny decoder (diffusers AutoencoderTiny / TAESD) against diffusers on random
// weights of the real architecture (scripts/fixtures/tiny_decoder.py), and its strict loading.
// Measured at the time of writing: taesd (defaults, F32) 1.4e-6, small (F16) folder and
// original-layout file 1.3e-6 (reference max-abs 2.9 and 2.7; PSNR far above 40 dB); PyTorch's
// own float32 result differs from the float64 reference by 1.2e-6 and 1.7e-6.

import Foundation
import XCTest
@testable import LikenessEngine

final class TinyDecoderTests: XCTestCase {
    static let root = ModelFixtures.root.deletingLastPathComponent().appendingPathComponent("tiny_decoder")

    func fixture(_ name: String) throws -> URL {
        let u = Self.root.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: u.path) else {
            XCTFail("fixture \(u.path) is missing; run .venv/bin/python scripts/fixtures/tiny_decoder.py")
            throw ModelFixtures.Missing(path: u.path)
        }
        return u
    }

    func check(_ decoder: AutoencoderTiny, _ name: String, label: String) throws -> Float {
        let expected = try SafeTensorsFile(url: fixture("expected.safetensors"))
        let latents = try expected.tensor(named: "latents.\(name)")
        let out = try decoder.decode(diffusionLatents: latents)
        return assertClose(out, try expected.tensor(named: "decode.\(name)"), label)
    }

    func testDefaultFolderMatchesDiffusers() throws {
        let decoder = try StandaloneTinyDecoder.load(fixture("taesd"))
        XCTAssertEqual(decoder.config, AutoencoderTinyConfig())
        XCTAssertEqual(decoder.downscaleFactor, 8)
        let diff = try check(decoder, "taesd", label: "AutoencoderTiny defaults decode")
        XCTAssertLessThan(diff, 1e-4)
    }

    func testSmallFolderAndOriginalLayoutFileMatchDiffusers() throws {
        let folder = try StandaloneTinyDecoder.load(fixture("small"))
        XCTAssertEqual(folder.config.num_decoder_blocks, [2, 1, 1])
        XCTAssertEqual(folder.config.scaling_factor, 0.5)
        _ = try check(folder, "small", label: "AutoencoderTiny small (F16) decode")
        let file = try StandaloneTinyDecoder.load(fixture("small_decoder.safetensors"))
        XCTAssertEqual(file.config.num_decoder_blocks, [2, 1, 1])
        XCTAssertEqual(file.config.decoder_block_out_channels, [16, 16, 16])
        XCTAssertEqual(file.config.scaling_factor, 1.0, "files carry no config: the released TAESD scaling 1.0")
        // The file decodes with scaling 1.0, so feed it the latents the folder's 0.5 scaling makes.
        let expected = try SafeTensorsFile(url: fixture("expected.safetensors"))
        var z = try expected.tensor(named: "latents.small")
        z.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] /= 0.5 } }
        assertClose(try file.decode(diffusionLatents: z), try expected.tensor(named: "decode.small"), "TAESD original-layout file decode")
    }

    func testStrictLoadingNamesTheTensor() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try SafeTensorsFile(url: fixture("small/diffusion_pytorch_model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in source.names { tensors[name] = try source.tensor(named: name) }
        try FileManager.default.copyItem(at: fixture("small/config.json"), to: dir.appendingPathComponent("config.json"))
        let weights = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")

        var missing = tensors
        missing["decoder.layers.3.conv.2.bias"] = nil
        missing["decoder.extra.weight"] = Tensor(uncheckedShape: [2], storage: [1, 2])
        missing["decoder.layers.0.weight"] = Tensor(uncheckedShape: [16, 4, 1, 1], storage: [Float](repeating: 0, count: 64))
        try SafeTensorsWriter.write(missing, to: weights)
        XCTAssertThrowsError(try StandaloneTinyDecoder.load(dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing tensor 'decoder.layers.3.conv.2.bias'"), text)
            XCTAssertTrue(text.contains("unused tensor 'decoder.extra.weight'"), text)
            XCTAssertTrue(text.contains("'decoder.layers.0.weight' has shape [16, 4, 1, 1]"), text)
        }
    }

    func testRefusesAFullVAEAndOtherLatentSpaces() throws {
        let vaeFolder = ModelFixtures.root.appendingPathComponent("tiny-a/vae")
        if FileManager.default.fileExists(atPath: vaeFolder.path) {
            XCTAssertThrowsError(try StandaloneTinyDecoder.load(vaeFolder)) { error in
                XCTAssertTrue("\(error)".contains("not an AutoencoderTiny"), "\(error)")
            }
        }
        let encoderFile = FileManager.default.temporaryDirectory.appendingPathComponent("taesd_encoder-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: encoderFile) }
        try SafeTensorsWriter.write(["0.weight": Tensor(uncheckedShape: [1, 3, 1, 1], storage: [1, 2, 3])], to: encoderFile)
        XCTAssertThrowsError(try StandaloneTinyDecoder.load(encoderFile)) { error in
            XCTAssertTrue("\(error)".contains("looks like a TAESD encoder"), "\(error)")
        }
        let decoder = try StandaloneTinyDecoder.load(fixture("small"))
        XCTAssertThrowsError(try decoder.decode(Tensor(uncheckedShape: [1, 3, 2, 2], storage: [Float](repeating: 0, count: 12))))
    }
}
