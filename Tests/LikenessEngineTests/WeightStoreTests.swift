// Strict loading: missing, unused and wrong-shaped tensors are all reported by name.

import Foundation
import XCTest
@testable import LikenessEngine

final class WeightStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-ws-\(UUID().uuidString)/unet")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir.deletingLastPathComponent())
    }

    func store(_ tensors: [String: Tensor]) throws -> WeightStore {
        let url = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")
        try SafeTensorsWriter.write(tensors, to: url)
        return try WeightStore(url: url)
    }

    func loadLinear(_ s: WeightStore) throws -> Linear {
        try Linear(s.root["down_blocks"][0]["proj"], inFeatures: 3, outFeatures: 2)
    }

    func testCompleteLoadPasses() throws {
        let s = try store(["down_blocks.0.proj.weight": Tensor(zeros: [2, 3]), "down_blocks.0.proj.bias": Tensor(zeros: [2])])
        let l = try loadLinear(s)
        XCTAssertEqual(l.weight.shape, [2, 3])
        XCTAssertNoThrow(try s.finish())
    }

    func testMissingTensor() throws {
        let s = try store(["down_blocks.0.proj.weight": Tensor(zeros: [2, 3])])
        _ = try loadLinear(s)
        XCTAssertThrowsError(try s.finish()) { e in
            guard let err = e as? WeightLoadError else { return XCTFail("\(e)") }
            XCTAssertEqual(err.problems, [.missing(tensor: "down_blocks.0.proj.bias", expectedShape: [2])])
            XCTAssertTrue(err.description.contains("unet/diffusion_pytorch_model.safetensors: missing tensor 'down_blocks.0.proj.bias'"), err.description)
        }
    }

    func testUnusedTensor() throws {
        let s = try store(["down_blocks.0.proj.weight": Tensor(zeros: [2, 3]), "down_blocks.0.proj.bias": Tensor(zeros: [2]),
                           "down_blocks.0.foo.weight": Tensor(zeros: [1])])
        _ = try loadLinear(s)
        XCTAssertThrowsError(try s.finish()) { e in
            let text = String(describing: e)
            XCTAssertTrue(text.contains("unet/diffusion_pytorch_model.safetensors: unused tensor 'down_blocks.0.foo.weight'"), text)
            XCTAssertEqual((e as? WeightLoadError)?.problems.count, 1)
        }
    }

    func testWrongShape() throws {
        let s = try store(["down_blocks.0.proj.weight": Tensor(zeros: [3, 2]), "down_blocks.0.proj.bias": Tensor(zeros: [2])])
        _ = try loadLinear(s)
        XCTAssertThrowsError(try s.finish()) { e in
            XCTAssertEqual((e as? WeightLoadError)?.problems,
                           [.wrongShape(tensor: "down_blocks.0.proj.weight", expected: [2, 3], actual: [3, 2])])
            XCTAssertTrue(String(describing: e).contains("'down_blocks.0.proj.weight' has shape [3, 2], expected [2, 3]"))
        }
    }

    func testAliasIsAccepted() throws {
        let s = try store(["attn.query.weight": Tensor(repeating: 1, shape: [2, 2])])
        let t = try s.root["attn"].tensor("to_q.weight", shape: [2, 2], aliases: ["query.weight"])
        XCTAssertEqual(t.storage, [1, 1, 1, 1])
        XCTAssertNoThrow(try s.finish())
    }

    func testModelFolderRejectsExtraTensor() throws {
        // A real model folder with one tensor added: loading must fail naming it.
        let source = try ModelFixtures.url("tiny-a/unet")
        let copy = dir.deletingLastPathComponent().appendingPathComponent("copy/unet")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: copy)
        let weights = copy.appendingPathComponent("diffusion_pytorch_model.safetensors")
        let file = try SafeTensorsFile(url: weights)
        var all: [String: Tensor] = [:]
        for name in file.names { all[name] = try file.tensor(named: name) }
        all["down_blocks.0.foo.weight"] = Tensor(zeros: [4])
        all["conv_in.bias"] = nil
        try SafeTensorsWriter.write(all, to: weights)
        XCTAssertThrowsError(try UNet2DConditionModel(folder: copy)) { e in
            let text = String(describing: e)
            XCTAssertTrue(text.contains("unet/diffusion_pytorch_model.safetensors: unused tensor 'down_blocks.0.foo.weight'"), text)
            XCTAssertTrue(text.contains("missing tensor 'conv_in.bias'"), text)
        }
    }
}
