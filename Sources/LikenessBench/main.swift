// likeness-bench: times engine components for `make bench` (scripts/bench.py runs PyTorch on the
// same weights and inputs in the same run and reports ratios). Not a test: prints JSON only.
//
//   likeness-bench sgemm N REPEATS
//   likeness-bench unet FOLDER LATENT BATCH REPEATS [fp32|bf16 [THREADS]]   (unet/ subfolder of FOLDER;
//                                                          THREADS: the engine's thread count, default all)
//   likeness-bench text FOLDER BATCH REPEATS              (text_encoder/ + tokenizer/)
//   likeness-bench vae FOLDER LATENT REPEATS [PRECISION]  (vae/ decoder)
//   likeness-bench conv BATCH CIN COUT SIZE REPEATS [PRECISION]  (one 3x3 stride-1 convolution)
//   likeness-bench attention BATCH LQ LK WIDTH HEADS REPEATS
//   likeness-bench generate FOLDER STEPS REPEATS [PRECISION]  (whole image, DDIM, guidance 5, seed 0)
//   likeness-bench image FOLDER SIZE STEPS fp32|bf16      (one image from a cold start: load and
//                                                          generate time, peak RSS; PrecisionBench.swift)
//   likeness-bench memory FOLDER SIZE STEPS fp32|bf16 [keep|denoiser|release] (one image from a cold start: peak RSS per
//                                                          phase, load and first-step time; MemoryBench.swift)
//   likeness-bench weights FOLDER fp32|bf16               (resident memory of each component's weights)
//   likeness-bench peer MODEL SIZE STEPS fp32|bf16         (one Euler image from a cold start: each step's
//                                                          time, load time, peak RSS; PeerBench.swift)
//   likeness-bench seeds|cancel|wakeup|encode ...          (the job layer: JobBench.swift)
//   likeness-bench fewstep|taesd|firstpreview ...          (few-step sampling: FewStepBench.swift)
//   likeness-bench load MODEL                              (load a folder or single file once; peak RSS
//                                                          is read by the caller from the child's rusage)
//   likeness-bench lora MODEL LORA REPEATS                 (merge LORA at weight 1 into the loaded model,
//                                                          then take it out again: LoRAMerger, in place)
// Inputs are drawn with the PyTorch-exact generator (seed 0), as scripts/bench.py draws them.
// LIKENESS_PROFILE=1 also prints the time spent in each op (stderr).

import Foundation
import LikenessEngine

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
}

/// One warm-up run, then `repeats` timed runs; returns all timings.
func measure(_ repeats: Int, _ body: () throws -> Void) rethrows -> [Double] {
    try body()
    return try (0..<repeats).map { _ in try seconds(body) }
}

func randn(_ shape: [Int], seed: UInt64 = 0) -> Tensor {
    var g = TorchGenerator(seed: seed)
    return Tensor(shape: shape, storage: g.randn(shape.reduce(1, *)))!
}

