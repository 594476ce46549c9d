// Generation: building a run from the editor and settings (seeds × second-axis values), queue or
// replace while busy, and folding engine events into the result cells.

import Foundation
import LikenessEngine
import LikenessImaging

extension Studio {
    /// Whether `prompt` has the placeholder as a word of its own (the engine's rule).
    static func hasPlaceholder(_ prompt: String, _ ph: String) -> Bool {
        !PromptEncoder.placeholderRanges(in: prompt, placeholder: ph).isEmpty
    }

    /// The run Ctrl-G would start (or, `live`, the draft live mode submits), or the reason it cannot.
    static func makePlan(_ s: StudioState, runID: Int, live: Bool = false) -> Result<GenerationPlan, PlanError> {
        let prompt = s.prompt.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !prompt.isEmpty else { return .failure(PlanError("the prompt is empty: type what to draw")) }
        let ph = s.model.placeholder
        let wantsObject = hasPlaceholder(prompt, ph)
        if wantsObject && s.gallery.active == nil {
            return .failure(PlanError("the prompt has \(ph) but no object is active: pick one in Objects (Enter) or remove \(ph)"))
        }
        if !wantsObject && s.gallery.active != nil {
            return .failure(PlanError("object \(s.gallery.active ?? "") is active but the prompt has no \(ph): add it (Ctrl-O) or press x in Objects"))
        }
        if s.promptCheck.chunks <= 1 && s.promptCheck.tokenCount > s.promptCheck.maxTokens {
            return .failure(PlanError("the prompt is \(s.promptCheck.tokenCount) tokens; this model reads \(s.promptCheck.maxTokens)"))
        }
        var settings = live ? s.settings.live(s.model) : s.settings
        if settings.seedMode == .random && !live {
            settings.generation.seed = splitmix(settings.request.seed ^ (UInt64(runID) &* 0x9E37_79B9_7F4A_7C15)) >> 33
        }
        let seeds = settings.seeds()
        let negative = s.negative.text
        let identity = Double(settings.request.identityGuidance)
        var jobs: [JobSpec] = []
        switch settings.axis {
        case .none:
            jobs = [JobSpec(prompt: prompt, negative: negative, seeds: seeds, identityGuidance: identity, axisValue: nil)]
        case .identity:
            guard let values = StudioSettings.parseValues(settings.identityValues) else {
                return .failure(PlanError("identity guidance values are not a list of numbers: \(settings.identityValues)"))
            }
            if !wantsObject { return .failure(PlanError("an identity guidance sweep needs an object and \(ph) in the prompt")) }
            jobs = values.map { JobSpec(prompt: prompt, negative: negative, seeds: seeds, identityGuidance: $0, axisValue: .identityGuidance($0)) }
        case .prompt:
            let terms = StudioSettings.parseTerms(settings.promptValues)
            guard terms.count >= 2 else { return .failure(PlanError("prompt S/R needs a term and alternatives in Settings › Values: beach | snow")) }
            guard prompt.contains(terms[0]) else { return .failure(PlanError("prompt S/R: \"\(terms[0])\" is not in the prompt")) }
            jobs = terms.map { JobSpec(prompt: prompt.replacingOccurrences(of: terms[0], with: $0), negative: negative, seeds: seeds,
                                       identityGuidance: identity, axisValue: .promptTerm($0)) }
        case .strength:
            guard let values = StudioSettings.parseStrengths(settings.strengthValues) else {
                return .failure(PlanError("strength values are not a list of numbers from 0 to 1: \(settings.strengthValues)"))
            }
            if s.initImage == nil {
                return .failure(PlanError("a strength sweep needs an init image: press i on a result (Preview) or a history image"))
            }
            jobs = values.map { JobSpec(prompt: prompt, negative: negative, seeds: seeds, identityGuidance: identity,
                                        axisValue: .strength($0), strength: $0) }
        }
        return .success(GenerationPlan(runID: runID, settings: settings, object: wantsObject ? s.gallery.active : nil, jobs: jobs,
                                       initImage: s.initImage, live: live))
    }

