// LoRA files against diffusers' load_lora_weights + fuse_lora(lora_scale=w) on the same files
// (scripts/fixtures/single_file.py): a kohya LoRA (rank 4, alpha 2; attention, 1x1 and 3x3
// convolutions, text encoder) at 0.5 and 1.0, a PEFT LoRA (rank 2, UNet and text encoder) at
// 1.0, and both at once. Text states and UNet outputs max-abs <= 1e-4 x max(1, |reference|),
// 2-step generations PSNR >= 40 dB, on the sd1 folder and on the sd1 single file. Loading
// again without LoRAs gives the original weights. LoRAs that do not fit: clear errors.
// Switching LoRAs or weights between jobs of one engine (merged in place, originals read again
// from the file) gives bit for bit the image of a fresh load with those LoRAs, rewriting only the
// tensors the LoRAs touch; a LoRA that does not fit leaves the weights as they were. At bf16
// (the UNet's weights held as packed bfloat16) switching 0.5 -> 1.0 -> none also equals a fresh
// bf16 load bit for bit, and the LoRA changes the image. A pipeline that gives its weights back
// after use keeps them while a LoRA is merged, and a merge into weights given back equals the first.

import Foundation
import XCTest
@testable import LikenessEngine

final class LoRATests: XCTestCase {
    struct Meta: Decodable {
        struct LoRA: Decodable { let model: String; let sampler: String; let cases: [String: [[Entry]]] }
        enum Entry: Decodable {
            case name(String), weight(Float)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .name(s) } else { self = .weight(try c.decode(Float.self)) }
            }
        }
        let prompt: String
        let negative_prompt: String
        let lora: LoRA
    }

    func testMatchesDiffusersFuseLoRA() throws {
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: SingleFileFixtures.url("expected.json")))
        let ref = try SafeTensorsFile(url: SingleFileFixtures.url("expected.safetensors"))
        let latents = try ref.tensor(named: "latents.in")
        XCTAssertEqual(Set(meta.lora.cases.keys), ["kohya-0.5", "kohya-1", "peft-1", "both"])
        for (name, entries) in meta.lora.cases.sorted(by: { $0.key < $1.key }) {
            let loras = try entries.map { e -> LoRAApplication in
                guard case let .name(n) = e[0], case let .weight(w) = e[1] else { throw CocoaError(.coderReadCorrupt) }
                return LoRAApplication(url: try SingleFileFixtures.url("\(n).safetensors"), weight: w)
            }
            for model in ["sd1", "sd1.safetensors"] {
                let label = "LoRA \(name) on \(model)"
                let pipe = try LikenessPipeline(model: SingleFileFixtures.url(model), loras: loras)
                XCTAssertEqual(pipe.loras, loras)
                let ids = try ref.tensor(named: "ids.sd1").storage.map { Int($0) }
                let text = try pipe.textEncoder(ids: [ids])
                assertClose(text, try ref.tensor(named: "text.lora.\(name)"), label + " text encoder")
                assertClose(try pipe.unet(sample: latents, timestep: 500, encoderHiddenStates: text),
                            try ref.tensor(named: "unet.lora.\(name)"), label + " UNet")
                let request = try self.request(meta, loras: nil) // nil: the LoRAs the pipeline loaded with
                assertPSNR(try pipe.generate(request).image, try ref.tensor(named: "image.lora.\(name)"), label + " 2-step generation")
            }
        }
        // Without LoRAs the same file gives the original model again.
        let plain = try LikenessPipeline(model: SingleFileFixtures.url("sd1.safetensors"))
        let ids = try ref.tensor(named: "ids.sd1").storage.map { Int($0) }
        assertClose(try plain.textEncoder(ids: [ids]), try ref.tensor(named: "text.sd1"), "no LoRA text encoder")
    }

    func testLoRAsThatDoNotFitAreNamed() throws {
        func expectError(_ body: () throws -> Void, contains words: [String], _ label: String) {
            do { try body(); XCTFail("\(label): loaded") } catch {
                for w in words { XCTAssertTrue("\(error)".contains(w), "\(label): \(error)") }
            }
        }
        let kohya = LoRAApplication(url: try SingleFileFixtures.url("lora-kohya.safetensors"), weight: 1)
        // Made for sd1 (text width 64 both, but other UNet channels and 23 text layers): sd2 does not fit.
        expectError({ _ = try LikenessPipeline(model: SingleFileFixtures.url("sd2.safetensors"), loras: [kohya]) },
                    contains: ["LoRA lora-kohya", "another model"], "sd1 LoRA on sd2")
        expectError({ _ = try LoRAFile(url: SingleFileFixtures.url("sd1.safetensors")) }, contains: ["not a LoRA"], "model as LoRA")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-lora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let xl = dir.appendingPathComponent("xl.safetensors")
        try SafeTensorsWriter.write(["lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": Tensor(zeros: [2, 2]),
                                     "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": Tensor(zeros: [2, 2])], to: xl)
        expectError({ _ = try LoRAFile(url: xl) }, contains: ["Stable Diffusion XL"], "SDXL LoRA")
        let loha = dir.appendingPathComponent("loha.safetensors")
        try SafeTensorsWriter.write(["lora_unet_conv_in.hada_w1_a": Tensor(zeros: [2, 2]), "lora_unet_conv_in.lora_down.weight": Tensor(zeros: [2, 2]),
                                     "lora_unet_conv_in.lora_up.weight": Tensor(zeros: [2, 2])], to: loha)
        expectError({ _ = try LoRAFile(url: loha) }, contains: ["hada_w1_a", "not supported"], "LoHa")
        let pickle = dir.appendingPathComponent("lora.pt")
        try Data([0x80, 0x02]).write(to: pickle)
        expectError({ _ = try LoRAFile(url: pickle) }, contains: ["never unpickles"], "pickle")
    }

    private func request(_ meta: Meta, loras: [LoRAApplication]?) throws -> GenerationRequest {
        var request = GenerationRequest(prompt: meta.prompt)
        request.negativePrompt = meta.negative_prompt
        request.seeds = [7]
        request.steps = 2
        request.textGuidance = 5
        request.sampler = try SamplerKind(parsing: meta.lora.sampler)
        request.width = 64
        request.height = 64
        request.preview = .none
        request.loras = loras
        return request
    }

    private func run(_ engine: GenerationEngine, _ request: GenerationRequest) throws -> Result<GenerationResult, JobError> {
        let box = ResultBox()
        engine.submit(request) { event in
            if case .finished(let r) = event { box.set(.success(r)) }
            if case .failed(let e) = event { box.set(.failure(e)) }
        }.wait()
        return try XCTUnwrap(box.value)
    }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Result<GenerationResult, JobError>?
        func set(_ r: Result<GenerationResult, JobError>) { lock.lock(); stored = r; lock.unlock() }
        var value: Result<GenerationResult, JobError>? { lock.lock(); defer { lock.unlock() }; return stored }
    }

    func testSwitchingLoRAsBetweenJobsEqualsAFreshLoad() throws {
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: SingleFileFixtures.url("expected.json")))
        let model = try SingleFileFixtures.url("sd1.safetensors")
        let kohya = try SingleFileFixtures.url("lora-kohya.safetensors"), peft = try SingleFileFixtures.url("lora-peft.safetensors")
        let pipe = try LikenessPipeline(model: model)
        let engine = GenerationEngine(pipeline: pipe, threads: 2, workerNice: 0)
        let ckpt = try XCTUnwrap(pipe.checkpoint)
        let modelTensors = try ckpt.unetSource().names.count + ckpt.textSource().names.count
        // Tensors each LoRA touches (UNet and text encoder).
        func touched(_ url: URL) throws -> Set<String> {
            let f = try LoRAFile(url: url)
            return Set(try f.targets(for: .unet, source: ckpt.unetSource()).map { "unet:" + $0.name }
                + f.targets(for: .textEncoder, source: ckpt.textSource()).map { "te:" + $0.name })
        }
        let kohyaTensors = try touched(kohya), peftTensors = try touched(peft)
        XCTAssertGreaterThan(kohyaTensors.count, 0)
        XCTAssertLessThan(kohyaTensors.union(peftTensors).count, modelTensors)

        let steps: [(String, [LoRAApplication], Set<String>)] = [
            ("kohya 0.5", [LoRAApplication(url: kohya, weight: 0.5)], kohyaTensors),
            ("kohya 1.0", [LoRAApplication(url: kohya, weight: 1)], kohyaTensors),
            ("none", [], kohyaTensors),
            ("kohya 1.0 + peft 0.5", [LoRAApplication(url: kohya, weight: 1), LoRAApplication(url: peft, weight: 0.5)], kohyaTensors.union(peftTensors)),
            ("kohya 0.5 again", [LoRAApplication(url: kohya, weight: 0.5)], kohyaTensors.union(peftTensors)),
        ]
        var previous: Tensor?
        for (label, loras, rewritten) in steps {
            let before = pipe.loraTensorsRewritten
            let switched = try run(engine, request(meta, loras: loras)).get()
            XCTAssertEqual(pipe.loras, loras, label)
            // Only the tensors the old or the new set touches are rewritten: no reload.
            XCTAssertEqual(pipe.loraTensorsRewritten - before, rewritten.count, label + ": tensors rewritten")
            let fresh = try LikenessPipeline(model: model, loras: loras).generate(request(meta, loras: nil))
            let diff = try XCTUnwrap(switched.image.maxAbsDifference(fresh.image))
            XCTAssertEqual(diff, 0, label + ": switched between jobs vs a fresh load, max-abs")
            if let previous { XCTAssertGreaterThan(try XCTUnwrap(previous.maxAbsDifference(switched.image)), 1e-4, label + ": the LoRAs change the image") }
            previous = switched.image
        }
        // The same set again: no merge at all; nil keeps the merged set.
        let before = pipe.loraTensorsRewritten
        let again = try run(engine, request(meta, loras: steps.last!.1)).get()
        let kept = try run(engine, request(meta, loras: nil)).get()
        XCTAssertEqual(pipe.loraTensorsRewritten, before, "no rewrite for an unchanged set")
        XCTAssertEqual(again.image.maxAbsDifference(previous!), 0)
        XCTAssertEqual(kept.image.maxAbsDifference(previous!), 0)
        // The same LoRAs in either order give the same weights.
        let pair = [LoRAApplication(url: kohya, weight: 1), LoRAApplication(url: peft, weight: 0.5)]
        let forward = try run(engine, request(meta, loras: pair)).get()
        let backward = try run(engine, request(meta, loras: pair.reversed())).get()
        XCTAssertEqual(forward.image.maxAbsDifference(backward.image), 0, "LoRA order")
    }

    /// At bf16 the UNet's linear and convolution weights are held as packed bfloat16 (no float32
    /// copy): a merge converts the merged float32 values into those matrices, as a load does, so
    /// switching gives bit for bit the image of a fresh bf16 load with the same LoRAs.
    func testSwitchingLoRAsAtBF16EqualsAFreshBF16Load() throws {
        try XCTSkipUnless(ComputePrecision.bf16Supported, "this CPU has no bfloat16 kernel (neither AVX512-BF16 nor AVX2): bf16 runs as fp32")
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: SingleFileFixtures.url("expected.json")))
        let model = try SingleFileFixtures.url("sd1.safetensors")
        let kohya = try SingleFileFixtures.url("lora-kohya.safetensors")
        let pipe = try LikenessPipeline(model: model, precision: .bf16)
        XCTAssertEqual(pipe.unet.precision, .bf16)
        // The UNet's GEMM weights are kept for merging as the layers' bfloat16 matrices, not as float32 copies.
        let store = WeightStore(source: try XCTUnwrap(pipe.checkpoint).unetSource())
        store.keepsTaken = true
        store.precision = .bf16
        _ = try UNet2DConditionModel(config: try XCTUnwrap(pipe.checkpoint).unetConfig, weights: store)
        let held = store.taken.values
        XCTAssertGreaterThan(held.filter { if case .gemm(.bf16) = $0 { return true } else { return false } }.count, 0)
        XCTAssertEqual(held.filter { if case .fp32(let t) = $0 { return t.rank >= 2 } else { return false } }.count, 0,
                       "a float32 copy of a 2-D or 4-D weight kept at bf16")

        let engine = GenerationEngine(pipeline: pipe, threads: 2, workerNice: 0)
        let plain = try run(engine, request(meta, loras: [])).get()
        var images: [String: Tensor] = [:]
        for (label, loras) in [("kohya 0.5", [LoRAApplication(url: kohya, weight: 0.5)]),
                               ("kohya 1.0", [LoRAApplication(url: kohya, weight: 1)]),
                               ("none", [LoRAApplication]())] {
            let switched = try run(engine, request(meta, loras: loras)).get()
            XCTAssertEqual(pipe.loras, loras, label)
            let fresh = try LikenessPipeline(model: model, loras: loras, precision: .bf16).generate(request(meta, loras: nil))
            XCTAssertEqual(try XCTUnwrap(switched.image.maxAbsDifference(fresh.image)), 0,
                           label + ": switched between jobs vs a fresh bf16 load, max-abs")
            images[label] = switched.image
        }
        XCTAssertEqual(images["none"]!.maxAbsDifference(plain.image), 0, "back to no LoRA: the loaded weights")
        for label in ["kohya 0.5", "kohya 1.0"] {
            XCTAssertGreaterThan(try XCTUnwrap(images[label]!.maxAbsDifference(plain.image)), 1e-3, label + ": the LoRA changes the bf16 image")
        }
        // The merge is the fp32 merge, rounded: the bf16 image with the LoRA is nearer the fp32 image
        // with it than the bf16 image without it (root-mean-square over the pixels: at bf16 the
        // Winograd products round their transformed operands, so single pixels move more than the mean).
        let fp32 = try LikenessPipeline(model: model, loras: [LoRAApplication(url: kohya, weight: 1)]).generate(request(meta, loras: nil))
        let fp32Plain = try LikenessPipeline(model: model).generate(request(meta, loras: nil))
        let rounding = rmsDifference(images["kohya 1.0"]!, fp32.image)
        let change = rmsDifference(images["kohya 1.0"]!, plain.image)
        let noise = rmsDifference(plain.image, fp32Plain.image)
        print("bf16 LoRA kohya 1.0: RMS difference to the fp32 image with it \(rounding), to the bf16 image without it " +
              "\(change); bf16 against fp32 without a LoRA \(noise)")
        XCTAssertLessThan(rounding, change * 0.75, "bf16 vs fp32 with the LoRA: \(rounding); the LoRA's change: \(change)")
        XCTAssertLessThan(rounding, noise * 1.5 + 1e-4, "the merge adds no more than bf16's own rounding (\(noise))")
    }

    /// A pipeline that gives its weights back after use keeps them while a LoRA is merged (a merged
    /// weight is not in the file), gives them back once none is, and merging into weights given back
    /// gives bit for bit the image of the first merge; at fp32 and bf16.
    func testReleasingWeightsAfterUseWithLoRAs() throws {
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: SingleFileFixtures.url("expected.json")))
        let model = try SingleFileFixtures.url("sd1.safetensors")
        let kohya = [LoRAApplication(url: try SingleFileFixtures.url("lora-kohya.safetensors"), weight: 1)]
        for precision in [ComputePrecision.fp32, .bf16] {
            let pipe = try LikenessPipeline(model: model, loras: kohya, precision: precision)
            pipe.weightResidency = .releaseAfterUse
            let weights = pipe.matrices.textEncoder + pipe.matrices.unet
            let merged = try pipe.generate(request(meta, loras: nil))
            XCTAssertTrue(weights.allSatisfy(\.isResident), "\(precision): weights given back while a LoRA is merged")
            try pipe.setLoRAs([])
            let plain = try pipe.generate(request(meta, loras: nil))
            XCTAssertFalse(weights.contains(where: \.isResident), "\(precision): weights kept with no LoRA merged")
            let fresh = try LikenessPipeline(model: model, precision: precision).generate(request(meta, loras: nil))
            XCTAssertEqual(plain.image.maxAbsDifference(fresh.image), 0, "\(precision): no LoRA vs a fresh load")
            try pipe.setLoRAs(kohya)
            let again = try pipe.generate(request(meta, loras: nil))
            XCTAssertEqual(again.image.maxAbsDifference(merged.image), 0, "\(precision): merged into weights given back vs the first merge")
            XCTAssertGreaterThan(try XCTUnwrap(again.image.maxAbsDifference(plain.image)), 1e-3, "\(precision): the LoRA changes the image")
        }
    }

    func testALoRAThatDoesNotFitLeavesTheWeights() throws {
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: SingleFileFixtures.url("expected.json")))
        let pipe = try LikenessPipeline(model: SingleFileFixtures.url("sd2.safetensors"))
        let engine = GenerationEngine(pipeline: pipe, threads: 2, workerNice: 0)
        let plain = try run(engine, request(meta, loras: nil)).get()
        let kohya = LoRAApplication(url: try SingleFileFixtures.url("lora-kohya.safetensors"), weight: 1)
        switch try run(engine, request(meta, loras: [kohya])) {
        case .success: XCTFail("an SD 1 LoRA merged into an SD 2 model")
        case .failure(let e):
            guard case .lora(let message) = e else { return XCTFail("not a LoRA error: \(e)") }
            XCTAssertTrue(message.contains("LoRA lora-kohya") && message.contains("another model"), message)
        }
        let missing = LoRAApplication(url: URL(fileURLWithPath: "/nonexistent/style.safetensors"), weight: 1)
        XCTAssertThrowsError(try pipe.setLoRAs([missing])) { XCTAssertTrue("\($0)".contains("style.safetensors"), "\($0)") }
        if case .failure(.lora(let message)) = try run(engine, request(meta, loras: [missing])) {
            XCTAssertTrue(message.contains("style.safetensors"), message)
        } else {
            XCTFail("a job naming a missing LoRA file is not a LoRA error")
        }
        XCTAssertEqual(pipe.loras, [])
        XCTAssertEqual(pipe.loraTensorsRewritten, 0)
        let after = try run(engine, request(meta, loras: [])).get()
        XCTAssertEqual(after.image.maxAbsDifference(plain.image), 0, "weights unchanged after a refused LoRA")
    }
}
