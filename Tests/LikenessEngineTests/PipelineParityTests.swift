// The whole generation pipeline against the kit's reference pipeline
// (Training/likeness_train/pipeline.py) and diffusers StableDiffusionPipeline on two tiny model
// folders written by scripts/fixtures/pipeline.py: toy-a (WordLevel, input_embedding K=3, DDIM
// "leading" epsilon, F32, unprefixed text weights) and toy-b (CLIP BPE, hidden_state K=2, DDIM
// "trailing" v_prediction, F16, "text_model."-prefixed text weights).
// Object tokens and conditionings: max-abs <= 1e-4 x max(1, |reference|). Images: PSNR >= 40 dB
// against the reference (and, for text-only cases, against diffusers), every case printed.

import Foundation
import XCTest
@testable import LikenessEngine

final class PipelineParityTests: XCTestCase {
    func testFoldersLoadAsDescribed() throws {
        for name in PipelineFixtures.folders {
            let meta = try PipelineFixtures.meta(name)
            let pipe = try PipelineFixtures.pipeline(name)
            XCTAssertEqual(pipe.textEncoder.layout, meta.text_prefixed ? .prefixed : .unprefixed, name)
            XCTAssertEqual(pipe.objectEncoder?.injection.rawValue, meta.injection, name)
            XCTAssertEqual(pipe.objectEncoder?.tokenCount, meta.num_tokens, name)
            XCTAssertEqual(pipe.promptEncoder.maxLength, meta.max_length, name)
            XCTAssertEqual(pipe.promptEncoder.placeholder, meta.placeholder, name)
            XCTAssertEqual(pipe.defaultSize, meta.default_size, name)
            XCTAssertNotNil(pipe.preview, "\(name): preview/latent_rgb.json not loaded")
            XCTAssertEqual(pipe.objectEncoder?.slot_embedding != nil, meta.injection == "hidden_state", name)
            let info = try ModelInfo.inspect(folder: PipelineFixtures.url(name))
            XCTAssertEqual(Set(info.components.map(\.name)), ["text_encoder", "unet", "vae", "object_encoder"], name)
            for c in info.components {
                // Floating-point weights are stored in the folder's dtype (toy-b's text encoder also has the int64 position_ids).
                XCTAssertEqual(Set(c.dtypes.keys).subtracting(["I64"]), [meta.dtype], "\(name) \(c.name): \(c.dtypes)")
            }
            XCTAssertEqual(info.tokenizerKind, name == "toy-a" ? "WordLevel" : "BPE", name)
        }
    }

    func testObjectTokens() throws {
        for name in PipelineFixtures.folders {
            let pipe = try PipelineFixtures.pipeline(name)
            let ref = try PipelineFixtures.expected(name)
            for key in ["reference", "reference2"] {
                let tokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.\(key)"))
                assertClose(tokens, try ref.tensor(named: "tokens.\(key)"), "\(name) object tokens (\(key))")
            }
        }
    }

