// Detection against scripted terminals: a sixel xterm, a truecolor terminal without sixel,
// tmux, one that never answers, replies cut between reads, mixed with typed keys or garbage.

import XCTest
@testable import LikenessStudio

final class TerminalDetectTests: XCTestCase {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A terminal that answers with `chunks`, one per read, then stays silent.
    private func scripted(_ env: [String: String], _ chunks: [String], timeoutMs: Int = 200)
        -> (caps: TerminalCapabilities, sent: [UInt8], unconsumed: [UInt8], reads: Int) {
        var queue = chunks.map { Array($0.utf8) }
        var sent: [UInt8] = []
        var reads = 0
        let r = TerminalDetect.detectWithInput(env: env, write: { sent += $0 }, read: { _ in
            reads += 1
            return queue.isEmpty ? nil : queue.removeFirst()
        }, timeoutMs: timeoutMs)
        return (r.capabilities, sent, r.unconsumed, reads)
    }

    func testQueriesEndWithDA1() {
        let q = String(decoding: TerminalDetect.queryBytes(), as: UTF8.self)
        XCTAssertEqual(q, "\u{1b}[>0q\u{1b}[16t\u{1b}[?1;1;0S\u{1b}[c")
        XCTAssertTrue(q.hasSuffix("\u{1b}[c"))
    }

    func testSixelXterm() {
        let r = scripted(["TERM": "xterm-256color"],
                         ["\u{1b}P>|XTerm(388)\u{1b}\\\u{1b}[6;20;10t", "\u{1b}[?1;0;1024S\u{1b}[?63;1;2;4;6;9;15;22c"])
        XCTAssertEqual(r.sent, TerminalDetect.queryBytes())
        XCTAssertTrue(r.caps.answered)
        XCTAssertTrue(r.caps.sixel)
        XCTAssertEqual(r.caps.name, "XTerm(388)")
        XCTAssertEqual(r.caps.cellPixelWidth, 10)
        XCTAssertEqual(r.caps.cellPixelHeight, 20)
        XCTAssertEqual(r.caps.sixelColorRegisters, 1024)
        XCTAssertEqual(r.caps.deviceAttributes, [63, 1, 2, 4, 6, 9, 15, 22])
        XCTAssertEqual(r.caps.bestPreview, .sixel)
        XCTAssertTrue(r.unconsumed.isEmpty)
        XCTAssertEqual(r.reads, 2, "stops reading once DA1 is in")
    }

    func testTruecolorTerminalWithoutSixel() {
        let r = scripted(["TERM": "xterm-256color", "COLORTERM": "truecolor"],
                         ["\u{1b}P>|kitty(0.32.2)\u{1b}\\\u{1b}[6;18;9t\u{1b}[?1;3;0S\u{1b}[?62;c"])
        XCTAssertFalse(r.caps.sixel)
        XCTAssertTrue(r.caps.truecolor)
        XCTAssertNil(r.caps.sixelColorRegisters, "status 3 is a failure")
        XCTAssertEqual(r.caps.bestPreview, .halfblockTruecolor)
        XCTAssertEqual(r.caps.cellPixelWidth, 9)
    }

    func testTmuxFallsBackToHalfBlocksUnlessForced() throws {
        let r = scripted(["TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,123,0", "COLORTERM": "truecolor"],
                         ["\u{1b}P>|tmux 3.3a\u{1b}\\\u{1b}[?1;2;4c"])
        XCTAssertTrue(r.caps.inTmux)
        XCTAssertTrue(r.caps.sixel, "the answer says sixel")
        XCTAssertEqual(r.caps.bestPreview, .halfblockTruecolor, "but inside tmux auto never picks it")
        XCTAssertEqual(try TerminalDetect.resolve(requested: "auto", caps: r.caps), .halfblockTruecolor)
        XCTAssertEqual(try TerminalDetect.resolve(requested: "sixel", caps: r.caps), .sixel)
        // XTVERSION alone reveals tmux even when TMUX was not passed on (e.g. through sudo).
        let hidden = scripted(["TERM": "screen-256color"], ["\u{1b}P>|tmux 3.4\u{1b}\\\u{1b}[?62;4c"])
        XCTAssertTrue(hidden.caps.inTmux)
        XCTAssertEqual(hidden.caps.bestPreview, .halfblock256)
    }

