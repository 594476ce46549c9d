// What `update` asks the runtime to do. Effects are plain values, so tests can assert them.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

/// One engine job: all seeds of a run in one batch, for one value of the second axis.
public struct JobSpec: Equatable, Sendable {
    public var prompt: String
    public var negative: String
    public var seeds: [UInt64]
    public var identityGuidance: Double
    /// This job's value of the second axis (nil without one).
    public var axisValue: AxisValue?
    /// The img2img strength of this job (nil: the settings').
    public var strength: Double? = nil
}

/// A value of the compare grid's second axis, as the job used it.
public enum AxisValue: Equatable, Sendable {
    case identityGuidance(Double)
    /// The prompt S/R term put in place of the first one.
    case promptTerm(String)
    /// An img2img strength (with an init image).
    case strength(Double)

    /// The row label of the grid.
    public var label: String {
        switch self {
        case .identityGuidance(let v): return "id \(fmt(v))"
        case .promptTerm(let t): return t
        case .strength(let v): return "str \(fmt(v))"
        }
    }
}

public struct GenerationPlan: Equatable, Sendable {
    public var runID: Int
    public var settings: StudioSettings
    public var object: String?
    public var jobs: [JobSpec]
    /// The init image (image-to-image); nil starts from noise.
    public var initImage: InitImageChoice? = nil
    /// A live mode draft (LiveDraft): submitted replacing the engine's pending job, without step
    /// previews, decoded by the tiny decoder where one is attached.
    public var live = false

    /// The engine request of job `index` (object tokens and the init image's pixels aside:
    /// `object` and `initImage` name them): the settings' request with the job's prompt, seeds,
    /// identity guidance and strength.
    public func request(job index: Int) -> GenerationRequest {
        let job = jobs[index]
        var r = settings.request
        r.prompt = job.prompt
        r.negativePrompt = job.negative
        r.identityGuidance = Float(job.identityGuidance)
        r.seeds = job.seeds
        r.strength = job.strength.map(Float.init) ?? settings.strength
        return r
    }
}

/// What goes into a saved PNG's parameters: the image's request and seed, named through
/// GenerationSpec(request:…) as the CLI names its images.
public struct OutputMeta: Equatable, Sendable {
    public var request: GenerationRequest
    public var seed: UInt64
    public var object: String?
    public var model: String
    public var elapsed: Double
    /// The img2img strength when the image was made from an init image (written as
    /// `Denoising strength`).
    public var strength: Float? = nil
}

public enum Effect: Equatable, Sendable {
    case generate(GenerationPlan)
    case cancel(run: Int)
    case checkPrompt(prompt: String, negative: String, object: String?)
    case loadGallery
    case addObject(path: String, name: String)
    case renameObject(from: String, to: String)
    case removeObject(String)
    /// Re-encode these objects from their references, in order, as one piece of gallery work.
    case reencodeObjects([String])
    case saveOutput(run: Int, cell: Int, image: RGBImage, meta: OutputMeta)
    case saveImage(image: RGBImage, meta: OutputMeta, path: String)
    case loadHistory
    case loadHistoryImage(path: String)
    case openParameters(path: String)
    case completePath(String)
    case appendPromptHistory(prompt: String, negative: String)
    case saveSession(SessionData)
    /// Post `.liveDue(token)` after `seconds` (live mode's debounce).
    case liveAfter(token: Int, seconds: Double)
    /// List the LoRA folder (answered with `.lorasLoaded`).
    case loadLoRAs
    case quit
}
