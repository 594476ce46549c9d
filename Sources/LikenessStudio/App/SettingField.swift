// One row of the Settings pane: its label, how Left/Right changes it, how typed text sets it,
// and the reason a typed value is refused.

import Foundation
import LikenessEngine

public enum SettingField: Int, CaseIterable, Sendable {
    case sampler, karras, steps, textGuidance, identityGuidance, seedMode, seed, size, compare, axis, axisValues,
         previewQuality, busyPolicy, strength, liveSteps, liveSize

    public var label: String {
        switch self {
        case .sampler: return "Sampler"
        case .karras: return "Karras"
        case .steps: return "Steps"
        case .textGuidance: return "Text guid."
        case .identityGuidance: return "Id. guid."
        case .seedMode: return "Seed mode"
        case .seed: return "Seed"
        case .size: return "Size"
        case .compare: return "Seeds"
        case .axis: return "Axis"
        case .axisValues: return "Values"
        case .previewQuality: return "Preview"
        case .busyPolicy: return "While busy"
        case .strength: return "Strength"
        case .liveSteps: return "Live steps"
        case .liveSize: return "Live size"
        }
    }

    /// Whether typing starts editing this field (numbers and free text).
    public var acceptsText: Bool {
        switch self {
        case .steps, .textGuidance, .identityGuidance, .seed, .size, .compare, .axisValues, .strength, .liveSteps, .liveSize: return true
        default: return false
        }
    }

    public func value(_ s: StudioSettings, _ m: ModelFacts) -> String {
        let r = s.request
        switch self {
        case .sampler: return r.sampler.rawValue
        case .karras:
            if !r.sampler.supportsKarrasSigmas { return "n/a" }
            return r.karras ?? m.karrasDefault ? "on" : "off"
        case .steps: return "\(r.steps)"
        case .textGuidance: return fmt(Double(r.textGuidance))
        case .identityGuidance: return fmt(Double(r.identityGuidance))
        case .seedMode: return s.seedMode.rawValue
        case .seed: return "\(r.seed)"
        case .size: return "\(r.width ?? m.defaultSize)x\(r.height ?? m.defaultSize)"
        case .compare: return "\(s.compareCount)"
        case .axis: return s.axis.label
        case .axisValues:
            switch s.axis {
            case .none: return ""
            case .identity: return s.identityValues
            case .prompt: return s.promptValues
            case .strength: return s.strengthValues
            }
        case .previewQuality: return s.previewQuality.label
        case .busyPolicy: return s.busyPolicy.rawValue
        case .strength: return fmt(Double(s.strength))
        case .liveSteps: return "\(s.live.steps)"
        case .liveSize: return "\(s.live.maxSide)"
        }
    }

    /// What the pane shows in place of an empty value.
    public func hint(_ s: StudioSettings) -> String {
        switch self {
        case .axisValues where s.axis == .prompt: return "(type: term | alt | alt)"
        default: return "-"
        }
    }

    /// Left (-1) or Right (+1).
    public func step(_ s: inout StudioSettings, by d: Int, _ m: ModelFacts) {
        let r = s.request
        switch self {
        case .sampler: s.generation.sampler = cycle(SamplerKind.allCases, r.sampler, d)
        case .karras: if r.sampler.supportsKarrasSigmas { s.generation.karras = !(r.karras ?? m.karrasDefault) }
        case .steps: s.generation.steps = min(1000, max(1, r.steps + d * (r.steps >= 50 ? 5 : 1)))
        case .textGuidance: s.generation.textGuidance = min(30, max(0, r.textGuidance + Float(d) * 0.5))
        case .identityGuidance: s.generation.identityGuidance = min(30, max(0, r.identityGuidance + Float(d) * 0.5))
        case .seedMode: s.seedMode = cycle(SeedMode.allCases, s.seedMode, d)
        case .seed: s.generation.seed = d < 0 ? (r.seed == 0 ? 0 : r.seed - 1) : r.seed &+ 1
        case .size:
            let v = min(m.maxSide, max(m.sizeMultiple, (r.width ?? m.defaultSize) + d * m.sizeMultiple))
            s.generation.width = v; s.generation.height = v
        case .compare: s.compareCount = min(8, max(1, s.compareCount + d))
        case .axis: s.axis = cycle(CompareAxis.allCases, s.axis, d)
        case .axisValues: break
        case .previewQuality: s.previewQuality = cycle(PreviewQuality.allCases, s.previewQuality, d)
        case .busyPolicy: s.busyPolicy = cycle(BusyPolicy.allCases, s.busyPolicy, d)
        case .strength: s.generation.strength = min(1, max(0, ((s.strength + Float(d) * 0.05) * 100).rounded() / 100))
        case .liveSteps: s.live.steps = min(1000, max(1, s.live.steps + d))
        case .liveSize: s.live.maxSide = min(m.maxSide, max(m.sizeMultiple, s.live.maxSide + d * m.sizeMultiple))
        }
    }

