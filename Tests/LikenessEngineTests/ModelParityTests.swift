// CLIP text encoder, UNet and VAE forwards against diffusers/transformers references for
// both tiny configurations (scripts/fixtures/ops_models.py): tiny-a (F32, prefixed text
// weights, gelu, conv projections, int heads, 2 layers per block) and tiny-b (F16,
// unprefixed, quick_gelu, linear projections, per-block heads, 1 layer per block).

import Foundation
import XCTest
@testable import LikenessEngine

final class ModelParityTests: XCTestCase {
    static let configs = ["tiny-a", "tiny-b"]

    func expected(_ name: String) throws -> (SafeTensorsFile, [String: Any]) {
        (try ModelFixtures.tensors("\(name)/expected.safetensors"), try ModelFixtures.json("\(name)/expected.json"))
    }

    func testTextEncoder() throws {
        for name in Self.configs {
            let (ref, meta) = try expected(name)
            let model = try CLIPTextModel(folder: try ModelFixtures.url("\(name)/text_encoder"))
            let prefixed = meta["text_prefixed"] as? Bool ?? false
            XCTAssertEqual(model.layout, prefixed ? .prefixed : .unprefixed, name)
            guard let ids = meta["input_ids"] as? [[Int]] else { return XCTFail("\(name): input_ids missing") }

            assertClose(try model(ids: ids), try ref.tensor(named: "text.last_hidden_state"), "\(name) text last_hidden_state")
            assertClose(try model(ids: ids, clipSkip: 1), try ref.tensor(named: "text.penultimate_hidden_state"),
                        "\(name) text penultimate (clip_skip 1)")
            let embeds = try ref.tensor(named: "text.inputs_embeds")
            assertClose(try model(inputEmbeddings: embeds), try ref.tensor(named: "text.from_embeds"), "\(name) text from input embeddings")

            // tokenEmbeddings + forward equals the ids path.
            let viaEmbeddings = try model(inputEmbeddings: model.tokenEmbeddings(ids: ids))
            XCTAssertEqual(viaEmbeddings, try model(ids: ids))
            XCTAssertThrowsError(try model.tokenEmbeddings(ids: [[model.config.vocab_size]]))
        }
    }

    func testUNet() throws {
        for name in Self.configs {
            let (ref, meta) = try expected(name)
            let model = try UNet2DConditionModel(folder: try ModelFixtures.url("\(name)/unet"))
            let t = Float(meta["timestep"] as? Double ?? -1)
            let out = try model(sample: try ref.tensor(named: "unet.sample"), timestep: t,
                                encoderHiddenStates: try ref.tensor(named: "unet.encoder_hidden_states"))
            assertClose(out, try ref.tensor(named: "unet.out"), "\(name) unet")

            // A latent size that is not a multiple of 2^upsamplers uses diffusers' explicit upsample sizes.
            let context = try ref.tensor(named: "unet.encoder_hidden_states")
            let first = Tensor(shape: [1] + Array(context.shape.dropFirst()), storage: Array(context.storage.prefix(context.count / 2)))!
            let odd = try model(sample: try ref.tensor(named: "unet.odd_sample"), timestep: t, encoderHiddenStates: first)
            assertClose(odd, try ref.tensor(named: "unet.odd_out"), "\(name) unet odd size")

            XCTAssertThrowsError(try model(sample: Tensor(zeros: [1, 3, 8, 8]), timestep: t, encoderHiddenStates: first))
        }
    }

    func testVAE() throws {
        for name in Self.configs {
            let (ref, _) = try expected(name)
            let model = try AutoencoderKL(folder: try ModelFixtures.url("\(name)/vae"))
            let dist = try model.encode(try ref.tensor(named: "vae.image"))
            assertClose(dist.mean, try ref.tensor(named: "vae.mean"), "\(name) vae encode mean")
            assertClose(dist.logvar, try ref.tensor(named: "vae.logvar"), "\(name) vae encode logvar")
            let latent = try ref.tensor(named: "vae.latent")
            assertClose(try model.decode(latent), try ref.tensor(named: "vae.decoded"), "\(name) vae decode")

            // Images smaller than the downscale factor are refused, not crashed on.
            XCTAssertThrowsError(try model.encode(Tensor(zeros: [1, 3, 1, model.downscaleFactor])))
            XCTAssertNoThrow(try model.encode(Tensor(zeros: [1, 3, model.downscaleFactor, model.downscaleFactor + 1])))
            XCTAssertThrowsError(try model.decode(Tensor(zeros: [1, 3, 8, 8])))

            // decode(diffusionLatents:) divides by scaling_factor first.
            let scaled = model.diffusionLatents(fromVAELatents: latent)
            assertClose(try model.decode(diffusionLatents: scaled), try ref.tensor(named: "vae.decoded"), "\(name) vae decode scaled")
        }
    }
}