    static func generate(_ s: inout StudioState) -> [Effect] {
        s.settingsPane.edit = nil
        s.screen = .studio
        let plan: GenerationPlan
        switch makePlan(s, runID: s.nextRunID) {
        case .failure(let e):
            setStatus(&s, e.message, .error)
            return []
        case .success(let p):
            plan = p
        }
        s.nextRunID += 1
        if s.settings.seedMode == .increment { s.settings.generation.seed = s.settings.request.seed &+ UInt64(plan.jobs[0].seeds.count) }
        if s.settings.seedMode == .random { s.settings.generation.seed = plan.settings.request.seed }
        var effects: [Effect] = [.appendPromptHistory(prompt: plan.jobs[0].prompt, negative: plan.jobs[0].negative)]
        appendLocalHistory(&s, plan.jobs[0].prompt, plan.jobs[0].negative)
        // The session is kept at every run too, so a killed studio still comes back to it.
        effects.append(.saveSession(SessionData(from: s)))
        if let r = s.run, r.active {
            if s.settings.busyPolicy == .queue {
                s.queued = plan
                setStatus(&s, "queued: starts when the running images finish (Esc drops it)")
                return effects
            }
            effects.append(.cancel(run: r.plan.runID))
        }
        effects += start(&s, plan)
        return effects
    }

    static func appendLocalHistory(_ s: inout StudioState, _ prompt: String, _ negative: String) {
        let entry = PromptHistoryEntry(prompt: prompt, negative: negative)
        if !(s.promptHistory.entries.last?.sameText(entry) ?? false) { s.promptHistory.entries.append(entry) }
        s.promptHistory.navigator.reset()
    }

    static func start(_ s: inout StudioState, _ plan: GenerationPlan) -> [Effect] {
        var cells: [ResultCell] = []
        for (j, job) in plan.jobs.enumerated() {
            for seed in job.seeds {
                cells.append(ResultCell(seed: seed, job: j, axisValue: job.axisValue, total: plan.settings.request.steps))
            }
        }
        // Keep the previous images in place until the new previews arrive (same grid shape).
        if let old = s.run, old.cells.count == cells.count {
            for i in cells.indices { cells[i].image = old.cells[i].image }
        }
        s.run = RunState(plan: plan, jobs: Array(repeating: JobProgress(), count: plan.jobs.count), cells: cells)
        s.preview.selected = min(s.preview.selected, cells.count - 1)
        s.preview.zoomed = nil
        s.queued = nil
        let n = cells.count
        setStatus(&s, "generating \(n) image\(n == 1 ? "" : "s") (Esc cancels)")
        return [.generate(plan)]
    }

    static func cancelRun(_ s: inout StudioState, _ runID: Int) -> [Effect] {
        s.queued = nil
        setStatus(&s, "cancelling…", .warning)
        return [.cancel(run: runID)]
    }

