// Decodes scheduler/scheduler_config.json with diffusers' key names and resolves it for one
// sampler the way `Target.from_config(pipeline.scheduler.config)` does in diffusers 0.42: a key
// present in the file wins; a key missing from the file takes the default of the sampler's own
// diffusers class (diffusers records such keys in `_use_default_values` and drops them when
// switching classes, so e.g. SD 1.5's PNDM config gives Euler "linspace" spacing but DDIM
// "leading").
// LCMScheduler: original_inference_steps and timestep_scaling, and its own defaults (scaled_linear
// 0.00085...0.012 betas, clip_sample false) for keys the file lacks.
// Limits: options diffusers offers but Likeness does not implement (thresholding, exponential /
// beta / lu-lambda / flow sigmas, log-linear interpolation, continuous timesteps, learned variance,
// a finite lambda_min_clipped, "sample" prediction, zero-SNR rescaling with DDIM) are rejected
// with an error naming the field, never ignored.

import Foundation

/// scheduler_config.json as diffusers writes it (all keys optional; unknown keys ignored).
public struct SchedulerConfig: Codable, Sendable, Equatable {
    public var className: String?
    public var numTrainTimesteps: Int?
    public var betaStart: Double?
    public var betaEnd: Double?
    public var betaSchedule: String?
    public var trainedBetas: [Double]?
    public var predictionType: String?
    public var timestepSpacing: String?
    public var stepsOffset: Int?
    public var setAlphaToOne: Bool?
    public var clipSample: Bool?
    public var clipSampleRange: Double?
    public var thresholding: Bool?
    public var useKarrasSigmas: Bool?
    public var useExponentialSigmas: Bool?
    public var useBetaSigmas: Bool?
    public var useLuLambdas: Bool?
    public var useFlowSigmas: Bool?
    public var sigmaMin: Double?
    public var sigmaMax: Double?
    public var finalSigmasType: String?
    public var interpolationType: String?
    public var timestepType: String?
    public var rescaleBetasZeroSnr: Bool?
    public var lowerOrderFinal: Bool?
    public var eulerAtFinal: Bool?
    public var lambdaMinClipped: Double?
    public var varianceType: String?
    public var solverOrder: Int?
    public var algorithmType: String?
    public var solverType: String?
    /// LCMScheduler: the distillation schedule's step count and the boundary-condition scaling.
    public var originalInferenceSteps: Int?
    public var timestepScaling: Double?

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps"
        case betaStart = "beta_start", betaEnd = "beta_end", betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas", predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing", stepsOffset = "steps_offset"
        case setAlphaToOne = "set_alpha_to_one", clipSample = "clip_sample", clipSampleRange = "clip_sample_range"
        case thresholding
        case useKarrasSigmas = "use_karras_sigmas", useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas", useLuLambdas = "use_lu_lambdas", useFlowSigmas = "use_flow_sigmas"
        case sigmaMin = "sigma_min", sigmaMax = "sigma_max", finalSigmasType = "final_sigmas_type"
        case interpolationType = "interpolation_type", timestepType = "timestep_type"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
        case lowerOrderFinal = "lower_order_final", eulerAtFinal = "euler_at_final"
        case lambdaMinClipped = "lambda_min_clipped", varianceType = "variance_type"
        case solverOrder = "solver_order", algorithmType = "algorithm_type", solverType = "solver_type"
        case originalInferenceSteps = "original_inference_steps", timestepScaling = "timestep_scaling"
    }

    public init() {}

    /// Reads scheduler_config.json; diffusers writes ±Infinity/NaN as bare tokens, accepted here.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SamplingError.unreadableConfig(path: url.path, reason: error.localizedDescription)
        }
        try self.init(jsonData: data, path: url.path)
    }

    public init(jsonData: Data, path: String = "scheduler_config.json") throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            self = try decoder.decode(SchedulerConfig.self, from: Self.quoteNonFiniteTokens(data: jsonData))
        } catch let error as DecodingError {
            throw SamplingError.invalidConfig(path: path, reason: TokenizerLoader.describe(error))
        } catch {
            throw SamplingError.invalidConfig(path: path, reason: "\(error)")
        }
    }

    /// Wraps bare Infinity / -Infinity / NaN tokens (outside strings) in quotes.
    static func quoteNonFiniteTokens(data: Data) -> Data {
        let bytes = [UInt8](data)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var i = 0
        var inString = false
        let tokens: [[UInt8]] = [Array("-Infinity".utf8), Array("Infinity".utf8), Array("NaN".utf8)]
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                out.append(b)
                if b == UInt8(ascii: "\\"), i + 1 < bytes.count {
                    out.append(bytes[i + 1])
                    i += 2
                    continue
                }
                if b == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if b == UInt8(ascii: "\"") {
                inString = true
                out.append(b)
                i += 1
                continue
            }
            if let t = tokens.first(where: { i + $0.count <= bytes.count && Array(bytes[i..<(i + $0.count)]) == $0 }) {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: t)
                out.append(UInt8(ascii: "\""))
                i += t.count
                continue
            }
            out.append(b)
            i += 1
        }
        return Data(out)
    }
}