    func testTerminalThatNeverAnswersFallsBackFromEnvironment() {
        let start = ContinuousClock.now
        var asked: [Int] = []
        let caps = TerminalDetect.detect(env: ["TERM": "foot", "COLORTERM": "24bit"], write: { _ in }, read: { ms in
            asked.append(ms)
            return nil
        }, timeoutMs: 150)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
        XCTAssertEqual(asked.count, 1)
        XCTAssertGreaterThan(asked[0], 100, "the read waits for the time left")
        XCTAssertFalse(caps.answered)
        XCTAssertTrue(caps.sixel, "foot draws sixel: the environment guess stands")
        XCTAssertTrue(caps.truecolor)
        XCTAssertEqual(caps.bestPreview, .sixel)
        let plain = TerminalDetect.detect(env: ["TERM": "xterm"], write: { _ in }, read: { _ in nil }, timeoutMs: 10)
        XCTAssertEqual(plain.bestPreview, .ascii)
    }

    func testTimeoutBoundsSlowTrickle() {
        // A terminal that keeps sending garbage and never DA1: the deadline ends the loop.
        let caps = TerminalDetect.detect(env: ["TERM": "xterm-256color"], write: { _ in }, read: { _ in
            Thread.sleep(forTimeInterval: 0.01)
            return Array("zz".utf8)
        }, timeoutMs: 60)
        XCTAssertFalse(caps.answered)
        XCTAssertEqual(caps.bestPreview, .halfblock256)
    }

    func testDumbTerminalIsNotQueried() {
        var wrote = false
        let caps = TerminalDetect.detect(env: ["TERM": "dumb"], write: { _ in wrote = true }, read: { _ in nil })
        XCTAssertFalse(wrote)
        XCTAssertEqual(caps.bestPreview, .ascii)
        XCTAssertTrue(TerminalDetect.detect(env: [:], write: { _ in wrote = true }, read: { _ in nil }).dumb)
        XCTAssertFalse(wrote)
    }

    func testRepliesSplitAnywhereAndMixedWithTypedKeys() {
        let stream = "ab\u{1b}P>|WezTerm 2024\u{1b}\\\u{1b}[A\u{1b}[6;16;8t\u{1b}x\u{1b}[?65;4;1c"
        let all = bytes(stream)
        for cut in 1..<all.count {
            var p = TerminalReplyParser()
            p.feed(Array(all[..<cut]))
            p.feed(Array(all[cut...]))
            XCTAssertEqual(p.replies, [.version("WezTerm 2024"), .cellSize(width: 8, height: 16), .deviceAttributes([65, 4, 1])],
                           "cut at \(cut)")
            XCTAssertEqual(p.unconsumed, bytes("ab\u{1b}[A\u{1b}x"), "cut at \(cut)")
        }
    }

    func testGarbageAndMalformedSequencesAreSkipped() {
        var p = TerminalReplyParser()
        p.feed(bytes("\u{1b}[6;2\u{01}junk\u{1b}P>|bad\u{1b}Q\u{1b}\u{1b}[?1;0;256S\u{1b}[?62;22c"))
        XCTAssertEqual(p.replies, [.sixelRegisters(status: 0, value: 256), .deviceAttributes([62, 22])])
        XCTAssertTrue(p.sawDeviceAttributes)
        let caps = TerminalDetect.apply(p.replies, to: TerminalCapabilities.fromEnvironment(["TERM": "xterm"]))
        XCTAssertFalse(caps.sixel, "DA1 without 4 overrides the XTSMGRAPHICS hint")
        XCTAssertEqual(caps.sixelColorRegisters, 256)
    }

    func testXTSMGraphicsCountsAsSixelWithoutDA1() {
        let caps = TerminalDetect.parse(replies: bytes("\u{1b}[?1;0;256S"), base: .fromEnvironment(["TERM": "xterm"]))
        XCTAssertTrue(caps.sixel)
        XCTAssertFalse(caps.answered)
    }

