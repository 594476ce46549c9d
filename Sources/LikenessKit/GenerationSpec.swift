// The typed meaning of a `parameters` chunk: what Likeness writes for each image and what it can
// take back from one (`likeness generate --from`, the studio's recall). Independent of settings
// files and of the engine's job API; `apply(to:)` fills a GenerationRequest.
//
// Keys written: Steps, Sampler, Karras (samplers with Karras sigmas: euler, dpmpp-2m; the value
// used, the scheduler default included), CFG scale, Seed, Size, Model hash, Model, and with an
// object Identity guidance, Object, Object hash; Latents when the noise came from a file;
// Denoising strength and Lora weights when a recalled spec carries them (Likeness itself makes
// neither img2img nor LoRA images, so its own outputs never do).
// Keys read besides those: Schedule type (A1111 1.9+), Version, Hashes (informational). Any other
// key, or a value Likeness cannot honour, is returned as an UnsupportedParameter. Other tools'
// layouts (Fooocus, ComfyUI, InvokeAI, NovelAI) are read into this same form: ImageParameters.swift.

import Foundation
import LikenessEngine

/// A parameter of an image that Likeness cannot reproduce, with why.
public struct UnsupportedParameter: Equatable, Sendable, CustomStringConvertible, Codable {
    public var key: String
    public var value: String
    public var reason: String
    public var description: String { "\(key): \(value) (\(reason))" }
}

/// A LoRA an image was made with, as its tool lists it.
public struct LoRAWeight: Equatable, Sendable, Codable {
    public var name: String
    /// The weight (A1111 `<lora:name:w>`, ComfyUI strength_model); nil when not given.
    public var weight: Float?
    public init(name: String, weight: Float?) {
        self.name = name
        self.weight = weight
    }
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
    /// Image-to-image: how far the initial image was noised (0...1), as recorded by the image's
    /// tool. Recorded, not honoured: Likeness generates from noise.
    public var strength: Float?
    /// LoRAs the image's tool lists. Recorded, not honoured.
    public var loras: [LoRAWeight] = []
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
        if let strength { p.append(.init("Denoising strength", Self.number(strength))) }
        if !loras.isEmpty { p.append(.init("Lora weights", Self.loraText(loras))) }
        return PNGParameters(prompt: prompt, negativePrompt: negativePrompt, pairs: p + extra)
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

    /// `name: 0.8, other: 1` (Fooocus's A1111-layout key `Lora weights`); a LoRA without a weight is
    /// written by name alone.
    static func loraText(_ loras: [LoRAWeight]) -> String {
        loras.map { l in l.weight.map { "\(l.name): \(number($0))" } ?? l.name }.joined(separator: ", ")
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
        if let strength { o["strength"] = Double(Self.number(strength)) ?? Double(strength) }
        if !loras.isEmpty {
            o["loras"] = loras.map { l -> [String: Any] in
                var e: [String: Any] = ["name": l.name]
                if let w = l.weight { e["weight"] = Double(Self.number(w)) ?? Double(w) }
                return e
            }
        }
        return o
    }
}
