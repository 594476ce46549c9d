// Few-step benchmarks for `make bench` (scripts/bench.py, bench_few_step):
//   fewstep FOLDER TAESD STEPS SIZE REPEATS [fp32|bf16]   a whole image from an LCM-distilled
//                                  folder loaded at that precision (as `likeness generate
//                                  --precision` loads it): the LCM sampler, guidance 8.5 (embedded),
//                                  the tiny decoder as the final decoder; with the time split into
//                                  first step (the prompt's encoding is cached after the warm-up),
//                                  the other steps and the decode, plus the load time and one
//                                  uncached prompt encoding
//   taesd TAESD LATENT REPEATS     one tiny decoder pass on latents drawn with seed 0
//   firstpreview FOLDER TAESD SIZE REPEATS   from the start of a job to its first step preview
//                                  made by the tiny decoder (and that preview's own decode time)
// Prompt encodings are cached by the pipeline after the warm-up run, as in the studio.

import Foundation
import LikenessEngine

func fewStepRequest(steps: Int, size: Int) -> GenerationRequest {
    var r = GenerationRequest(prompt: "a red star on the beach, at the left")
    r.steps = steps
    r.sampler = .lcm
    r.textGuidance = 8.5
    r.allowUnknownWords = true
    r.width = size
    r.height = size
    r.preview = .none
    r.previewEvery = 0
    r.decoder = .tiny
    return r
}

func benchFewStep(folder: URL, taesd: URL, steps: Int, size: Int, repeats: Int, precision: ComputePrecision) throws {
    var loaded: LikenessPipeline?
    let load = try seconds {
        loaded = try LikenessPipeline(model: folder, precision: precision)
        try loaded?.attachTinyDecoder(taesd)
    }
    guard let pipe = loaded else { return }
    let request = fewStepRequest(steps: steps, size: size)
    let textEncode = try measure(repeats) { _ = try pipe.promptEncoder.encode(request.prompt, objectTokens: nil) }
    var firstStep: [Double] = [], lastStep: [Double] = []
    let times = try measure(repeats) {
        let start = now()
        var first = 0.0, last = 0.0
        _ = try pipe.generate(request, onStep: { e in
            let t = Double(now() - start) / 1e9
            if e.step == 1 { first = t }
            last = t
        })
        firstStep.append(first)
        lastStep.append(last)
    }
    func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    // The warm-up run's split is dropped with it.
    let f = median(Array(firstStep.dropFirst())), l = median(Array(lastStep.dropFirst())), total = median(times)
    report("fewstep", times, extra: ["first_step_s": f, "other_steps_s": l - f, "decode_s": total - l, "load_s": load,
                                     "text_encode_s": median(textEncode), "precision": pipe.unet.precision.rawValue])
}

func benchTAESD(taesd: URL, latent: Int, repeats: Int) throws {
    let decoder = try StandaloneTinyDecoder.load(taesd)
    let z = randn([1, decoder.config.latent_channels, latent, latent], seed: 0)
    let t = try measure(repeats) { _ = try decoder.decode(z) }
    report("taesd", t)
}

func benchFirstPreview(folder: URL, taesd: URL, size: Int, repeats: Int) throws {
    let pipe = try LikenessPipeline(folder: folder)
    try pipe.attachTinyDecoder(taesd)
    var request = fewStepRequest(steps: 4, size: size)
    request.preview = .tiny
    request.previewEvery = 1
    request.decoder = .full
    struct Stop: Error {}
    var previewDecode: [Double] = []
    let times = try measure(repeats) {
        do {
            _ = try pipe.generate(request, onStep: { e in
                if !e.previews.isEmpty { throw Stop() }
            })
        } catch is Stop {}
    }
    // The preview's own cost: the tiny decoder on one seed's latents of this size.
    let z = randn([1, pipe.unet.config.in_channels, size / pipe.vaeFactor, size / pipe.vaeFactor], seed: 0)
    if let tiny = pipe.tinyDecoder {
        previewDecode = try measure(repeats) { _ = try tiny.decode(diffusionLatents: z) }
    }
    report("firstpreview", times, extra: ["preview_decode_s": previewDecode.sorted()[previewDecode.count / 2]])
}