    func testOversizedUnterminatedSequenceIsDropped() {
        var p = TerminalReplyParser()
        p.feed(bytes("\u{1b}P") + Array(repeating: UInt8(ascii: "x"), count: 5000))
        p.feed(bytes("\u{1b}[?62;4c"))
        XCTAssertEqual(p.replies, [.deviceAttributes([62, 4])])
    }

    func testKittyGraphicsReply() {
        var p = TerminalReplyParser()
        p.feed(bytes("\u{1b}_Gi=31;OK\u{1b}\\"))
        XCTAssertEqual(p.replies, [.kittyGraphics(ok: true)])
        p.feed(bytes("\u{1b}_Gi=31;ENOTSUPPORTED:no\u{1b}\\"))
        XCTAssertEqual(p.replies.last, .kittyGraphics(ok: false))
    }

    func testEnvironmentGuesses() {
        let e = TerminalCapabilities.fromEnvironment
        XCTAssertTrue(e(["TERM": "xterm-256color", "COLORTERM": "24bit"]).truecolor)
        XCTAssertFalse(e(["TERM": "xterm-256color"]).truecolor)
        XCTAssertTrue(e(["TERM": "xterm-256color"]).colors256)
        XCTAssertTrue(e(["TERM": "xterm-direct"]).truecolor)
        XCTAssertTrue(e(["TERM": "xterm-kitty"]).truecolor)
        XCTAssertTrue(e(["TERM": "screen-256color", "STY": "1.pts-0"]).inScreen)
        XCTAssertEqual(e(["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]).bestPreview, .sixel)
        XCTAssertTrue(e(["TERM": "xterm", "NO_COLOR": "1"]).noColor)
        XCTAssertFalse(e(["TERM": "xterm", "NO_COLOR": ""]).noColor)
        XCTAssertEqual(e(["TERM": "vt100"]).bestPreview, .ascii)
    }

    func testResolvePreviewFlag() throws {
        var caps = TerminalCapabilities.fromEnvironment(["TERM": "xterm-256color"])
        XCTAssertEqual(try TerminalDetect.resolve(requested: "halfblock", caps: caps), .halfblock256)
        caps.truecolor = true
        XCTAssertEqual(try TerminalDetect.resolve(requested: "HalfBlock", caps: caps), .halfblockTruecolor)
        XCTAssertEqual(try TerminalDetect.resolve(requested: "ascii", caps: caps), .ascii)
        XCTAssertEqual(try TerminalDetect.resolve(requested: "halfblock256", caps: caps), .halfblock256)
        XCTAssertEqual(try TerminalDetect.resolve(requested: "kitty", caps: caps), .kitty)
        XCTAssertThrowsError(try TerminalDetect.resolve(requested: "iterm", caps: caps)) { e in
            XCTAssertTrue("\(e)".contains("auto, kitty, sixel, halfblock"), "\(e)")
        }
    }

    func testKittyIsPreferredOutsideMultiplexers() {
        var caps = TerminalCapabilities.fromEnvironment(["TERM": "xterm-kitty"])
        caps.kittyGraphics = true
        caps.sixel = true
        XCTAssertEqual(caps.bestPreview, .kitty, "24-bit pixels beat a 256-colour sixel")
        caps.inTmux = true
        XCTAssertEqual(caps.bestPreview, .halfblockTruecolor, "tmux does not pass kitty graphics on")
    }
}

final class TerminalDetectSlowLinkTests: XCTestCase {
    func testWaitsLongerOnceTheTerminalHasAnswered() {
        // XTVERSION at once, DA1 only after 1.5x the timeout (a slow ssh link).
        var step = 0
        let caps = TerminalDetect.detect(env: ["TERM": "xterm-256color"], write: { _ in }, read: { ms in
            step += 1
            if step == 1 { return Array("\u{1b}P>|XTerm(390)\u{1b}\\".utf8) }
            if step == 2 { Thread.sleep(forTimeInterval: min(Double(ms), 90) / 1000); return Array("z".utf8) }
            Thread.sleep(forTimeInterval: 0.01)
            return Array("\u{1b}[?63;4c".utf8)
        }, timeoutMs: 60)
        XCTAssertTrue(caps.answered, "DA1 after the first timeout still counts")
        XCTAssertTrue(caps.sixel)
    }
}
