// The job API the studio and the CLI use: submit a request, receive events on the caller's
// handler (on the engine's worker thread): queued, started, step (one preview per seed),
// then exactly one of finished / cancelled / failed. One job runs at a time per engine (the
// engine already uses every core inside each step); later ones wait in order.
// Cancellation is checked after every UNet layer (resnet, attention), after every step and
// before each VAE decode, so it lands within a fraction of a step. A front end that re-submits
// as the user types passes `replacePending: true`: jobs still waiting are cancelled in favour of
// the new one.
// The worker thread and the compute pool run at a raised nice value (`workerNice`), so a front
// end's thread on the same cores gets a core as soon as it wakes.

import CLikenessKernels
import Foundation

public enum JobEvent: Sendable {
    /// Accepted; `position` jobs run or wait before it (0: it starts next).
    case queued(position: Int)
    case started
    case step(StepEvent)
    case finished(GenerationResult)
    case cancelled(afterStep: Int)
    case failed(JobError)
}

/// Why a job failed, typed so a front end can point at the field at fault.
public enum JobError: Error, CustomStringConvertible, Equatable {
    /// The prompt (unknown words, too long, placeholder problems); `words` are the offending
    /// words with their character offsets in the prompt, when the problem is a word.
    case prompt(PromptError, words: [PromptWordPosition])
    /// Image size, seeds, guidance or sampler settings.
    case settings(String)
    /// The model folder or the object tokens (e.g. tokens from another model).
    case model(String)
    /// A LoRA of the request that cannot be read or does not fit the model (the prompt's tag is at fault).
    case lora(String)
    case other(String)

    public var description: String {
        switch self {
        case .prompt(let e, _): return e.description
        case .settings(let m), .model(let m), .lora(let m), .other(let m): return m
        }
    }

    /// Classifies an error thrown by `LikenessPipeline.generate`.
    public init(_ error: Error, prompt: String) {
        switch error {
        case let e as PromptError:
            var words: [PromptWordPosition] = []
            if case .unknownWords(let list) = e { words = PromptWordPosition.find(list, in: prompt) }
            self = .prompt(e, words: words)
        case let e as GenerationError:
            if case .noObjectEncoder = e { self = .model(e.description) } else { self = .settings(e.description) }
        case let e as SamplingError:
            self = .settings(e.description)
        case let e as ModelInputError:
            self = .model(e.description)
        case let e as LoRASwitchError:
            self = .lora(e.description)
        case let e as CheckpointError:
            self = .model(e.description)
        default:
            self = .other("\(error)")
        }
    }
}

/// A word of a prompt and where it starts (offset in Characters).
public struct PromptWordPosition: Sendable, Equatable {
    public var word: String
    public var offset: Int

    public init(word: String, offset: Int) { self.word = word; self.offset = offset }

    /// Each word's first standalone occurrence in `prompt` (or offset -1 when not found verbatim).
    static func find(_ words: [String], in prompt: String) -> [PromptWordPosition] {
        let chars = Array(prompt)
        return words.map { word in
            let target = Array(word)
            guard !target.isEmpty, target.count <= chars.count else { return PromptWordPosition(word: word, offset: -1) }
            for i in 0...(chars.count - target.count) where Array(chars[i..<i + target.count]) == target {
                return PromptWordPosition(word: word, offset: i)
            }
            return PromptWordPosition(word: word, offset: -1)
        }
    }
}

/// A handle on one submitted request.
public final class GenerationJob: @unchecked Sendable {
    public let id: Int
    public let request: GenerationRequest
    let handler: @Sendable (JobEvent) -> Void
    private let lock = NSLock()
    private var cancelFlag = false
    private let done = DispatchSemaphore(value: 0)

    init(id: Int, request: GenerationRequest, handler: @escaping @Sendable (JobEvent) -> Void) {
        self.id = id
        self.request = request
        self.handler = handler
    }

    /// Asks the job to stop: a waiting job never starts, a running one stops at the next check
    /// (between UNet layers) and ends with `.cancelled`.
    public func cancel() {
        lock.lock(); cancelFlag = true; lock.unlock()
    }