    /// Sets the field from typed text; returns the reason when the text is refused (nothing changes).
    public func set(_ s: inout StudioSettings, from text: String, _ m: ModelFacts) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch self {
        case .steps:
            guard let v = Int(t), v >= 1, v <= 1000 else { return "steps must be a whole number from 1 to 1000" }
            s.generation.steps = v
        case .textGuidance, .identityGuidance:
            guard let v = Float(t), v.isFinite, v >= 0, v <= 30 else { return "\(label.lowercased()) must be a number from 0 to 30" }
            if self == .textGuidance { s.generation.textGuidance = v } else { s.generation.identityGuidance = v }
        case .seed:
            guard let v = UInt64(t) else { return "seed must be a whole number from 0 to \(UInt64.max)" }
            s.generation.seed = v
        case .size:
            let parts = t.lowercased().split(separator: "x").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            let w: Int?, h: Int?
            if parts.count == 1 { w = parts[0]; h = parts[0] } else if parts.count == 2 { w = parts[0]; h = parts[1] } else { w = nil; h = nil }
            guard let w, let h else { return "size is WIDTHxHEIGHT, e.g. 64x64" }
            guard w > 0, h > 0, w % m.sizeMultiple == 0, h % m.sizeMultiple == 0, w <= m.maxSide, h <= m.maxSide else {
                return "width and height must be multiples of \(m.sizeMultiple), at most \(m.maxSide)"
            }
            s.generation.width = w; s.generation.height = h
        case .compare:
            guard let v = Int(t), v >= 1, v <= 8 else { return "seeds to compare must be from 1 to 8" }
            s.compareCount = v
        case .axisValues:
            switch s.axis {
            case .none: return "choose an axis first (identity guidance, prompt S/R or strength)"
            case .identity:
                guard StudioSettings.parseValues(t) != nil else {
                    return "values are up to 8 numbers from 0 to 30, separated by commas"
                }
                s.identityValues = t
            case .prompt:
                guard StudioSettings.parseTerms(t).count >= 2 else {
                    return "write the term to replace, then its alternatives: beach | snow | city"
                }
                s.promptValues = t
            case .strength:
                guard StudioSettings.parseStrengths(t) != nil else {
                    return "strengths are up to 8 numbers from 0 to 1, separated by commas"
                }
                s.strengthValues = t
            }
        case .strength:
            guard let v = Float(t), v.isFinite, v >= 0, v <= 1 else { return "strength must be a number from 0 to 1 (how far the init image is noised)" }
            s.generation.strength = v
        case .liveSteps:
            guard let v = Int(t), v >= 1, v <= 1000 else { return "live steps must be a whole number from 1 to 1000" }
            s.live.steps = v
        case .liveSize:
            guard let v = Int(t), v >= m.sizeMultiple, v <= m.maxSide, v % m.sizeMultiple == 0 else {
                return "live size is the longest side in pixels: a multiple of \(m.sizeMultiple), at most \(m.maxSide)"
            }
            s.live.maxSide = v
        default:
            return "use Left/Right to change \(label.lowercased())"
        }
        return nil
    }
}

func fmt(_ v: Double) -> String {
    v == v.rounded() ? String(format: "%.0f", v) : String(format: "%g", v)
}

private func cycle<T: Equatable>(_ all: [T], _ v: T, _ d: Int) -> T {
    guard let i = all.firstIndex(of: v), !all.isEmpty else { return all.first ?? v }
    return all[((i + d) % all.count + all.count) % all.count]
}