public enum BetaSchedule: String, Sendable, CaseIterable {
    case linear
    case scaledLinear = "scaled_linear"
    case squaredcosCapV2 = "squaredcos_cap_v2"
}

public enum TimestepSpacing: String, Sendable, CaseIterable {
    case leading, trailing, linspace
}

public enum PredictionType: String, Sendable, CaseIterable {
    case epsilon
    case vPrediction = "v_prediction"
}

public enum FinalSigmasType: String, Sendable, CaseIterable {
    case zero
    case sigmaMin = "sigma_min"
}

/// A scheduler configuration resolved for one sampler: every value concrete and supported.
public struct SchedulerSettings: Sendable, Equatable {
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    public var betaSchedule: BetaSchedule
    public var trainedBetas: [Double]?
    public var predictionType: PredictionType
    public var timestepSpacing: TimestepSpacing
    public var stepsOffset: Int
    /// DDIM: the final step lands on alpha_cumprod 1 (else on alphas_cumprod[0]).
    public var setAlphaToOne: Bool
    /// DDIM: clamp the x0 prediction to ±range.
    public var clipSampleRange: Double?
    public var useKarrasSigmas: Bool
    public var sigmaMin: Double?
    public var sigmaMax: Double?
    public var finalSigmasType: FinalSigmasType
    public var rescaleBetasZeroSnr: Bool
    /// DPM-Solver++: first-order last step with fewer than 15 steps.
    public var lowerOrderFinal: Bool
    /// DPM-Solver++: always a first-order (Euler) last step.
    public var eulerAtFinal: Bool
    /// LCM: the step count of the distillation schedule the inference timesteps are taken from.
    public var originalInferenceSteps: Int = 50
    /// LCM: t · timestep_scaling enters the boundary-condition scalings c_skip and c_out.
    public var timestepScaling: Double = 10
}

