// The one generation configuration: the typed meaning of a `parameters` chunk, what Likeness
// writes for each image and what it can take back from one (`likeness generate --from`, the
// studio's recall); `apply(to:)` fills the engine's GenerationRequest.
//
// Keys written: Steps, Sampler, Karras (samplers with Karras sigmas: euler, dpmpp-2m; the value
// used, the scheduler default included), CFG scale, Seed, Size, Model hash, Model, and with an
// object Identity guidance, Object, Object hash; Latents when the noise came from a file;
// Denoising strength for image-to-image (as A1111 writes it; the init image itself is not
// recorded) and when a recalled spec carries it; Lora weights when a recalled spec carries them.
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

/// The one description of a generation, shared by the CLI, the studio and the PNG parameters.
/// Each optional field is nil when not given (a PNG that does not record it, a flag left out);
/// `apply(to:)` leaves the request's default then. Every mapping lives beside the fields:
/// engine request (`apply(to:)`, `init(request:…)`), A1111 text (`parameters`,
/// GenerationSpec+Recall.swift), JSON (`jsonObject`), specs over specs (`merge`). The studio's
/// settings hold a GenerationSpec as their generation values (saved through its Codable form) and
/// the CLI's flags (likeness/GenerateCommand.swift) build one. A new setting: a field here and
/// its entries in this file and in GenerationSpec+Recall.swift, then its row in the studio
/// (LikenessStudio/App/SettingField.swift) and its flag.
public struct GenerationSpec: Equatable, Sendable, Codable {
    /// The prompt; `<obj>` (the model's placeholder) marks where the object goes. A1111: first lines.
    public var prompt: String
    /// What to steer away from. A1111: `Negative prompt:`.
    public var negativePrompt: String = ""
    /// Sampling steps (>= 1). A1111: `Steps`.
    public var steps: Int?
    /// A1111: `Sampler` (with Karras folded into the name, e.g. `DPM++ 2M Karras`).
    public var sampler: SamplerKind?
    /// The Karras choice recorded (nil: not recorded, use the scheduler config's default); only
    /// for samplers with Karras sigmas. Ours: `Karras`; A1111 1.9+: `Schedule type`.
    public var karras: Bool?
    /// s_text, classifier-free text guidance. A1111: `CFG scale`.
    public var textGuidance: Float?
    /// The seed of this image (PyTorch-exact noise). A1111: `Seed`.
    public var seed: UInt64?
    /// Size in pixels. A1111: `Size: WxH`.
    public var width: Int?
    public var height: Int?
    /// Model name and short hash (informational: recall warns when they differ). A1111: `Model`, `Model hash`.
    public var model: String?
    public var modelHash: String?
    /// A standalone VAE used instead of the model's own: file name and short hash. A1111: `VAE`, `VAE hash`.
    public var vae: String?
    public var vaeHash: String?
    /// The tiny decoder (TAESD, an AutoencoderTiny folder or file name) that decoded the final image
    /// instead of the VAE; nil: the VAE did. Recall decodes with a tiny decoder again. Ours: `Decoder`.
    public var decoder: String?
    /// s_id, identity guidance, written only with an object. Ours: `Identity guidance`.
    public var identityGuidance: Float?
    /// Object name (gallery) or reference file name. Ours: `Object`.
    public var object: String?
    /// Short hash of the object tokens used (recall warns when the object changed). Ours: `Object hash`.
    public var objectHash: String?
    /// File name of initial latents given instead of the seed's noise. Ours: `Latents`.
    public var latents: String?
    /// Image-to-image: how far the init image was noised (0...1). Honoured when an init image is
    /// given (`likeness generate --init`, the studio's init image); the parameters never hold the
    /// init image itself. A1111: `Denoising strength`.
    public var strength: Float?
    /// LoRAs the image's tool lists. Recorded, not honoured. A1111: `Lora weights`, `<lora:…>` tags.
    public var loras: [LoRAWeight] = []
    /// Pairs kept as they were read (informational keys such as Version).
    public var extra: [ParameterPair] = []
    /// The models' compute precision (a load setting, not written to the PNG): nil is
    /// `ComputePrecision.preferred`, bf16 where the CPU has AVX512-BF16, else fp32.
    public var precision: ComputePrecision?

