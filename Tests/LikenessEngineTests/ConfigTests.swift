// Configs decode with diffusers/transformers key names, take library defaults for absent
// keys, ignore unknown keys, and name the field in errors.

import Foundation
import XCTest
@testable import LikenessEngine

final class ConfigTests: XCTestCase {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    func testCLIPDefaultsAndUnknownKeys() throws {
        let c = try decode(CLIPTextConfig.self, #"{"hidden_size": 768, "some_future_key": [1, 2], "hidden_act": "gelu"}"#)
        XCTAssertEqual(c.hidden_size, 768)
        XCTAssertEqual(c.hidden_act, "gelu")
        XCTAssertEqual(c.vocab_size, 49408)
        XCTAssertEqual(c.max_position_embeddings, 77)
        XCTAssertEqual(c.num_hidden_layers, 12)
        XCTAssertEqual(c.layer_norm_eps, 1e-5)
        let d = try decode(CLIPTextConfig.self, "{}")
        XCTAssertEqual(d.hidden_act, "quick_gelu")
        XCTAssertEqual(d, CLIPTextConfig())
    }

    func testUNetDefaultsAndIntOrList() throws {
        let c = try decode(UNet2DConditionConfig.self, #"{"attention_head_dim": [5, 10, 20, 20], "use_linear_projection": true, "_class_name": "UNet2DConditionModel"}"#)
        XCTAssertEqual(c.attention_head_dim, .list([5, 10, 20, 20]))
        XCTAssertTrue(c.use_linear_projection)
        XCTAssertEqual(c.block_out_channels, [320, 640, 1280, 1280])
        XCTAssertEqual(c.layers_per_block, .int(2))
        XCTAssertEqual(c.cross_attention_dim, .int(1280))
        XCTAssertEqual(c.norm_eps, 1e-5)
        XCTAssertEqual(c.mid_block_type, "UNetMidBlock2DCrossAttn")
        XCTAssertTrue(c.flip_sin_to_cos)
        XCTAssertEqual(c.freq_shift, 0)
        let plan = try UNetPlan(c, file: "unet/config.json")
        XCTAssertEqual(plan.heads, [5, 10, 20, 20]) // attention_head_dim is the head count, as in diffusers
        XCTAssertEqual(plan.timeEmbedDim, 1280)
        let none = try decode(UNet2DConditionConfig.self, #"{"mid_block_type": null}"#)
        XCTAssertNil(none.mid_block_type)
    }

    func testUNetRejectsUnsupportedOptionsNamingField() throws {
        let c = try decode(UNet2DConditionConfig.self, #"{"addition_embed_type": "text_time"}"#)
        XCTAssertThrowsError(try UNetPlan(c, file: "unet/config.json")) { e in
            XCTAssertEqual((e as? ConfigError)?.field, "addition_embed_type")
            XCTAssertTrue(String(describing: e).hasPrefix("unet/config.json: field 'addition_embed_type'"))
        }
        let heads = try decode(UNet2DConditionConfig.self, #"{"num_attention_heads": 8}"#)
        XCTAssertThrowsError(try UNetPlan(heads, file: "unet/config.json")) { e in
            XCTAssertEqual((e as? ConfigError)?.field, "num_attention_heads")
        }
        let list = try decode(UNet2DConditionConfig.self, #"{"attention_head_dim": [1, 2]}"#)
        XCTAssertThrowsError(try UNetPlan(list, file: "unet/config.json")) { e in
            XCTAssertEqual((e as? ConfigError)?.field, "attention_head_dim")
        }
    }

    func testVAEDefaults() throws {
        let c = try decode(AutoencoderKLConfig.self, #"{"block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D","DownEncoderBlock2D","DownEncoderBlock2D","DownEncoderBlock2D"]}"#)
        XCTAssertEqual(c.scaling_factor, 0.18215)
        XCTAssertEqual(c.latent_channels, 4)
        XCTAssertTrue(c.use_quant_conv)
        XCTAssertTrue(c.mid_block_add_attention)
        XCTAssertNil(c.shift_factor)
        XCTAssertEqual(c.layers_per_block, 1)
    }

    func testTypeErrorNamesFileAndField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-cfg-\(UUID().uuidString)/vae")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        try Data(#"{"latent_channels": "four"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try AutoencoderKL(folder: dir)) { e in
            let err = e as? ConfigError
            XCTAssertEqual(err?.file, "vae/config.json")
            XCTAssertEqual(err?.field, "latent_channels")
        }
        try Data("not json".utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try AutoencoderKL(folder: dir)) { e in
            XCTAssertEqual((e as? ConfigError)?.file, "vae/config.json")
        }
    }
}
