// TerminalTTY on a pseudo-terminal: a thread plays a sixel terminal on the master side; the
// detection runs on the slave, gets the answers, and leaves the termios settings as it found them.

import Foundation
import XCTest
@testable import LikenessStudio
#if canImport(Glibc)
import Glibc
#endif

final class TerminalTTYTests: XCTestCase {
    /// A pseudo-terminal pair through /dev/ptmx. Glibc's Swift module does not export
    /// posix_openpt/ptsname, so the unlock and number ioctls are used directly (values of the
    /// generic Linux ABI: x86_64, arm64).
    private func openPTY() throws -> (master: Int32, slave: Int32) {
        #if os(Linux)
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw XCTSkip("no /dev/ptmx here") }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0,
              ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0 else {
            close(master); throw XCTSkip("cannot unlock the pseudo-terminal")
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else { close(master); throw XCTSkip("cannot open /dev/pts/\(number)") }
        return (master, slave)
        #else
        throw XCTSkip("pseudo-terminal test written for Linux")
        #endif
    }

    func testDetectOnPseudoTerminalRestoresTermios() throws {
        let (master, slave) = try openPTY()
        defer { close(master); close(slave) }
        var before = termios()
        XCTAssertEqual(tcgetattr(slave, &before), 0)
        XCTAssertNotEqual(before.c_lflag & tcflag_t(ICANON), 0, "a fresh pty starts canonical")

        let answered = expectation(description: "terminal answered")
        let lflagDuringQuery = LockedBox<tcflag_t?>(nil)
        let terminal = Thread {
            var got: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 256)
            while !String(decoding: got, as: UTF8.self).hasSuffix("\u{1b}[c") {
                let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                got += buf[0..<n]
            }
            var t = termios()
            if tcgetattr(slave, &t) == 0 { lflagDuringQuery.value = t.c_lflag }
            let reply = Array("\u{1b}P>|XTerm(390)\u{1b}\\\u{1b}[6;20;10t\u{1b}[?1;0;256S\u{1b}[?63;1;4c".utf8)
            reply.withUnsafeBytes { _ = write(master, $0.baseAddress, $0.count) }
            answered.fulfill()
        }
        terminal.start()
        let r = TerminalTTY.detect(input: slave, output: slave, env: ["TERM": "xterm-256color"], timeoutMs: 3000)
        wait(for: [answered], timeout: 5)
        XCTAssertTrue(r.capabilities.answered)
        XCTAssertTrue(r.capabilities.sixel)
        XCTAssertEqual(r.capabilities.name, "XTerm(390)")
        XCTAssertEqual(r.capabilities.cellPixelHeight, 20)
        let during = try XCTUnwrap(lflagDuringQuery.value)
        XCTAssertEqual(during & tcflag_t(ICANON | ECHO | ISIG), 0, "raw while querying")
        var after = termios()
        XCTAssertEqual(tcgetattr(slave, &after), 0)
        XCTAssertEqual(after.c_lflag, before.c_lflag)
        XCTAssertEqual(after.c_iflag, before.c_iflag)
    }

    func testSilentPseudoTerminalTimesOut() throws {
        let (master, slave) = try openPTY()
        defer { close(master); close(slave) }
        let start = ContinuousClock.now
        let r = TerminalTTY.detect(input: slave, output: slave, env: ["TERM": "xterm-256color", "COLORTERM": "truecolor"],
                                   timeoutMs: 100)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(3))
        XCTAssertFalse(r.capabilities.answered)
        XCTAssertEqual(r.capabilities.bestPreview, .halfblockTruecolor)
    }

    func testNotATerminalWritesNothing() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let r = TerminalTTY.detect(input: fds[0], output: fds[1], env: ["TERM": "xterm-256color"], timeoutMs: 50)
        XCTAssertFalse(r.capabilities.answered)
        var flags = fcntl(fds[0], F_GETFL)
        flags |= O_NONBLOCK
        _ = fcntl(fds[0], F_SETFL, flags)
        var b: UInt8 = 0
        XCTAssertLessThanOrEqual(read(fds[0], &b, 1), 0, "no query was written to a pipe")
    }
}

/// A value shared with a test thread.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return v }
        set { lock.lock(); v = newValue; lock.unlock() }
    }
}
