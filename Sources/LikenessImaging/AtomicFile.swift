import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either the old file or the complete new one.
///
/// The bytes go to a new temporary file (`.<name>.<pid>-<random>.tmp`) in the destination's
/// directory, are flushed to disk (fsync), and the temporary file is renamed over the
/// destination (rename is atomic within one file system). On any failure the temporary file is
/// removed and the destination, if it existed, is untouched. An existing file's permission bits
/// are kept; a new file gets 0666 minus the umask. If the destination is a symbolic link, the
/// link itself is replaced.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw ImageError.writeFailed(path: path, reason: "not a file name")
        }
        var existing = stat()
        let exists = lstat(path, &existing) == 0
        if exists && (existing.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError.writeFailed(path: path, reason: "is a directory")
        }
        let tempPath = (directory as NSString).appendingPathComponent(
            ".\(name).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp")

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            let err = errno
            throw ImageError.writeFailed(path: path, reason: "cannot create a temporary file in \(directory): \(errnoText(err))")
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { _ = close(fd) }
            if !renamed { _ = unlink(tempPath) }
        }
        if exists && (existing.st_mode & S_IFMT) == S_IFREG {
            _ = fchmod(fd, existing.st_mode & 0o7777)
        }
        if let err = Self.writeAll(data, to: fd) {
            throw ImageError.writeFailed(path: path, reason: "write failed: \(errnoText(err))")
        }
        guard fsync(fd) == 0 else {
            let err = errno
            throw ImageError.writeFailed(path: path, reason: "fsync failed: \(errnoText(err))")
        }
        closed = true
        guard close(fd) == 0 else {
            let err = errno
            throw ImageError.writeFailed(path: path, reason: "close failed: \(errnoText(err))")
        }
        guard rename(tempPath, path) == 0 else {
            let err = errno
            throw ImageError.writeFailed(path: path, reason: "rename failed: \(errnoText(err))")
        }
        renamed = true
    }

    /// Writes all of `data` to the open descriptor `fd`, retrying writes that a signal
    /// interrupted (EINTR) or that wrote part; returns the errno of a failed write, or nil.
    public static func writeAll(_ data: Data, to fd: Int32) -> Int32? {
        data.withUnsafeBytes { raw -> Int32? in
            guard var p = raw.baseAddress else { return nil }
            var left = raw.count
            while left > 0 {
                let n = Glibc_write(fd, p, left)
                if n < 0 {
                    let err = errno
                    if err == EINTR { continue }
                    return err
                }
                left -= n
                p += n
            }
            return nil
        }
    }

    /// Text variant: writes the UTF-8 bytes of `string`.
    public static func write(_ string: String, to url: URL) throws {
        try write(Data(string.utf8), to: url)
    }
}

private func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
