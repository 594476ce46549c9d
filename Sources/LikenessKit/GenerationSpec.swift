// The typed meaning of a `parameters` chunk: what Likeness writes for each image and what it can
// take back from one (`likeness generate --from`, the studio's recall). Independent of settings
// files and of the engine's job API; `apply(to:)` fills a GenerationRequest.
//
// Keys written: Steps, Sampler, Karras (samplers with Karras sigmas: euler, dpmpp-2m; the value
// used, the scheduler default included), CFG scale, Seed, Size, Model hash, Model, and with an
// object Identity guidance, Object, Object hash; Latents when the noise came from a file.
// Keys read besides those: Schedule type (A1111 1.9+), Version, Hashes (informational). Any other
// key, or a value Likeness cannot honour, is returned as an UnsupportedParameter.

import Foundation
import LikenessEngine

/// A parameter of an image that Likeness cannot reproduce, with why.
public struct UnsupportedParameter: Equatable, Sendable, CustomStringConvertible, Codable {
    public var key: String
    public var value: String
    public var reason: String
    public var description: String { "\(key): \(value) (\(reason))" }
}

public struct GenerationSpec: Equatable, Sendable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var steps: Int?
    public var sampler: SamplerKind?
    /// The Karras choice recorded (nil: not recorded, use the scheduler config's default).
    public var karras: Bool?
    public var textGuidance: Float?
    public var seed: UInt64?
    public var width: Int?
    public var height: Int?
    public var model: String?
    public var modelHash: String?
    public var identityGuidance: Float?
    /// Object name (gallery) or reference file name.
    public var object: String?
    public var objectHash: String?
    /// File name of initial latents given instead of the seed's noise.
    public var latents: String?
    /// Pairs kept as they were read (informational keys such as Version).
    public var extra: [ParameterPair] = []

    public init(prompt: String) { self.prompt = prompt }

    /// What to write for one finished image of `request` (one seed).
    public init(request: GenerationRequest, seed: UInt64, width: Int, height: Int, karras: Bool,
                model: ModelIdentity?, object: String? = nil, objectHash: String? = nil, latents: String? = nil) {
        prompt = request.prompt
        negativePrompt = request.negativePrompt
        steps = request.steps
        sampler = request.sampler
        self.karras = request.sampler.supportsKarrasSigmas ? karras : nil
        textGuidance = request.textGuidance
        self.seed = seed
        self.width = width
        self.height = height
        self.model = model?.name
        modelHash = model?.shortHash
        if request.objectTokens != nil {
            identityGuidance = request.identityGuidance
            self.object = object
            self.objectHash = objectHash
        }
        self.latents = latents
    }

    // MARK: to and from the text chunk

    public var parameters: PNGParameters {
        var p: [ParameterPair] = []
        if let steps { p.append(.init("Steps", "\(steps)")) }
        if let sampler { p.append(.init("Sampler", SamplerNames.a1111Name(sampler, karras: karras ?? false))) }
        if let karras { p.append(.init("Karras", karras ? "true" : "false")) }
        if let textGuidance { p.append(.init("CFG scale", Self.number(textGuidance))) }
        if let seed { p.append(.init("Seed", "\(seed)")) }
        if let width, let height { p.append(.init("Size", "\(width)x\(height)")) }
        if let modelHash { p.append(.init("Model hash", modelHash)) }
        if let model { p.append(.init("Model", model)) }
        if let identityGuidance { p.append(.init("Identity guidance", Self.number(identityGuidance))) }
        if let object { p.append(.init("Object", object)) }
        if let objectHash { p.append(.init("Object hash", objectHash)) }
        if let latents { p.append(.init("Latents", latents)) }
        return PNGParameters(prompt: prompt, negativePrompt: negativePrompt, pairs: p + extra)
    }

    /// The spec a chunk describes, and what in it Likeness cannot honour.
    public static func from(_ parameters: PNGParameters) -> (spec: GenerationSpec, unsupported: [UnsupportedParameter]) {
        var spec = GenerationSpec(prompt: parameters.prompt)
        spec.negativePrompt = parameters.negativePrompt
        var unsupported: [UnsupportedParameter] = []
        func bad(_ pair: ParameterPair, _ reason: String) {
            unsupported.append(UnsupportedParameter(key: pair.key, value: pair.value, reason: reason))
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
            case "Identity guidance":
                if let f = Float(v), f.isFinite { spec.identityGuidance = f } else { bad(pair, "not a number") }
            case "Object": spec.object = v
            case "Object hash": spec.objectHash = v
            case "Latents":
                spec.latents = v
                bad(pair, "the initial noise came from a file; recall draws it from the seed, so the image differs")
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

    private static func reason(unknown key: String) -> String {
        let k = key.lowercased()
        if k.hasPrefix("hires") { return "hires fix is not supported; the image is made at its base size only" }
        if k.contains("denoising strength") { return "img2img and hires fix are not supported" }
        if k.hasPrefix("variation seed") || k.hasPrefix("seed resize") { return "variation seeds are not supported" }
        if k.contains("lora") || k.contains("ti hashes") || k.contains("lyco") { return "LoRA and embeddings are not supported" }
        if k == "clip skip" { return "Likeness always uses the text encoder's last layer" }
        if k == "eta" || k == "ensd" || k == "eta noise seed delta" || k == "eta ddim" { return "not adjustable in Likeness" }
        if k == "rng" { return "Likeness draws noise as torch's CPU generator does; other sources give other images" }
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
        return out
    }

    /// Fills `request` with everything recorded (object tokens excepted: resolve `object` with
    /// the gallery). Unrecorded fields keep the request's values.
    public func apply(to request: inout GenerationRequest) {
        request.prompt = prompt
        request.negativePrompt = negativePrompt
        if let steps { request.steps = steps }
        if let sampler { request.sampler = sampler }
        if sampler != nil || karras != nil { request.karras = karras }
        if let textGuidance { request.textGuidance = textGuidance }
        if let seed { request.seeds = [seed] }
        if let width { request.width = width }
        if let height { request.height = height }
        if let identityGuidance { request.identityGuidance = identityGuidance }
    }

    /// `5` for 5.0, `4.5` for 4.5: the shortest text that reads back as the same Float.
    static func number(_ f: Float) -> String {
        if f == f.rounded(), abs(f) < 1e7 { return String(Int(f)) }
        return "\(f)"
    }

    /// The Codable view used by `likeness params --json`.
    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["prompt": prompt, "negative_prompt": negativePrompt]
        if let steps { o["steps"] = steps }
        if let sampler { o["sampler"] = sampler.rawValue }
        if let karras { o["karras"] = karras }
        if let textGuidance { o["cfg_scale"] = Double(Self.number(textGuidance)) ?? Double(textGuidance) }
        if let seed { o["seed"] = NSNumber(value: seed) }
        if let width, let height { o["width"] = width; o["height"] = height }
        if let model { o["model"] = model }
        if let modelHash { o["model_hash"] = modelHash }
        if let identityGuidance { o["identity_guidance"] = Double(Self.number(identityGuidance)) ?? Double(identityGuidance) }
        if let object { o["object"] = object }
        if let objectHash { o["object_hash"] = objectHash }
        if let latents { o["latents"] = latents }
        return o
    }
}
