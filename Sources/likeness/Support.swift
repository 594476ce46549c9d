import Foundation
import LikenessEngine
import LikenessKit

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Prints a warning line on standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("likeness: warning: \(message)\n".utf8))
}

extension LikenessCLI {
    /// The gallery named by --gallery, or the default ($XDG_DATA_HOME/likeness/objects).
    static func gallery(_ option: String?) -> ObjectGallery {
        option.map { ObjectGallery(directory: URL(fileURLWithPath: $0)) } ?? ObjectGallery()
    }
}

/// Loads a model folder or a single-file checkpoint, exiting with the loader's message on failure.
/// For a single file, says on standard error which architecture and prediction type are used.
func loadPipeline(_ path: String, prediction: String? = nil, vae: String? = nil, loras: [LoRAApplication] = [],
                  precision: ComputePrecision = .fp32) -> LikenessPipeline {
    var choice: PredictionType?
    if let prediction {
        guard let p = PredictionType(flag: prediction) else { fail("--prediction must be epsilon or v, got \(prediction)") }
        choice = p
    }
    let pipeline: LikenessPipeline
    do { pipeline = try LikenessPipeline(model: URL(fileURLWithPath: path), prediction: choice, vae: vae.map { URL(fileURLWithPath: $0) }, loras: loras,
                                                   precision: precision) } catch { fail("\(error)") }
    if let ckpt = pipeline.checkpoint {
        FileHandle.standardError.write(Data("likeness: \(ckpt.url.lastPathComponent): \(ckpt.version.rawValue) single file, prediction \(pipeline.predictionNote ?? "?")\n".utf8))
    }
    return pipeline
}

/// Holds the job's outcome across threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<GenerationResult, Error>?
    func set(_ v: Result<GenerationResult, Error>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<GenerationResult, Error>? { lock.lock(); defer { lock.unlock() }; return value }
}

/// One progress line on standard error, redrawn in place (only on a terminal).
final class ProgressLine: @unchecked Sendable {
    let enabled: Bool
    private var drawn = false
    init(enabled: Bool) { self.enabled = enabled }

    func update(step: Int, total: Int, elapsed: Double) {
        guard enabled else { return }
        let width = 30, filled = total > 0 ? width * step / total : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] step \(step)/\(total)  \(String(format: "%.1f", elapsed)) s".utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Turns Ctrl-C into a cancellation request (a second Ctrl-C exits at once).
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private(set) var fired = false

    init(_ onInterrupt: @escaping () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            if self.fired { Foundation.exit(130) }
            self.fired = true
            FileHandle.standardError.write(Data("\nlikeness: stopping after this step (Ctrl-C again to quit now)\n".utf8))
            onInterrupt()
        }
        source.resume()
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
