// Image-to-image and live mode in `update`: any result or history image becomes the init image
// with one key (i) and I clears it; the strength setting and axis reach the engine requests;
// live mode (F3) debounces edits (only the last edit's debounce submits), replaces a running
// draft, waits behind a full-quality run as the one queued plan, and never queues more.

import XCTest
import LikenessEngine
import LikenessImaging
import LikenessKit
@testable import LikenessStudio

final class UpdateLiveTests: XCTestCase {
    func generated(_ effects: [Effect]) -> [GenerationPlan] {
        effects.compactMap { if case .generate(let p) = $0 { return p }; return nil }
    }

    func liveTokens(_ effects: [Effect]) -> [Int] {
        effects.compactMap { if case .liveAfter(let t, _) = $0 { return t }; return nil }
    }

    /// A state with one finished one-seed run (run 1).
    func finishedRun() -> StudioState {
        var s = Fixture.state()
        s.settings.compareCount = 1
        _ = send(&s, .ctrl("g"))
        _ = Studio.update(&s, .job(run: 1, index: 0, .finished(images: [Fixture.image(4)], elapsed: 1, warnings: [])))
        return s
    }

    func testResultBecomesInitImageAndIClearsIt() throws {
        var s = finishedRun()
        s.focus = .preview
        _ = send(&s, .char("i"))
        XCTAssertEqual(s.initImage, InitImageChoice(image: Fixture.image(4), label: "seed \(s.run!.cells[0].seed)"))
        XCTAssertTrue(s.status.contains("init image"), s.status)
        s.settings.generation.strength = 0.4
        let plan = try XCTUnwrap(generated(send(&s, .ctrl("g"))).first)
        XCTAssertEqual(plan.initImage?.image, Fixture.image(4))
        XCTAssertEqual(plan.request(job: 0).strength, 0.4)
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .finished(images: [Fixture.image(5)], elapsed: 1, warnings: [])))
        s.focus = .preview
        _ = send(&s, .char("I"))
        XCTAssertNil(s.initImage)
        XCTAssertNil(try XCTUnwrap(generated(send(&s, .ctrl("g"))).first).initImage)
    }

    func testUnfinishedResultIsNotTaken() {
        var s = Fixture.state()
        s.settings.compareCount = 1
        _ = send(&s, .ctrl("g"))
        _ = Studio.update(&s, .job(run: 1, index: 0, .step(step: 2, total: 25, previews: [Fixture.image(1)], elapsed: 0.1, itPerSec: 20)))
        s.focus = .preview
        _ = send(&s, .char("i"))
        XCTAssertNil(s.initImage)
        XCTAssertTrue(s.status.contains("not finished"), s.status)
    }

    func testHistoryImageBecomesInitImage() {
        var s = Fixture.state()
        _ = send(&s, .function(2))
        _ = Studio.update(&s, .historyLoaded([HistoryItem(path: "/tmp/out/00001-7.png", title: "00001-7.png", detail: "", recall: nil, thumb: nil)]))
        _ = send(&s, .char("i"))
        XCTAssertNil(s.initImage, "the full image is not loaded yet")
        XCTAssertTrue(s.status.contains("still loading"), s.status)
        _ = Studio.update(&s, .historyImageLoaded(path: "/tmp/out/00001-7.png", image: Fixture.image(9, w: 32, h: 32)))
        _ = send(&s, .char("i"))
        XCTAssertEqual(s.initImage, InitImageChoice(image: Fixture.image(9, w: 32, h: 32), label: "00001-7.png"))
        XCTAssertEqual(s.screen, .studio)
    }

    func testStrengthSettingAndAxis() throws {
        var s = Fixture.state()
        let row = try XCTUnwrap(SettingField.allCases.firstIndex(of: .strength))
        XCTAssertNil(SettingField.strength.set(&s.settings, from: "1.5", s.model) == nil ? "accepted" : nil)
        XCTAssertEqual(SettingField.strength.set(&s.settings, from: "0.35", s.model), nil)
        XCTAssertEqual(s.settings.generation.strength, 0.35)
        SettingField.strength.step(&s.settings, by: 1, s.model)
        XCTAssertEqual(s.settings.generation.strength, 0.4)
        XCTAssertEqual(SettingField.strength.value(s.settings, s.model), "0.4")
        XCTAssertGreaterThan(row, 0)

        s.settings.axis = .strength
        s.settings.compareCount = 2
        _ = send(&s, .ctrl("g"))
        XCTAssertTrue(s.status.contains("needs an init image"), s.status)
        s.initImage = InitImageChoice(image: Fixture.image(1), label: "x")
        XCTAssertNotNil(SettingField.axisValues.set(&s.settings, from: "2", s.model), "strengths above 1 are refused")
        XCTAssertNil(SettingField.axisValues.set(&s.settings, from: "0.2, 0.6", s.model))
        let plan = try XCTUnwrap(generated(send(&s, .ctrl("g"))).first)
        XCTAssertEqual(plan.jobs.map(\.axisValue), [.strength(0.2), .strength(0.6)])
        XCTAssertEqual(plan.jobs.count, 2)
        XCTAssertEqual((0..<2).map { plan.request(job: $0).strength }, [0.2, 0.6])
        XCTAssertEqual(AxisValue.strength(0.6).label, "str 0.6")
    }

    /// Saved images made from an init image record the strength as A1111 does.
    func testOutputMetaRecordsStrengthOnlyWithInitImage() throws {
        var s = finishedRun()
        var effects = Studio.update(&s, .job(run: 1, index: 0, .finished(images: [Fixture.image(4)], elapsed: 1, warnings: [])))
        s.initImage = InitImageChoice(image: Fixture.image(4), label: "seed 1")
        s.settings.generation.strength = 0.6
        let plan = try XCTUnwrap(generated(send(&s, .ctrl("g"))).first)
        effects = Studio.update(&s, .job(run: plan.runID, index: 0, .finished(images: [Fixture.image(6)], elapsed: 1, warnings: [])))
        let metas = effects.compactMap { if case .saveOutput(_, _, _, let m) = $0 { return m }; return nil }
        XCTAssertEqual(metas.map(\.strength), [0.6])
    }

    func testLiveDebounceSubmitsOnlyTheLastEdit() throws {
        var s = Fixture.state()
        s.settings.compareCount = 3
        s.settings.generation.steps = 25
        s.settings.live.steps = 6
        let on = send(&s, .function(3))
        XCTAssertTrue(s.live.on)
        var plan = try XCTUnwrap(generated(on).first, "turning live mode on draws at once")
        XCTAssertTrue(plan.live)
        XCTAssertEqual(plan.settings.request.steps, 6)
        XCTAssertEqual(plan.jobs.count, 1)
        XCTAssertEqual(plan.jobs[0].seeds.count, 1, "a draft is one seed")
        _ = Studio.update(&s, .job(run: plan.runID, index: 0, .finished(images: [Fixture.image(1)], elapsed: 0.1, warnings: [])))

        var tokens: [Int] = []
        for ch in " at night" { tokens += liveTokens(type(&s, String(ch))) }
        XCTAssertEqual(tokens.count, 9, "every edit restarts the debounce")
        for t in tokens.dropLast() {
            XCTAssertEqual(Studio.update(&s, .liveDue(token: t)), [], "a stale debounce submits nothing")
        }
        let due = Studio.update(&s, .liveDue(token: try XCTUnwrap(tokens.last)))
        plan = try XCTUnwrap(generated(due).first)
        XCTAssertTrue(plan.jobs[0].prompt.hasSuffix("at night"))
        XCTAssertEqual(generated(due).count, 1)

        // A setting edit is an edit too; moving around is not.
        s.focus = .settings
        XCTAssertEqual(liveTokens(send(&s, .down, .down)), [])
        XCTAssertEqual(SettingField.allCases[s.settingsPane.row], .steps)
        XCTAssertEqual(liveTokens(send(&s, .right)).count, 1)

        _ = send(&s, .function(3))
        XCTAssertFalse(s.live.on)
        s.focus = .prompt
        XCTAssertEqual(liveTokens(type(&s, "x")), [], "no debounce with live mode off")
    }

    func testLiveReplacesARunningDraftAndWaitsBehindAFullRun() throws {
        var s = Fixture.state()
        s.settings.compareCount = 1
        let first = try XCTUnwrap(generated(send(&s, .function(3))).first)
        // A new edit while the first draft runs: the running draft is cancelled, the new one starts.
        let token = try XCTUnwrap(liveTokens(type(&s, "s")).last)
        let due = Studio.update(&s, .liveDue(token: token))
        XCTAssertTrue(due.contains(.cancel(run: first.runID)), "\(due)")
        let second = try XCTUnwrap(generated(due).first)
        XCTAssertEqual(s.run?.plan.runID, second.runID)
        // Until the cancelled draft stops, the engine reports the new one behind it: the preview's
        // line says the previous draft is stopping, not that images are queued.
        _ = Studio.update(&s, .job(run: second.runID, index: 0, .queued(position: 1)))
        let waitingLine = StudioView.render(s, theme: .builtinDark).grid.text
        XCTAssertTrue(waitingLine.contains("live: stopping the previous draft"), waitingLine)
        XCTAssertFalse(waitingLine.contains("waiting for the engine"), waitingLine)

        // Ctrl-G: the full-quality run replaces the draft and is not itself an edit.
        let full = send(&s, .ctrl("g"))
        let fullPlan = try XCTUnwrap(generated(full).first)
        XCTAssertFalse(fullPlan.live)
        XCTAssertEqual(fullPlan.settings.request.steps, s.settings.request.steps)
        XCTAssertEqual(liveTokens(full), [])

        // Edits while the full run works: one draft waits (the latest), nothing else is submitted.
        var submitted: [GenerationPlan] = []
        for ch in "abc" {
            for t in liveTokens(type(&s, String(ch))) { submitted += generated(Studio.update(&s, .liveDue(token: t))) }
            XCTAssertEqual(s.queued?.live, true)
        }
        XCTAssertEqual(submitted, [], "never more than one plan waits")
        XCTAssertTrue(s.queued?.jobs[0].prompt.hasSuffix("abc") ?? false)
        let done = Studio.update(&s, .job(run: fullPlan.runID, index: 0, .finished(images: [Fixture.image(2)], elapsed: 1, warnings: [])))
        XCTAssertEqual(generated(done).map(\.live), [true], "the waiting draft starts when the full run ends")
        XCTAssertTrue(done.contains { if case .saveOutput = $0 { return true }; return false }, "the full-quality image is saved")
        XCTAssertNil(s.queued)

        // A finished draft is not saved.
        let draftDone = Studio.update(&s, .job(run: s.run!.plan.runID, index: 0, .finished(images: [Fixture.image(3)], elapsed: 0.1, warnings: [])))
        XCTAssertFalse(draftDone.contains { if case .saveOutput = $0 { return true }; return false })
        XCTAssertTrue(s.status.hasPrefix("live: draft in"), s.status)
    }

    func testLiveDraftSize() {
        var settings = StudioSettings()
        settings.generation.width = 768
        settings.generation.height = 512
        settings.live.maxSide = 256
        let m = ModelFacts(name: "sd", defaultSize: 512, sizeMultiple: 8)
        let draft = settings.live(m).request
        XCTAssertEqual(draft.width, 256)
        XCTAssertEqual(draft.height, 168, "aspect kept, rounded down to the size multiple")
        settings.generation.width = 64
        settings.generation.height = 64
        XCTAssertEqual(settings.live(m).request.width, 64, "never larger than the full size")
    }
}