    static func applyJob(_ s: inout StudioState, run: Int, index: Int, _ u: JobUpdate) -> [Effect] {
        guard var r = s.run, r.plan.runID == run, index < r.jobs.count else { return [] }
        let seedCount = r.columns
        var effects: [Effect] = []
        switch u {
        case .queued(let pos):
            r.jobs[index].phase = .queued(pos)
        case .started:
            r.jobs[index].phase = .running
        case let .step(step, total, previews, elapsed, itps):
            r.jobs[index].phase = .running
            r.jobs[index].step = step; r.jobs[index].total = total
            r.jobs[index].elapsed = elapsed; r.jobs[index].itPerSec = itps
            for k in 0..<seedCount {
                let c = index * seedCount + k
                r.cells[c].step = step; r.cells[c].total = total; r.cells[c].elapsed = elapsed
                if k < previews.count, let p = previews[k] { r.cells[c].image = p }
            }
        case let .finished(images, elapsed, warnings):
            r.jobs[index].phase = .finished
            r.jobs[index].step = r.jobs[index].total > 0 ? r.jobs[index].total : r.plan.settings.request.steps
            r.jobs[index].elapsed = elapsed
            for k in 0..<min(seedCount, images.count) {
                let c = index * seedCount + k
                r.cells[c].image = images[k]; r.cells[c].done = true; r.cells[c].elapsed = elapsed
                let steps = r.plan.settings.request.steps
                r.cells[c].step = steps; r.cells[c].total = steps
                // Live drafts are not kept; Ctrl-G makes (and saves) the full-quality image.
                if !r.plan.live {
                    effects.append(.saveOutput(run: run, cell: c, image: images[k], meta: meta(for: r, cell: c, model: s.model.name)))
                }
            }
            if !warnings.isEmpty { setStatus(&s, warnings.joined(separator: "; "), .warning) }
        case .cancelled(let after):
            r.jobs[index].phase = .cancelled
            setStatus(&s, "cancelled after step \(after)", .warning)
        case .failed(let message):
            r.jobs[index].phase = .failed(message)
            setStatus(&s, message, .error)
        case let .failedAt(pane, message):
            r.jobs[index].phase = .failed(message)
            setStatus(&s, message, .error)
            if s.overlay == nil && s.screen == .studio { s.focus = pane }
        }
        s.run = r
        if !r.active {
            if let next = s.queued {
                effects += start(&s, next)
            } else if r.plan.live, r.jobs.allSatisfy({ $0.phase == .finished }) {
                setStatus(&s, "live: draft in \(String(format: "%.2f", r.jobs[0].elapsed)) s · Ctrl-G full quality · F3 off", .ok)
            } else if r.jobs.allSatisfy({ $0.phase == .finished }) {
                let t = r.jobs.map(\.elapsed).reduce(0, +)
                setStatus(&s, "done: \(r.cells.count) image\(r.cells.count == 1 ? "" : "s") in \(String(format: "%.1f", t)) s, saved to outputs", .ok)
            }
        }
        return effects
    }

    static func meta(for r: RunState, cell: Int, model: String) -> OutputMeta {
        let c = r.cells[cell]
        let request = r.plan.request(job: c.job)
        return OutputMeta(request: request, seed: c.seed, object: r.plan.object, model: model, elapsed: c.elapsed,
                          strength: r.plan.initImage != nil ? request.strength : nil)
    }

    static func applyRecall(_ s: inout StudioState, _ recall: Recall, from: String) -> [Effect] {
        s.prompt.setText(recall.prompt)
        s.negative.setText(recall.negative)
        s.settings.apply(recall.spec)
        // The recalled seed is the one to use again.
        s.settings.seedMode = .fixed
        var notes = recall.notes
        if let obj = recall.object {
            if s.gallery.items.contains(where: { $0.name == obj }) {
                s.gallery.active = obj
            } else {
                s.gallery.active = nil
                notes.append("object \(obj) is not in the gallery")
            }
        } else {
            s.gallery.active = nil
        }
        s.screen = .studio
        s.focus = .prompt
        let name = (from as NSString).lastPathComponent
        setStatus(&s, "recalled \(name)" + (recall.source.map { " (\($0))" } ?? "") + (notes.isEmpty ? "; Ctrl-G regenerates" : " (\(notes.joined(separator: "; ")))"),
                  notes.isEmpty ? .ok : .warning)
        return [checkPrompt(s)]
    }

    static func beginSave(_ s: inout StudioState) -> [Effect] {
        guard let r = s.run, !r.cells.isEmpty else {
            setStatus(&s, "nothing to save yet: Ctrl-G makes an image", .warning)
            return []
        }
        let cell = min(max(0, s.preview.selected), r.cells.count - 1)
        guard r.cells[cell].done else {
            setStatus(&s, "that image is not finished yet", .warning)
            return []
        }
        openInput(&s, .saveImage(cell: cell), title: "Save seed \(r.cells[cell].seed) as (PNG path)", text: "likeness-\(r.cells[cell].seed).png")
        return []
    }
}

public struct PlanError: Error, Equatable {
    public var message: String
    init(_ m: String) { message = m }
}

func splitmix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
