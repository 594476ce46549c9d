// The settings the studio keeps, saved with the session: the generation values (LikenessKit's
// GenerationSpec itself) and the studio's own (compare, axis, preview, busy policy). Plain Codable
// values, decoded tolerantly by SessionData; the Settings pane edits them through `SettingField`
// (one place for names, steps and validation).

import Foundation
import LikenessEngine
import LikenessKit

public enum SeedMode: String, Codable, CaseIterable, Sendable {
    /// The same seeds every run, so differences come from the prompt.
    case fixed
    /// A new random base seed every run.
    case random
    /// The base seed moves past the seeds just used.
    case increment
}

/// How step previews are made: `auto` decodes them with the VAE where that is cheap (small
/// latents) and otherwise uses the model's latent->RGB map, or decodes every few steps.
public enum PreviewQuality: String, Codable, CaseIterable, Sendable {
    case auto, latent, decode, tiny
    public var label: String { rawValue }
}

public enum BusyPolicy: String, Codable, CaseIterable, Sendable {
    case queue, replace
}

/// The second compare axis: none, a list of identity guidance values, prompt search/replace
/// (A1111 "Prompt S/R": the first term is found in the prompt, each term replaces it), or a list
/// of img2img strengths (with an init image).
public enum CompareAxis: String, Codable, CaseIterable, Sendable {
    case none
    case identity
    case prompt
    case strength
    public var label: String {
        switch self {
        case .none: return "none"
        case .identity: return "identity"
        case .prompt: return "prompt S/R"
        case .strength: return "strength"
        }
    }
}

/// Live mode's draft preset (the user edits it in Settings): what each re-render while typing
/// uses instead of the full settings. One seed, no compare axis, no step previews, and the tiny
/// decoder for the image where one is attached; Ctrl-G makes the full-quality image.
public struct LiveDraft: Codable, Equatable, Sendable {
    /// Sampling steps of a live image (at most the full settings' steps).
    public var steps = 4
    /// The longer side in pixels at most (the full size's aspect kept, rounded down to the
    /// model's size multiple); never larger than the full size.
    public var maxSide = 256
    public init() {}
}

public struct StudioSettings: Codable, Equatable, Sendable {
    /// The generation values, held as the shared configuration itself (prompt texts empty: the
    /// editor holds them): a new GenerationSpec field is a studio setting once it has a row in
    /// SettingField. The studio sets every field it edits; Karras is kept across sampler changes
    /// and sent only with samplers that have Karras sigmas.
    public var generation: GenerationSpec = StudioSettings.defaultGeneration
    public var seedMode: SeedMode = .fixed
    public var compareCount = 2
    public var axis: CompareAxis = .none
    public var identityValues = "0, 1.5, 3, 5"
    public var promptValues = ""
    public var previewQuality: PreviewQuality = .auto
    public var busyPolicy: BusyPolicy = .replace
    /// Strengths of the strength axis: `0.3, 0.5, 0.75`.
    public var strengthValues = "0.3, 0.5, 0.75"
    public var live = LiveDraft()

    public init() {}

    /// The engine's defaults with a 64 x 64 size, seed 1 and Karras off.
    public static let defaultGeneration: GenerationSpec = {
        var g = GenerationSpec(request: GenerationRequest(prompt: ""), seed: 1, width: 64, height: 64, karras: false, model: nil)
        g.identityGuidance = GenerationRequest(prompt: "").identityGuidance
        g.karras = false
        return g
    }()

    /// The engine request these settings make (prompt texts empty, the base seed as its seed):
    /// what the rows show and what every job starts from.
    public var request: GenerationRequest {
        var spec = generation
        if spec.sampler?.supportsKarrasSigmas != true { spec.karras = nil }
        var r = GenerationRequest(prompt: "")
        spec.apply(to: &r)
        return r
    }

    /// Takes the values a recalled image records (`GenerationSpec.merge`), not its record of the
    /// model and object used: the studio's own settings (seeds to compare, axis, preview quality,
    /// busy policy, seed mode) stay as they are.
    public mutating func apply(_ spec: GenerationSpec) {
        generation.merge(spec.settingValues)
    }

    /// Seeds of the next run from the base seed.
    public func seeds() -> [UInt64] {
        let seed = request.seed
        return (0..<max(1, compareCount)).map { seed &+ UInt64($0) }
    }