    /// The precision a model is loaded at for this spec.
    public var resolvedPrecision: ComputePrecision { precision ?? .preferred }

    public init(prompt: String) { self.prompt = prompt }

    /// What to write for one finished image of `request` (one seed): the CLI and the studio both
    /// write through this, so the same settings give the same text. With an object (tokens in the
    /// request, or its name given) the identity guidance and the object are written.
    public init(request: GenerationRequest, seed: UInt64, width: Int, height: Int, karras: Bool,
                model: ModelIdentity?, object: String? = nil, objectHash: String? = nil, latents: String? = nil,
                tinyDecoder: String? = nil) {
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
        vae = model?.vae?.name
        vaeHash = model?.vae?.shortHash
        if request.objectTokens != nil || object != nil {
            identityGuidance = request.identityGuidance
            self.object = object
            self.objectHash = objectHash
        }
        self.latents = latents
        decoder = request.decoder == .tiny ? (tinyDecoder ?? "tiny") : nil
        strength = request.initImage != nil ? request.strength : nil
    }

    /// The values a generation is made from, without the record of what was used (model, VAE and
    /// decoder, object, latents file, LoRAs, informational pairs): what the studio's recall takes.
    public var settingValues: GenerationSpec {
        var s = self
        s.model = nil; s.modelHash = nil
        s.vae = nil; s.vaeHash = nil
        s.decoder = nil // the studio decodes finals with the VAE; its previews pick their own decoder
        s.object = nil; s.objectHash = nil
        s.latents = nil
        s.loras = []
        s.extra = []
        return s
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
        if let vaeHash { p.append(.init("VAE hash", vaeHash)) }
        if let vae { p.append(.init("VAE", vae)) }
        if let decoder { p.append(.init("Decoder", decoder)) }
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
        // Prompts are read as A1111 reads them: emphasis, BREAK and 75-token chunks.
        request.emphasis = true
        request.negativePrompt = negativePrompt
        if let steps { request.steps = steps }
        if let sampler { request.sampler = sampler }
        if sampler != nil || karras != nil { request.karras = karras }
        if let textGuidance { request.textGuidance = textGuidance }
        if let seed { request.seeds = [seed] }
        if let width { request.width = width }
        if let height { request.height = height }
        if let identityGuidance { request.identityGuidance = identityGuidance }
        if decoder != nil { request.decoder = .tiny }
        if let strength { request.strength = strength }
    }

    /// Fields `other` records replace this spec's (the prompt texts stay: they are the caller's);
    /// a sampler without a Karras choice drops the old choice, which belonged to the old sampler.
    /// Used for the CLI's flags over --from's values.
    public mutating func merge(_ other: GenerationSpec) {
        if let v = other.steps { steps = v }
        if let v = other.sampler { sampler = v; karras = other.karras }
        if let v = other.karras { karras = v }
        if let v = other.textGuidance { textGuidance = v }
        if let v = other.seed { seed = v }
        if let v = other.width { width = v }
        if let v = other.height { height = v }
        if let v = other.model { model = v }
        if let v = other.modelHash { modelHash = v }
        if let v = other.vae { vae = v; vaeHash = other.vaeHash }
        if let v = other.decoder { decoder = v }
        if let v = other.identityGuidance { identityGuidance = v }
        if let v = other.object { object = v; objectHash = other.objectHash }
        if let v = other.latents { latents = v }
        if let v = other.strength { strength = v }
        if !other.loras.isEmpty { loras = other.loras }
        if let v = other.precision { precision = v }
    }

    /// `name: 0.8, other: 1` (Fooocus's A1111-layout key `Lora weights`); a LoRA without a weight is
    /// written by name alone.
    static func loraText(_ loras: [LoRAWeight]) -> String {
        loras.map { l in l.weight.map { "\(l.name): \(number($0))" } ?? l.name }.joined(separator: ", ")
    }

    /// `5` for 5.0, `4.5` for 4.5: the shortest text that reads back as the same Float.
    public static func number(_ f: Float) -> String {
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
        if let vae { o["vae"] = vae }
        if let vaeHash { o["vae_hash"] = vaeHash }
        if let decoder { o["decoder"] = decoder }
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
