// The driver's timing trace (LIKENESS_STUDIO_TRACE): key names as one word, the first frame of
// each preview step and of a run's final images, the line format, and the write (temporary file
// renamed into place, once).

import Foundation
import XCTest
@testable import LikenessStudio

final class TraceTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    func testKeyNamesAreOneWord() {
        XCTAssertEqual(StudioTrace.name(.char("a")), "a")
        XCTAssertEqual(StudioTrace.name(.char(" ")), "U+0020")
        XCTAssertEqual(StudioTrace.name(.char("é")), "é")
        XCTAssertEqual(StudioTrace.name(.ctrl("g")), "Ctrl-G")
        XCTAssertEqual(StudioTrace.name(.backTab), "Shift-Tab")
        XCTAssertEqual(StudioTrace.name(.function(1)), "F1")
        XCTAssertEqual(StudioTrace.name(.paste("ab c")), "paste:4")
    }

    func testStartOnlyWithTheVariable() {
        let saved = StudioTrace.shared
        defer { StudioTrace.shared = saved }
        StudioTrace.shared = nil
        StudioTrace.start(environment: [:])
        XCTAssertNil(StudioTrace.shared)
        StudioTrace.start(environment: ["LIKENESS_STUDIO_TRACE": ""])
        XCTAssertNil(StudioTrace.shared)
        StudioTrace.start(environment: ["LIKENESS_STUDIO_TRACE": "/tmp/x.trace"])
        XCTAssertEqual(StudioTrace.shared?.path, "/tmp/x.trace")
    }

    func testFramesMarkEachNewPreviewStepOnceAndTheFinalImagesOnce() throws {
        let trace = StudioTrace(path: dir.appendingPathComponent("t").path)
        var s = Fixture.state()
        trace.key(.ctrl("g"), at: 10)
        var plan: GenerationPlan?
        for e in send(&s, .ctrl("g")) { if case .generate(let p) = e { plan = p } }
        let run = try XCTUnwrap(plan).runID
        trace.frame(s, at: 20)  // run started, no preview yet
        _ = Studio.update(&s, .job(run: run, index: 0, .step(step: 1, total: 3, previews: [Fixture.image(1), Fixture.image(2)],
                                                              elapsed: 0.1, itPerSec: 10)))
        trace.frame(s, at: 30)
        trace.key(.char("x"), at: 35)
        trace.frame(s, at: 40)  // same step again: a frame, no preview event
        _ = Studio.update(&s, .job(run: run, index: 0, .step(step: 2, total: 3, previews: [Fixture.image(3), Fixture.image(4)],
                                                              elapsed: 0.2, itPerSec: 10)))
        trace.frame(s, at: 50)
        _ = Studio.update(&s, .job(run: run, index: 0, .finished(images: [Fixture.image(5), Fixture.image(6)], elapsed: 0.3, warnings: [])))
        trace.frame(s, at: 60)
        trace.frame(s, at: 70)
        XCTAssertEqual(trace.text, """
        key 10 Ctrl-G
        frame 20
        frame 30
        preview 30 1
        key 35 x
        frame 40
        frame 50
        preview 50 2
        frame 60
        finished 60
        frame 70

        """)

        // A second run starts counting again.
        var plan2: GenerationPlan?
        for e in send(&s, .ctrl("g")) { if case .generate(let p) = e { plan2 = p } }
        let run2 = try XCTUnwrap(plan2).runID
        XCTAssertNotEqual(run, run2)
        _ = Studio.update(&s, .job(run: run2, index: 0, .step(step: 1, total: 3, previews: [Fixture.image(7), nil],
                                                               elapsed: 0.1, itPerSec: 10)))
        trace.frame(s, at: 80)
        XCTAssertEqual(trace.events.suffix(2), [.frame(80), .preview(80, step: 1)])
    }

    func testWriteReplacesTheFileAtomicallyOnce() throws {
        let file = dir.appendingPathComponent("studio.trace")
        try Data("old\n".utf8).write(to: file)
        let trace = StudioTrace(path: file.path)
        trace.key(.enter, at: 1)
        trace.frame(Fixture.state(), at: 2)
        XCTAssertTrue(trace.write())
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "key 1 Enter\nframe 2\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["studio.trace"], "no temporary file left")
        trace.key(.escape, at: 3)
        XCTAssertTrue(trace.write())
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "key 1 Enter\nframe 2\n", "written once, at exit")
    }

    func testWriteFailureLeavesNothingBehind() {
        let trace = StudioTrace(path: dir.appendingPathComponent("missing/dir/studio.trace").path)
        trace.frame(Fixture.state(), at: 1)
        XCTAssertFalse(trace.write())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
