// Image-to-image and live mode in the studio.
// Init image: `i` on a finished result (Preview) or a history image makes it the init image of
// the next runs (Settings › Strength, and the strength compare axis); `I` clears it.
// Live mode (F3): every edit of the prompt, the negative prompt, a setting, the object or the
// init image starts a short debounce (`liveDebounce`, the runtime posts `.liveDue`); when no
// newer edit came, the draft (StudioSettings.live: LiveDraft) is submitted replacing the engine's
// pending job: a running live draft is cancelled, a running full-quality run (Ctrl-G) keeps
// running and the draft waits as the one queued plan. So at most one job ever waits.

import Foundation

/// What a live re-render depends on: a change to any of it is an edit.
struct LiveInputs: Equatable {
    var prompt: String
    var negative: String
    var settings: StudioSettings
    var object: String?
    var initImage: InitImageChoice?

    init(_ s: StudioState) {
        prompt = s.prompt.text
        negative = s.negative.text
        settings = s.settings
        object = s.gallery.active
        initImage = s.initImage
    }
}

extension Studio {
    /// Seconds from the last edit to the live draft's submission.
    public static let liveDebounce = 0.06

    /// After a message: an edit while live mode is on starts a new debounce (a full-quality run
    /// just started — Ctrl-G, which may move the seed — is no edit).
    static func liveEdit(_ s: inout StudioState, since before: LiveInputs, effects: [Effect]) -> [Effect] {
        guard s.live.on, LiveInputs(s) != before else { return [] }
        if effects.contains(where: { if case .generate(let p) = $0 { return !p.live }; return false }) { return [] }
        s.live.token += 1
        return [.liveAfter(token: s.live.token, seconds: liveDebounce)]
    }

    static func toggleLive(_ s: inout StudioState) -> [Effect] {
        s.live.on.toggle()
        s.live.token += 1
        guard s.live.on else {
            setStatus(&s, "live mode off", .ok)
            return []
        }
        let draft = s.settings.live(s.model).request
        setStatus(&s, "live mode: edits re-render (\(draft.steps) steps, \(draft.width ?? s.model.defaultSize)x\(draft.height ?? s.model.defaultSize)); Ctrl-G full quality; F3 off", .ok)
        return submitLive(&s)
    }

    /// Submits the live draft of the current editor and settings (see the file's header).
    static func submitLive(_ s: inout StudioState) -> [Effect] {
        let plan: GenerationPlan
        switch makePlan(s, runID: s.nextRunID, live: true) {
        case .failure(let e):
            setStatus(&s, "live: \(e.message)", .warning)
            return []
        case .success(let p):
            plan = p
        }
        s.nextRunID += 1
        var effects: [Effect] = []
        if let r = s.run, r.active {
            if !r.plan.live {
                s.queued = plan
                return []
            }
            effects.append(.cancel(run: r.plan.runID))
        }
        effects += start(&s, plan)
        setStatus(&s, "live: drawing…")
        return effects
    }

    static func useAsInit(_ s: inout StudioState, _ choice: InitImageChoice) {
        s.initImage = choice
        setStatus(&s, "init image: \(choice.label) (strength \(fmt(Double(s.settings.strength))); I clears)", .ok)
    }
}