extension SchedulerConfig {
    /// Resolves the configuration for `kind`, rejecting options Likeness does not implement.
    public func resolved(for kind: SamplerKind, path: String = "scheduler_config.json") throws -> SchedulerSettings {
        func invalid(_ key: CodingKeys, _ value: String, _ valid: [String]) -> SamplingError {
            .unsupportedConfig(path: path, field: key.rawValue,
                               reason: "\"\(value)\" is not supported (valid: \(valid.joined(separator: ", ")))")
        }
        func unsupported(_ key: CodingKeys, _ reason: String) -> SamplingError {
            .unsupportedConfig(path: path, field: key.rawValue, reason: reason)
        }

        let lcm = kind == .lcm
        let steps = numTrainTimesteps ?? 1000
        guard steps >= 2 else { throw unsupported(.numTrainTimesteps, "must be at least 2, got \(steps)") }
        // LCMScheduler's own defaults for keys the file lacks (as from_config fills them).
        let scheduleName = betaSchedule ?? (lcm ? "scaled_linear" : "linear")
        guard let schedule = BetaSchedule(rawValue: scheduleName) else {
            throw invalid(.betaSchedule, scheduleName, BetaSchedule.allCases.map(\.rawValue))
        }
        if let trained = trainedBetas {
            if trained.count != steps {
                throw unsupported(.trainedBetas, "has \(trained.count) values but num_train_timesteps is \(steps)")
            }
            if let bad = trained.first(where: { !($0 >= 0 && $0 < 1) }) {
                throw unsupported(.trainedBetas, "every beta must be in [0, 1), found \(bad)")
            }
        }
        for (key, value) in [(CodingKeys.betaStart, betaStart), (.betaEnd, betaEnd)] {
            if let v = value, !(v >= 0 && v < 1) { throw unsupported(key, "must be in [0, 1), got \(v)") }
        }
        let predictionName = predictionType ?? "epsilon"
        guard let prediction = PredictionType(rawValue: predictionName) else {
            throw invalid(.predictionType, predictionName, PredictionType.allCases.map(\.rawValue))
        }
        let spacingName = timestepSpacing ?? (kind == .ddim ? "leading" : "linspace")
        guard let spacing = TimestepSpacing(rawValue: spacingName) else {
            throw invalid(.timestepSpacing, spacingName, TimestepSpacing.allCases.map(\.rawValue))
        }
        let finalName = finalSigmasType ?? "zero"
        guard let finalType = FinalSigmasType(rawValue: finalName) else {
            throw invalid(.finalSigmasType, finalName, FinalSigmasType.allCases.map(\.rawValue))
        }
        let karras = useKarrasSigmas ?? false
        let rescale = rescaleBetasZeroSnr ?? false

        if thresholding == true && (kind == .ddim || kind == .dpmpp2m || lcm) {
            throw unsupported(.thresholding, "dynamic thresholding is not implemented; set it to false")
        }
        if kind == .euler || kind == .dpmpp2m {
            if useExponentialSigmas == true { throw unsupported(.useExponentialSigmas, "exponential sigmas are not implemented") }
            if useBetaSigmas == true { throw unsupported(.useBetaSigmas, "beta sigmas are not implemented") }
        }
        if kind == .euler {
            if let interpolation = interpolationType, interpolation != "linear" {
                throw invalid(.interpolationType, interpolation, ["linear"])
            }
            if timestepType == "continuous" && prediction == .vPrediction {
                throw unsupported(.timestepType, "continuous timesteps are not implemented")
            }
        }
        if kind == .dpmpp2m {
            if useLuLambdas == true { throw unsupported(.useLuLambdas, "lu lambdas are not implemented") }
            if useFlowSigmas == true { throw unsupported(.useFlowSigmas, "flow-matching sigmas are not implemented") }
            if let v = lambdaMinClipped, v.isFinite { throw unsupported(.lambdaMinClipped, "a finite value is not implemented") }
            if let v = varianceType, v == "learned" || v == "learned_range" {
                throw unsupported(.varianceType, "learned variance is not implemented")
            }
        }
        if (kind == .ddim || lcm) && rescale {
            throw unsupported(.rescaleBetasZeroSnr, "\(kind) with zero terminal SNR is not implemented; use euler or dpmpp-2m")
        }
        let original = originalInferenceSteps ?? 50
        if lcm && !(original >= 1 && original <= steps) {
            throw unsupported(.originalInferenceSteps, "must be between 1 and num_train_timesteps (\(steps)), got \(original)")
        }
        let scaling = timestepScaling ?? 10
        if lcm && !(scaling.isFinite && scaling > 0) {
            throw unsupported(.timestepScaling, "must be a positive number, got \(scaling)")
        }
        let clip = kind == .ddim ? (clipSample ?? true) : lcm ? (clipSample ?? false) : false
        return SchedulerSettings(
            numTrainTimesteps: steps,
            betaStart: betaStart ?? (lcm ? 0.00085 : 0.0001),
            betaEnd: betaEnd ?? (lcm ? 0.012 : 0.02),
            betaSchedule: schedule,
            trainedBetas: trainedBetas,
            predictionType: prediction,
            timestepSpacing: spacing,
            stepsOffset: stepsOffset ?? 0,
            setAlphaToOne: setAlphaToOne ?? true,
            clipSampleRange: clip ? (clipSampleRange ?? 1.0) : nil,
            useKarrasSigmas: (kind == .euler || kind == .dpmpp2m) ? karras : false,
            sigmaMin: sigmaMin,
            sigmaMax: sigmaMax,
            finalSigmasType: finalType,
            rescaleBetasZeroSnr: rescale,
            lowerOrderFinal: lowerOrderFinal ?? true,
            eulerAtFinal: eulerAtFinal ?? false,
            originalInferenceSteps: original,
            timestepScaling: scaling)
    }
}
