// The samplers Likeness offers and the diffusers scheduler each one reproduces:
//   ddim      DDIMScheduler, eta = 0
//   euler     EulerDiscreteScheduler (s_churn = 0)
//   euler-a   EulerAncestralDiscreteScheduler
//   dpmpp-2m  DPMSolverMultistepScheduler, algorithm_type "dpmsolver++", solver_order 2, midpoint
//   lcm       LCMScheduler (latent consistency models and LCM-LoRA)
// The sampler name fixes the algorithm; scheduler_config.json supplies the noise schedule.

/// A sampling algorithm, named as on the command line.
public enum SamplerKind: String, Codable, CaseIterable, Sendable, CustomStringConvertible {
    case ddim
    case euler
    case eulerAncestral = "euler-a"
    case dpmpp2m = "dpmpp-2m"
    case lcm

    /// Parses a command-line name ("ddim", "euler", "euler-a", "dpmpp-2m", "lcm"; case-insensitive).
    public init(parsing name: String) throws {
        guard let kind = SamplerKind(rawValue: name.lowercased()) else {
            throw SamplingError.unknownSampler(name: name, valid: SamplerKind.allCases.map(\.rawValue))
        }
        self = kind
    }

    public var description: String { rawValue }

    /// Whether diffusers' scheduler for this sampler offers Karras sigmas.
    public var supportsKarrasSigmas: Bool { self == .euler || self == .dpmpp2m }

    /// Whether the sampler draws fresh noise every step (from the generator).
    public var isAncestral: Bool { self == .eulerAncestral || self == .lcm }

    /// The sampler a model folder's scheduler config asks for by its class name, where that is
    /// not the general default: LCMScheduler (LCM-distilled models) gives `lcm`.
    public static func folderDefault(schedulerClass: String?) -> SamplerKind? {
        schedulerClass == "LCMScheduler" ? .lcm : nil
    }
}

/// Errors from scheduler configuration, planning and the sampling loop.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case unknownSampler(name: String, valid: [String])
    case unreadableConfig(path: String, reason: String)
    case invalidConfig(path: String, reason: String)
    case unsupportedConfig(path: String, field: String, reason: String)
    case invalidStepCount(steps: Int, limit: Int)
    case karrasUnsupported(SamplerKind)
    case invalidSchedule(String)
    case latentCountMismatch(expected: Int, got: Int)
    case modelOutputCountMismatch(expected: Int, got: Int, step: Int)
    /// Thrown by a step callback to stop sampling; never an empty result.

    public var description: String {
        switch self {
        case .unknownSampler(let name, let valid):
            return "unknown sampler \"\(name)\"; valid samplers: \(valid.joined(separator: ", "))"
        case .unreadableConfig(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidConfig(let path, let reason):
            return "corrupt scheduler config \(path): \(reason)"
        case .unsupportedConfig(let path, let field, let reason):
            return "\(path): field \(field): \(reason)"
        case .invalidStepCount(let steps, let limit):
            return "steps must be between 1 and \(limit) (num_train_timesteps), got \(steps)"
        case .karrasUnsupported(let kind):
            return "sampler \(kind) has no Karras sigmas in diffusers; use euler or dpmpp-2m for Karras sigmas"
        case .invalidSchedule(let message):
            return message
        case .latentCountMismatch(let expected, let got):
            return "initial noise has \(got) values, expected \(expected)"
        case .modelOutputCountMismatch(let expected, let got, let step):
            return "model output at step \(step) has \(got) values, expected \(expected) (same as its input)"
        }
    }
}
