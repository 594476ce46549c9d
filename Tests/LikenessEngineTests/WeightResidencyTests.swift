// Which weights a pipeline keeps resident (WeightResidency) and the token embedding read from the
// file's mapping: the images are bit for bit those of a pipeline that keeps everything, job after
// job, while the parts given back are not resident between jobs.

import Foundation
import XCTest
@testable import LikenessEngine

final class WeightResidencyTests: XCTestCase {
    /// An F16 (and an F32) table read through `Embedding(mapped: true)` gives the rows a float32
    /// copy gives, exactly; the F16 one is not copied (its `weight` is widened on request).
    func testMappedEmbeddingEqualsTheLoadedTable() throws {
        var g = TorchGenerator(seed: 3)
        let table = Tensor(shape: [50, 12], storage: g.randn(600))!
        let ids = [[0, 49, 7, 7], [3, 1, 2, 48]]
        for dtype in [SafeTensorsWriter.StoredType.f16, .f32] {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("emb-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try SafeTensorsWriter.write(["e.weight": table], to: url, dtype: dtype)
            let heldStore = try WeightStore(url: url), mappedStore = try WeightStore(url: url)
            let held = try Embedding(heldStore.root["e"], count: 50, dim: 12)
            let mapped = try Embedding(mappedStore.root["e"], count: 50, dim: 12, mapped: true)
            try heldStore.finish()
            try mappedStore.finish() // the mapped table counts as used
            XCTAssertEqual(try mapped(ids), try held(ids), "\(dtype)")
            XCTAssertEqual(mapped.weight, held.weight, "\(dtype)")
            XCTAssertEqual(try held(ids).shape, [2, 4, 12])
            XCTAssertThrowsError(try mapped([[50]]), "an id past the table")
        }
    }

    /// The studio's residency (`keepDenoiser`), at fp32 and bf16: after each job the text encoder's
    /// matrices are given back and the UNet's kept; the VAE encoder's are given back as soon as it
    /// is set and again after each image-to-image job. Every image equals a pipeline's that keeps
    /// everything, text-to-image and image-to-image, job after job.
    func testKeepingTheDenoiserGivesTheSameImages() throws {
        let ref = try SafeTensorsFile(url: ImageToImageFixtures.url("expected.safetensors"))
        let folder = try ImageToImageFixtures.url("toy-i2i")
        var plain = GenerationRequest(prompt: "a large red star on the beach")
        plain.steps = 3
        plain.width = 256
        plain.height = 256
        plain.seeds = [5]
        var i2i = plain
        i2i.initImage = try ref.tensor(named: "pixels.init")
        i2i.strength = 0.6
        for precision in [ComputePrecision.fp32, .bf16] {
            let full = try LikenessPipeline(model: folder, precision: precision)
            let expected = [try full.generate(plain).image, try full.generate(i2i).image]
            XCTAssertTrue((full.matrices.textEncoder + full.matrices.unet + full.vae.encoderMatrices).allSatisfy(\.isResident))
            let pipe = try LikenessPipeline(model: folder, precision: precision)
            XCTAssertFalse(pipe.vae.encoderMatrices.isEmpty)
            pipe.weightResidency = .keepDenoiser
            XCTAssertFalse(pipe.vae.encoderMatrices.contains(where: \.isResident), "\(precision): VAE encoder kept once set")
            for run in 0..<2 {
                for (i, request) in [plain, i2i].enumerated() {
                    pipe.conditioning.removeAll() // every job encodes its prompt with the text encoder
                    let image = try pipe.generate(request).image
                    XCTAssertEqual(image, expected[i], "\(precision) run \(run) job \(i)")
                    XCTAssertFalse(pipe.matrices.textEncoder.contains(where: \.isResident), "\(precision): text encoder kept")
                    XCTAssertTrue(pipe.matrices.unet.allSatisfy(\.isResident), "\(precision): UNet given back")
                    XCTAssertFalse(pipe.vae.encoderMatrices.contains(where: \.isResident), "\(precision): VAE encoder kept")
                }
            }
        }
    }
}
