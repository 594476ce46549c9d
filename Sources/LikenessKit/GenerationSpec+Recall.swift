// Reading a `parameters` chunk back into a GenerationSpec: the keys Likeness honours, and every
// other key or value returned as an UnsupportedParameter with the reason (never silently dropped).
// Informational keys (Version, Hashes) and values equal to what Likeness does anyway (Clip skip 1,
// Eta 0, ENSD 0, RNG CPU) are kept in `extra` without a report. Recorded with a report: Denoising
// strength (img2img: honoured only where the caller gives the init image again, which the
// parameters do not hold; `likeness generate --init` drops the report), LoRAs
// (`<lora:name:weight>` in the prompt, the `Lora weights` key).

import Foundation
import LikenessEngine

/// Why Likeness cannot honour a setting, in the words every format's reader uses.
enum UnsupportedReason {
    static let lora = "LoRAs are applied from <lora:NAME:W> tags in the prompt (the LoRA folder); this key alone adds none"
    static let hires = "hires fix is not supported; the image is made at its base size only"
    static let img2img = "img2img from an init image the parameters do not hold: give it again (likeness generate --init IMAGE, or the studio's init image) to honour the strength; without one the image starts from noise and differs"
    static let clipSkip = "Likeness always uses the text encoder's last layer"
    static let notAdjustable = "not adjustable in Likeness"
    static let noiseSource = "Likeness draws noise as torch's CPU generator does; other sources give other images"
    static let variationSeeds = "variation seeds are not supported"
    static let vae = "a separate VAE: recall uses the model's own; pass that VAE with --vae FILE"
    static let refiner = "a refiner model is not supported; the base model alone makes the image"
    static let seamless = "seamless tiling is not supported"
    static let cfgRescale = "CFG rescale is not supported"
    static let controlNet = "ControlNet is not supported"
    static let smea = "SMEA is not supported"
    static let noNoise = "sampling without added noise is not supported"
}

extension GenerationSpec {
    /// The spec a chunk describes, and what in it Likeness cannot honour.
    public static func from(_ parameters: PNGParameters) -> (spec: GenerationSpec, unsupported: [UnsupportedParameter]) {
        var spec = GenerationSpec(prompt: parameters.prompt)
        spec.negativePrompt = parameters.negativePrompt
        var unsupported: [UnsupportedParameter] = []
        func bad(_ pair: ParameterPair, _ reason: String) {
            unsupported.append(UnsupportedParameter(key: pair.key, value: pair.value, reason: reason))
        }
        spec.loras = loraTags(in: parameters.prompt)
        for l in spec.loras {
            unsupported.append(UnsupportedParameter(key: "LoRA", value: GenerationSpec.loraText([l]),
                                                    reason: "a <lora:...> tag in the prompt: likeness generate and the studio apply it from the LoRA folder (--loras), if it is there"))
        }
        var samplerKarras: Bool?
        var explicitKarras: Bool?
        for pair in parameters.pairs {
            let v = pair.value
            switch pair.key {
            case "Steps":
                if let n = Int(v), n >= 1 { spec.steps = n } else { bad(pair, "not a positive step count; the default is used") }
            case "Sampler":
                if let (kind, k) = SamplerNames.parse(v) {
                    spec.sampler = kind
                    samplerKarras = k
                } else {
                    bad(pair, "Likeness has the samplers \(SamplerNames.known.joined(separator: ", ")); the default is used")
                }
            case "Karras":
                switch v.lowercased() {
                case "true": explicitKarras = true
                case "false": explicitKarras = false
                default: bad(pair, "expected true or false")
                }
            case "Schedule type":
                switch v.lowercased() {
                case "karras": explicitKarras = true
                case "automatic": break
                default: bad(pair, "Likeness has the scheduler's own and Karras sigmas only")
                }
            case "CFG scale":
                if let f = Float(v), f.isFinite { spec.textGuidance = f } else { bad(pair, "not a number") }
            case "Seed":
                if let s = UInt64(v) { spec.seed = s } else { bad(pair, "not a seed (0...\(UInt64.max))") }
            case "Size":
                let parts = v.lowercased().split(separator: "x")
                if parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 {
                    spec.width = w
                    spec.height = h
                } else { bad(pair, "expected WIDTHxHEIGHT") }
            case "Model": spec.model = v
            case "Model hash": spec.modelHash = v
            case "VAE": spec.vae = v
            case "VAE hash": spec.vaeHash = v
            case "Decoder": spec.decoder = v
            case "Identity guidance":
                if let f = Float(v), f.isFinite { spec.identityGuidance = f } else { bad(pair, "not a number") }
            case "Object": spec.object = v
            case "Object hash": spec.objectHash = v
            case "Latents":
                spec.latents = v
                bad(pair, "the initial noise came from a file; recall draws it from the seed, so the image differs")
            case "Denoising strength":
                let hires = parameters.pairs.contains { $0.key.lowercased().hasPrefix("hires") }
                if let f = Float(v), f.isFinite, (0...1).contains(f) {
                    if !hires { spec.strength = f }
                    bad(pair, hires ? UnsupportedReason.hires : UnsupportedReason.img2img)
                } else {
                    bad(pair, "not a strength from 0 to 1")
                }
            case "Lora weights":
                let listed = parseLoRAWeights(v)
                spec.loras += listed.filter { l in !spec.loras.contains { $0.name == l.name } }
                bad(pair, UnsupportedReason.lora)
            case "Version", "Hashes":
                spec.extra.append(pair)
            case "Clip skip" where v == "1", "Eta" where Float(v) == 0, "ENSD" where v == "0",
                 "Eta noise seed delta" where v == "0", "RNG" where v.lowercased() == "cpu":
                spec.extra.append(pair)
            default:
                bad(pair, reason(unknown: pair.key))
            }
        }
        spec.karras = explicitKarras ?? samplerKarras
        if spec.karras == true, let s = spec.sampler, !s.supportsKarrasSigmas {
            unsupported.append(UnsupportedParameter(key: "Karras", value: "true",
                                                    reason: "sampler \(SamplerNames.a1111Name(s, karras: false)) has no Karras sigmas; ignored"))
            spec.karras = nil
        }
        if spec.sampler?.supportsKarrasSigmas != true { spec.karras = nil }
        return (spec, unsupported)
    }


