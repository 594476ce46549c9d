// The gallery's writer lock: flock(2) on `<gallery>/.lock`, held for each mutation (save,
// replace, rename, remove). Readers take no lock: they see only complete folders because every
// folder is built under a `.tmp-` name and renamed into place last. A writer killed mid-way
// leaves at most a `.tmp-*` folder (ignored by readers, removed by the next writer) or, in the
// middle of a replace, a `.replaced-NAME` folder that the next writer puts back or removes.
// The kernel drops the flock of a killed process, so a crash never leaves the gallery locked.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ObjectGallery {
    static let lockFile = ".lock"
    static let tempPrefix = ".tmp-"
    static let replacedPrefix = ".replaced-"

    /// Runs `body` holding the writer lock, after cleaning what a killed writer left.
    func withWriteLock<R>(_ body: () throws -> R) throws -> R {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw GalleryError.notWritable(directory: directory.path, reason: Self.reason(error))
        }
        let lockPath = directory.appendingPathComponent(Self.lockFile).path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GalleryError.notWritable(directory: directory.path, reason: errnoText()) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw GalleryError.notWritable(directory: directory.path, reason: "cannot lock \(lockPath): \(errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        recoverInterruptedWrites()
        return try body()
    }

    /// Under the lock: removes `.tmp-*` folders and settles `.replaced-NAME` folders.
    func recoverInterruptedWrites() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names {
            let url = directory.appendingPathComponent(name)
            if name.hasPrefix(Self.tempPrefix) {
                try? FileManager.default.removeItem(at: url)
            } else if name.hasPrefix(Self.replacedPrefix) {
                let original = directory.appendingPathComponent(String(name.dropFirst(Self.replacedPrefix.count)))
                if FileManager.default.fileExists(atPath: original.path) {
                    try? FileManager.default.removeItem(at: url)
                } else {
                    try? FileSync.rename(url, original)
                }
            }
        }
    }

    /// A short reason for a Foundation file error: the POSIX text when there is one
    /// ("Read-only file system", "No space left on device"), else its description.
    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return errnoText(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error {
            let u = underlying as NSError
            if u.domain == NSPOSIXErrorDomain { return errnoText(Int32(u.code)) }
        }
        return ns.localizedDescription
    }
}