    func testPromptConditionings() throws {
        for name in PipelineFixtures.folders {
            let pipe = try PipelineFixtures.pipeline(name)
            let ref = try PipelineFixtures.expected(name)
            let meta = try PipelineFixtures.meta(name)
            let tokens = try pipe.encodeObject(pixels: ref.tensor(named: "pixels.reference"))
            let enc = pipe.promptEncoder

            let (text, _) = try enc.encode(meta.text_prompt, objectTokens: nil)
            assertClose(text, try ref.tensor(named: "cond.text.e_t"), "\(name) text prompt conditioning")

            var prompts = [("object", meta.object_prompt, false), ("truncation", meta.truncation_prompt, true)]
            if let edit = meta.edit_prompt { prompts.append(("edit", edit, false)) }
            let wordSlots = pipe.objectEncoder?.config.word_slots ?? []
            XCTAssertEqual(meta.edit_prompt != nil, !wordSlots.isEmpty, "\(name): an edit case exactly when the encoder has word slots")
            for (key, prompt, truncate) in prompts {
                guard let slotsRef = meta.conditionings[key] else { return XCTFail("\(name): conditionings.\(key) missing") }
                let nullPrompt = prompt.replacingOccurrences(of: meta.placeholder, with: meta.null_word)
                let (eU, _) = try enc.encode(meta.negative_prompt, objectTokens: nil, allowTruncation: truncate)
                let (eT, _) = try enc.encode(nullPrompt, objectTokens: nil, allowTruncation: truncate)
                let edits = try enc.wordSlotEdits(in: prompt, slots: wordSlots)
                if let expected = slotsRef.word_slot_edits {
                    XCTAssertEqual(edits.map { [PipelineFixtureMeta.JSONScalar.int($0.slot), .string($0.word)] }, expected,
                                   "\(name) \(key): word slot edits")
                    XCTAssertFalse(edits.isEmpty, "\(name) \(key): the edit prompt sets no slot")
                } else {
                    XCTAssertTrue(edits.isEmpty, "\(name) \(key): unexpected word slot edits \(edits)")
                }
                let (eO, slots) = try enc.encode(prompt, objectTokens: try enc.applyingWordSlots(edits, to: tokens),
                                                 allowTruncation: truncate)
                XCTAssertEqual(slots.ids, slotsRef.ids, "\(name) \(key): slot ids")
                XCTAssertEqual(slots.slotStart, slotsRef.slot_start, "\(name) \(key): slot start")
                XCTAssertEqual(slots.droppedTokens > 0, !slotsRef.warnings.isEmpty, "\(name) \(key): truncation")
                assertClose(eU, try ref.tensor(named: "cond.\(key).e_u"), "\(name) \(key) e_uncond")
                assertClose(eT, try ref.tensor(named: "cond.\(key).e_t"), "\(name) \(key) e_text")
                assertClose(eO, try ref.tensor(named: "cond.\(key).e_o"), "\(name) \(key) e_text+obj")
            }
        }
    }

    func testToyAGenerations() throws { try checkGenerations("toy-a") }
    func testToyBGenerations() throws { try checkGenerations("toy-b") }

    /// Every case of the folder: Swift image vs the reference pipeline (PSNR >= 40 dB); text-only
    /// cases also vs diffusers StableDiffusionPipeline (the no-op property of the object conditioning).
    func checkGenerations(_ name: String) throws {
        let pipe = try PipelineFixtures.pipeline(name)
        let ref = try PipelineFixtures.expected(name)
        let meta = try PipelineFixtures.meta(name)
        XCTAssertGreaterThanOrEqual(meta.cases.count, 13, "\(name): fewer cases than the fixture script writes")
        var diffusersCases = 0
        for c in meta.cases {
            let label = "\(name) \(c.name)"
            let request = try c.request(pipeline: pipe, expected: ref)
            let result = try pipe.generate(request)
            XCTAssertEqual(result.image.shape, [1, 3, c.height, c.width], label)
            assertPSNR(result.image, try ref.tensor(named: c.image), label + " vs reference pipeline")
            assertClose(result.finalLatents, try ref.tensor(named: c.latents), label + " final latents", relTol: 1e-3)
            if let key = c.diffusers {
                assertPSNR(result.image, try ref.tensor(named: key), label + " vs diffusers StableDiffusionPipeline")
                diffusersCases += 1
            }
            if c.allow_truncation {
                XCTAssertFalse(result.warnings.isEmpty, "\(label): truncation without a warning")
                XCTAssertTrue(result.warnings.allSatisfy { $0.contains("truncated") }, "\(label): \(result.warnings)")
            } else {
                XCTAssertEqual(result.warnings, [], label)
            }
            // The PNG bytes are the image through diffusers' postprocess.
            XCTAssertEqual(result.pixels, rgbPixels(fromImage: result.image), label)
        }
        XCTAssertGreaterThanOrEqual(diffusersCases, 6, "\(name): text-only cases against diffusers")
    }
}