    /// `<lora:name:weight>` tags (A1111's extra-networks syntax; the weight is optional).
    static func loraTags(in prompt: String) -> [LoRAWeight] {
        LoRATags.spans(in: prompt).filter { $0.closed && !$0.name.isEmpty }.map { LoRAWeight(name: $0.name, weight: $0.weight) }
    }

    /// `name: 0.8, other: 1` (the inverse of `loraText`).
    static func parseLoRAWeights(_ text: String) -> [LoRAWeight] {
        text.components(separatedBy: ", ").compactMap { item in
            let t = item.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty else { return nil }
            if let colon = t.range(of: ":", options: .backwards), let w = Float(t[colon.upperBound...].trimmingCharacters(in: .whitespaces)) {
                return LoRAWeight(name: t[..<colon.lowerBound].trimmingCharacters(in: .whitespaces), weight: w)
            }
            return LoRAWeight(name: t, weight: nil)
        }
    }

    private static func reason(unknown key: String) -> String {
        let k = key.lowercased()
        if k.hasPrefix("hires") { return UnsupportedReason.hires }
        if k.contains("denoising strength") { return "img2img and hires fix are not supported" }
        if k.hasPrefix("variation seed") || k.hasPrefix("seed resize") { return UnsupportedReason.variationSeeds }
        if k == "lora hashes" { return "recorded; likeness generate applies the prompt's <lora:...> tags from the LoRA folder" }
        if k.contains("lora") || k.contains("ti hashes") || k.contains("lyco") { return "LyCORIS and embeddings are not supported" }
        if k == "clip skip" { return UnsupportedReason.clipSkip }
        if k == "eta" || k == "ensd" || k == "eta noise seed delta" || k == "eta ddim" { return UnsupportedReason.notAdjustable }
        if k == "rng" { return UnsupportedReason.noiseSource }
        if k.hasPrefix("face restoration") || k.hasPrefix("controlnet") || k.hasPrefix("adetailer") {
            return "post-processing and extensions are not supported"
        }
        return "not understood by Likeness; ignored"
    }

    /// Items that differ from the model used now (another model gives another image).
    public func mismatches(model: ModelIdentity) -> [UnsupportedParameter] {
        var out: [UnsupportedParameter] = []
        if let m = self.model, m != model.name {
            out.append(UnsupportedParameter(key: "Model", value: m, reason: "generating with \(model.name) instead"))
        } else if let h = modelHash, h != model.shortHash {
            out.append(UnsupportedParameter(key: "Model hash", value: h,
                                            reason: "the model \(model.name) has changed since (now \(model.shortHash)); the image may differ"))
        }
        if let v = vae {
            if let now = model.vae {
                if now.name != v {
                    out.append(UnsupportedParameter(key: "VAE", value: v, reason: "generating with the VAE \(now.name) instead"))
                } else if let h = vaeHash, h != now.shortHash {
                    out.append(UnsupportedParameter(key: "VAE hash", value: h,
                                                    reason: "the VAE \(now.name) has changed since (now \(now.shortHash)); the image may differ"))
                }
            } else {
                out.append(UnsupportedParameter(key: "VAE", value: v, reason: "generating with the model's own VAE; pass --vae with that file"))
            }
        } else if let now = model.vae {
            out.append(UnsupportedParameter(key: "VAE", value: "(the model's own)", reason: "generating with the VAE \(now.name) instead"))
        }
        return out
    }
}
