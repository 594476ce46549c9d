// Small POSIX helpers for crash-safe writes: fsync of files and folders, errno text.

import Foundation
import LikenessImaging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileSync {
    /// fsyncs a file or a folder (a folder's entries: creations and renames in it).
    static func sync(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KitError("\(url.path): cannot open to sync: \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw KitError("\(url.path): fsync failed: \(errnoText())") }
    }

    /// Writes `data` to a new file at `url` (which must not exist) and fsyncs it.
    static func writeNew(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KitError("\(url.path): cannot create the file: \(errnoText())") }
        defer { close(fd) }
        if let err = AtomicFile.writeAll(data, to: fd) { throw KitError("\(url.path): write failed: \(errnoText(err))") }
        guard fsync(fd) == 0 else { throw KitError("\(url.path): fsync failed: \(errnoText())") }
    }

    /// A new, empty folder `<parent>/<prefix><random>`.
    static func makeTempDirectory(in parent: URL, prefix: String) throws -> URL {
        for _ in 0..<16 {
            let url = parent.appendingPathComponent("\(prefix)\(String(UInt64.random(in: 0...UInt64.max), radix: 36))")
            if mkdir(url.path, 0o755) == 0 { return url }
            if errno != EEXIST { throw KitError("\(parent.path): cannot create a temporary folder: \(errnoText())") }
        }
        throw KitError("\(parent.path): cannot create a temporary folder (names taken)")
    }

    static func rename(_ from: URL, _ to: URL) throws {
        #if canImport(Glibc)
        let rc = Glibc.rename(from.path, to.path)
        #else
        let rc = Darwin.rename(from.path, to.path)
        #endif
        guard rc == 0 else { throw KitError("cannot rename \(from.path) to \(to.path): \(errnoText())") }
    }
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