func report(_ name: String, _ times: [Double], extra: [String: Any] = [:]) {
    var obj: [String: Any] = ["name": name, "times": times, "median": times.sorted()[times.count / 2]]
    for (k, v) in extra { obj[k] = v }
    let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

let args = CommandLine.arguments
func arg(_ i: Int) -> String {
    guard i < args.count else {
        FileHandle.standardError.write(Data("likeness-bench: missing argument \(i); see the file header for usage\n".utf8))
        exit(2)
    }
    return args[i]
}
func int(_ i: Int) -> Int {
    guard let v = Int(arg(i)) else {
        FileHandle.standardError.write(Data("likeness-bench: argument \(i) must be an integer, got \(arg(i))\n".utf8))
        exit(2)
    }
    return v
}

do {
    switch arg(1) {
    case "sgemm":
        let n = int(2)
        let a = randn([n, n], seed: 1), b = randn([n, n], seed: 2)
        let t = measure(int(3)) { _ = Ops.matmul(a, b) }
        report("sgemm", t, extra: ["gflop": 2.0 * Double(n * n * n) / 1e9])
    case "unet":
        let folder = URL(fileURLWithPath: arg(2))
        let latent = int(3), batch = int(4)
        let precision = try precisionArgument(6)
        if args.count > 7 { ComputeThreads.set(int(7)) }
        let unet = try UNet2DConditionModel(folder: folder.appendingPathComponent("unet"), precision: precision)
        let crossDim: Int
        switch unet.config.cross_attention_dim {
        case .int(let v): crossDim = v
        case .list(let v): crossDim = v[0]
        }
        let x = randn([batch, unet.config.in_channels, latent, latent], seed: 0)
        let cond = randn([batch, 77, crossDim], seed: 1)
        var cpu: [Double] = []
        let t = try measure(int(5)) {
            let c0 = processCPUSeconds()
            _ = try unet(sample: x, timestep: 500, encoderHiddenStates: cond)
            cpu.append(processCPUSeconds() - c0)
        }
        report("unet", t, extra: ["precision": unet.precision.rawValue, "threads": ComputeThreads.count,
                                  "cpu_times": Array(cpu.dropFirst())])
    case "text":
        let folder = URL(fileURLWithPath: arg(2))
        let text = try CLIPTextModel(folder: folder.appendingPathComponent("text_encoder"))
        let tok = try loadTokenizer(folder: folder.appendingPathComponent("tokenizer"))
        let ids = try tok.encode("a photo of a red star on the beach, at the left").ids
        let batch = Array(repeating: Array(ids.prefix(text.config.max_position_embeddings)), count: int(3))
        let t = try measure(int(4)) { _ = try text(ids: batch) }
        report("text", t)
    case "vae":
        let folder = URL(fileURLWithPath: arg(2))
        let vae = try AutoencoderKL(folder: folder.appendingPathComponent("vae"), precision: try precisionArgument(5))
        let latent = int(3)
        let z = randn([1, vae.config.latent_channels, latent, latent], seed: 0)
        let t = try measure(int(4)) { _ = try vae.decode(z) }
        report("vae", t)
    case "conv":
        // likeness-bench conv BATCH CIN COUT SIZE REPEATS [PRECISION] (3x3, stride 1, padding 1; x, w drawn
        // from seeds 0, 1; the weight held at PRECISION as a model's layer holds it, fp32 when not given)
        let x = randn([int(2), int(3), int(5), int(5)], seed: 0), w = randn([int(4), int(3), 3, 3], seed: 1)
        let weight = GEMMWeight(w, precision: try precisionArgument(7), layout: .rows)
        let t = measure(int(6)) { _ = Ops.conv2d(x, weight: weight, stride: 1, padding: .uniform(1)) }
        report("conv", t)
    case "attention":
        // likeness-bench attention BATCH LQ LK WIDTH HEADS REPEATS [TILES] (q, k, v drawn from seeds 0, 1, 2;
        // TILES: wide, strips or keyBlocks picks the kernel instead of the CPU)
        if args.count > 8 {
            guard let tiles = Ops.AttentionTiles.allCases.first(where: { "\($0)" == arg(8) }) else {
                FileHandle.standardError.write(Data("likeness-bench: TILES must be one of \(Ops.AttentionTiles.allCases.map { "\($0)" })\n".utf8))
                exit(2)
            }
            Ops.attentionTiles = tiles
        }
        let b = int(2), lq = int(3), lk = int(4), width = int(5), heads = int(6)
        let q = randn([b, lq, width], seed: 0), k = randn([b, lk, width], seed: 1), v = randn([b, lk, width], seed: 2)
        let t = measure(int(7)) { _ = Ops.scaledDotProductAttention(query: q, key: k, value: v, heads: heads) }
        report("attention", t)
    case "generate":
        let pipe = try LikenessPipeline(model: URL(fileURLWithPath: arg(2)), precision: try precisionArgument(5))
        var request = GenerationRequest(prompt: "a red star on the beach, at the left")
        request.steps = int(3)
        request.allowUnknownWords = true
        request.previewEvery = 0
        let t = try measure(int(4)) { _ = try pipe.generate(request) }
        report("generate", t)
    case "image":
        try benchImage(folder: URL(fileURLWithPath: arg(2)), size: int(3), steps: int(4), precision: precisionArgument(5))
    case "memory":
        try benchMemory(folder: URL(fileURLWithPath: arg(2)), size: int(3), steps: int(4), precision: precisionArgument(5),
                        residency: try residencyArgument(6))
    case "weights":
        try benchWeights(folder: URL(fileURLWithPath: arg(2)), precision: precisionArgument(3))
    case "peer":
        try benchPeerImage(model: URL(fileURLWithPath: arg(2)), size: int(3), steps: int(4), precision: precisionArgument(5))
    case "seeds":
        try benchSeeds(folder: URL(fileURLWithPath: arg(2)), steps: int(3), n: int(4), size: int(5))
    case "cancel":
        try benchCancel(folder: URL(fileURLWithPath: arg(2)), steps: int(3), samples: int(4), size: int(5))
    case "wakeup":
        try benchWakeup(folder: URL(fileURLWithPath: arg(2)), steps: int(3), size: int(4))
    case "encode":
        try benchEncode(folder: URL(fileURLWithPath: arg(2)), repeats: int(3))
    case "fewstep":
        try benchFewStep(folder: URL(fileURLWithPath: arg(2)), taesd: URL(fileURLWithPath: arg(3)), steps: int(4),
                         size: int(5), repeats: int(6), precision: precisionArgument(7))
    case "taesd":
        try benchTAESD(taesd: URL(fileURLWithPath: arg(2)), latent: int(3), repeats: int(4))
    case "firstpreview":
        try benchFirstPreview(folder: URL(fileURLWithPath: arg(2)), taesd: URL(fileURLWithPath: arg(3)), size: int(4),
                              repeats: int(5))
    case "load":
        var pipeline: LikenessPipeline?
        let t = try seconds { pipeline = try LikenessPipeline(model: URL(fileURLWithPath: arg(2))) }
        report("load", [t], extra: ["unet_channels": pipeline?.unet.config.block_out_channels ?? [], "peak_rss_bytes": peakRSS()])
    case "lora":
        let pipeline = try LikenessPipeline(model: URL(fileURLWithPath: arg(2)))
        let lora = [LoRAApplication(url: URL(fileURLWithPath: arg(3)), weight: 1)]
        // The first merge also opens and checks the LoRA file (kept for later merges).
        let first = try seconds { try pipeline.setLoRAs(lora) }
        try pipeline.setLoRAs([])
        var merge: [Double] = [], unmerge: [Double] = []
        for _ in 0..<int(4) {
            merge.append(try seconds { try pipeline.setLoRAs(lora) })
            unmerge.append(try seconds { try pipeline.setLoRAs([]) })
        }
        report("lora", merge, extra: ["first": first, "unmerge": unmerge, "unmerge_median": unmerge.sorted()[unmerge.count / 2],
                                      "tensors": pipeline.loraTensorsRewritten / (2 * int(4) + 2)])
    default:
        FileHandle.standardError.write(Data("likeness-bench: unknown benchmark \(arg(1)); see the file header\n".utf8))
        exit(2)
    }
    if ProcessInfo.processInfo.environment["LIKENESS_PROFILE"] == "1" {
        FileHandle.standardError.write(Data("time per op over all runs (warm-up included):\n\(OpProfile.report())\n".utf8))
    }
} catch {
    FileHandle.standardError.write(Data("likeness-bench: \(error)\n".utf8))
    exit(1)
}
