// Messages from background threads (engine events, file work) to the UI thread. Posting also
// writes a byte to a pipe whose read end the UI loop polls beside stdin, so the loop wakes at
// once instead of on its next timeout.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class Mailbox: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [Msg] = []
    public let readFD: Int32
    private let writeFD: Int32

    public init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        if readFD >= 0 { close(readFD) }
        if writeFD >= 0 { close(writeFD) }
    }

    public func post(_ msg: Msg) {
        lock.lock()
        queue.append(msg)
        lock.unlock()
        if writeFD >= 0 {
            var b: UInt8 = 1
            _ = write(writeFD, &b, 1)
        }
    }

    /// Every message posted so far, oldest first.
    public func drain() -> [Msg] {
        if readFD >= 0 {
            var buf = [UInt8](repeating: 0, count: 256)
            while read(readFD, &buf, buf.count) > 0 {}
        }
        lock.lock()
        defer { lock.unlock() }
        let out = queue
        queue.removeAll()
        return out
    }
}