    public var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelFlag
    }

    /// Blocks until the job has delivered its last event.
    public func wait() { done.wait(); done.signal() }

    func finish() { done.signal() }
}

/// Runs jobs one at a time on a background thread against one loaded pipeline.
public final class GenerationEngine: @unchecked Sendable {
    public let pipeline: LikenessPipeline
    private let lock = NSLock()
    private let wake = NSCondition()
    private var pending: [GenerationJob] = []
    private var running: GenerationJob?
    private var nextID = 1
    private var worker: Thread?

    /// - Parameters:
    ///   - threads: compute threads for this engine's jobs (nil: all available cores).
    ///   - workerNice: nice value of the job thread and the compute pool (0 keeps the default).
    public init(pipeline: LikenessPipeline, threads: Int? = nil, workerNice: Int = 5) {
        self.pipeline = pipeline
        if let threads { ComputeThreads.set(threads) }
        let thread = Thread { [weak self] in
            if workerNice > 0 {
                _ = lk_set_current_thread_nice(Int32(workerNice))
                lk_pool_set_worker_nice(Int32(workerNice))
            }
            while let job = self?.nextJob() { self?.run(job) }
        }
        thread.name = "likeness.engine"
        thread.stackSize = 16 << 20
        worker = thread
        thread.start()
    }

    /// Queues `request`. `handler` receives every event on the engine's thread (hop to your
    /// own if needed); the last one is `.finished`, `.cancelled` or `.failed`.
    /// `replacePending`: cancel jobs still waiting (not the running one) in favour of this one.
    @discardableResult
    public func submit(_ request: GenerationRequest, replacePending: Bool = false,
                       handler: @escaping @Sendable (JobEvent) -> Void) -> GenerationJob {
        wake.lock()
        let job = GenerationJob(id: nextID, request: request, handler: handler)
        nextID += 1
        var replaced: [GenerationJob] = []
        if replacePending {
            replaced = pending
            pending.removeAll()
        }
        pending.append(job)
        let position = pending.count - 1 + (running == nil ? 0 : 1)
        wake.signal()
        wake.unlock()
        for old in replaced {
            old.cancel()
            old.handler(.cancelled(afterStep: 0))
            old.finish()
        }
        handler(.queued(position: position))
        return job
    }

    /// Cancels the running job and every waiting one.
    public func cancelAll() {
        wake.lock()
        let waiting = pending
        pending.removeAll()
        let current = running
        wake.unlock()
        current?.cancel()
        for job in waiting {
            job.cancel()
            job.handler(.cancelled(afterStep: 0))
            job.finish()
        }
    }

    /// Jobs waiting (not counting the running one).
    public var pendingCount: Int {
        wake.lock(); defer { wake.unlock() }
        return pending.count
    }

    /// One encoder pass on the calling thread: never waits behind a running generation (the
    /// object encoder shares no state with the sampling loop).
    public func encodeObject(pixels: Tensor) throws -> Tensor {
        try pipeline.encodeObject(pixels: pixels)
    }

    private func nextJob() -> GenerationJob? {
        wake.lock()
        defer { wake.unlock() }
        running = nil
        while pending.isEmpty { wake.wait() }
        let job = pending.removeFirst()
        running = job
        return job
    }

    private func run(_ job: GenerationJob) {
        defer { job.finish() }
        let handler = job.handler
        if job.isCancelled { handler(.cancelled(afterStep: 0)); return }
        handler(.started)
        do {
            let result = try pipeline.generate(job.request, checkpoint: { steps in
                if job.isCancelled { throw GenerationCancelled(afterStep: steps) }
            }, onStep: { event in
                handler(.step(event))
            })
            handler(.finished(result))
        } catch let c as GenerationCancelled {
            handler(.cancelled(afterStep: c.afterStep))
        } catch {
            handler(.failed(JobError(error, prompt: job.request.prompt)))
        }
    }
}