    /// Identity guidance values of the second axis (parsed; invalid entries make the list nil).
    public static func parseValues(_ s: String) -> [Double]? {
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty, parts.count <= 8 else { return nil }
        var out: [Double] = []
        for p in parts {
            guard let v = Double(p), v.isFinite, v >= 0, v <= 30 else { return nil }
            out.append(v)
        }
        return out
    }

    /// Strengths of the strength axis (up to 8 numbers from 0 to 1; nil when any is not).
    public static func parseStrengths(_ s: String) -> [Double]? {
        guard let values = parseValues(s), values.allSatisfy({ $0 <= 1 }) else { return nil }
        return values
    }

    /// The img2img strength the settings give (the engine's default when none was set).
    public var strength: Float { generation.strength ?? GenerationRequest(prompt: "").strength }

    /// These settings as live mode's draft makes them (`LiveDraft`): fewer steps, a size within
    /// the draft's longest side, one seed, no axis.
    public func live(_ m: ModelFacts) -> StudioSettings {
        var s = self
        let r = request
        s.generation.steps = max(1, min(live.steps, r.steps))
        let w = r.width ?? m.defaultSize, h = r.height ?? m.defaultSize
        let longest = max(w, h)
        if longest > live.maxSide {
            let scale = Double(live.maxSide) / Double(longest), k = max(1, m.sizeMultiple)
            s.generation.width = max(k, Int(Double(w) * scale) / k * k)
            s.generation.height = max(k, Int(Double(h) * scale) / k * k)
        }
        s.compareCount = 1
        s.axis = .none
        return s
    }

    /// Prompt S/R terms: `beach | snow | city` (the first is searched for).
    public static func parseTerms(_ s: String) -> [String] {
        s.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// Facts about the loaded model that settings and the prompt check need (no tensors).
public struct ModelFacts: Equatable, Sendable {
    public var name: String
    public var defaultSize: Int
    public var sizeMultiple: Int
    public var maxSide: Int
    public var maxTokens: Int
    public var placeholder: String
    public var hasObjectEncoder: Bool
    public var karrasDefault: Bool
    /// Pixels per latent along a side (the VAE's downsampling).
    public var vaeFactor: Int
    /// The folder has preview/latent_rgb.json.
    public var hasLatentPreview: Bool
    /// A tiny decoder (TAESD) is attached to the pipeline.
    public var hasTinyDecoder: Bool

    public init(name: String, defaultSize: Int = 64, sizeMultiple: Int = 8, maxSide: Int = 2048, maxTokens: Int = 77,
                placeholder: String = "<obj>", hasObjectEncoder: Bool = true, karrasDefault: Bool = false,
                vaeFactor: Int = 8, hasLatentPreview: Bool = false, hasTinyDecoder: Bool = false) {
        self.name = name; self.defaultSize = defaultSize; self.sizeMultiple = sizeMultiple; self.maxSide = maxSide
        self.maxTokens = maxTokens; self.placeholder = placeholder; self.hasObjectEncoder = hasObjectEncoder
        self.karrasDefault = karrasDefault; self.vaeFactor = vaeFactor; self.hasLatentPreview = hasLatentPreview
        self.hasTinyDecoder = hasTinyDecoder
    }

    /// The previews a run at `width` x `height` gets for `quality`: what kind, and every how many
    /// steps. `auto` decodes every step up to 32 x 32 latents (the built-in model's 16 x 16 decode
    /// costs less than a step); larger, it uses the tiny decoder (TAESD) every step when one is
    /// attached, else the latent->RGB map when the folder has one, else decodes every
    /// (latents / 512) steps, since a VAE decode at SD size costs more than a step. `tiny` without
    /// a tiny decoder falls back as `auto` does.
    public func previewPlan(_ quality: PreviewQuality, width: Int, height: Int) -> (kind: PreviewQuality, every: Int) {
        switch quality {
        case .latent, .decode: return (quality, 1)
        case .tiny where hasTinyDecoder: return (.tiny, 1)
        case .auto, .tiny:
            let latents = max(1, width / max(1, vaeFactor)) * max(1, height / max(1, vaeFactor))
            if latents <= 32 * 32 { return (.decode, 1) }
            if hasTinyDecoder { return (.tiny, 1) }
            if hasLatentPreview { return (.latent, 1) }
            return (.decode, max(1, latents / 512))
        }
    }
}
