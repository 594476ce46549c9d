// The job API the studio and the CLI use: submit a request, receive step events on the caller's
// handler, end in exactly one of finished / cancelled / failed. Work runs on a background queue,
// one job at a time per engine (the engine already uses both cores inside each step).
// Cancellation is checked after every step, so it is honoured within one step.

import Foundation

public enum JobEvent: Sendable {
    case step(StepEvent)
    case finished(GenerationResult)
    case cancelled(afterStep: Int)
    case failed(String)
}

/// A handle on one submitted request.
public final class GenerationJob: @unchecked Sendable {
    public let id: Int
    public let request: GenerationRequest
    private let lock = NSLock()
    private var cancelFlag = false
    private let done = DispatchSemaphore(value: 0)

    init(id: Int, request: GenerationRequest) {
        self.id = id
        self.request = request
    }

    /// Asks the job to stop; it ends with `.cancelled` after the current step.
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

/// Runs jobs on a serial background queue against one loaded pipeline.
public final class GenerationEngine: @unchecked Sendable {
    public let pipeline: LikenessPipeline
    private let queue = DispatchQueue(label: "likeness.engine", qos: .userInitiated)
    private let lock = NSLock()
    private var nextID = 1

    public init(pipeline: LikenessPipeline) {
        self.pipeline = pipeline
    }

    /// Queues `request`; `handler` receives every event on the engine's queue (hop to your own
    /// thread if needed). The last event is `.finished`, `.cancelled` or `.failed`.
    @discardableResult
    public func submit(_ request: GenerationRequest, handler: @escaping @Sendable (JobEvent) -> Void) -> GenerationJob {
        lock.lock()
        let job = GenerationJob(id: nextID, request: request)
        nextID += 1
        lock.unlock()
        queue.async { [pipeline] in
            defer { job.finish() }
            do {
                if job.isCancelled { throw GenerationCancelled(afterStep: 0) }
                let result = try pipeline.generate(request) { event in
                    handler(.step(event))
                    if job.isCancelled { throw GenerationCancelled(afterStep: event.step) }
                }
                handler(.finished(result))
            } catch let c as GenerationCancelled {
                handler(.cancelled(afterStep: c.afterStep))
            } catch {
                handler(.failed("\(error)"))
            }
        }
        return job
    }

    /// Encodes a reference image on the engine's queue (so it never races a running job).
    public func encodeObject(pixels: Tensor) throws -> Tensor {
        try queue.sync { try pipeline.encodeObject(pixels: pixels) }
    }
}
