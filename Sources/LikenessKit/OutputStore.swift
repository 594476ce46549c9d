// The outputs folder: every finished image as `NNNNN-SEED.png` with its `parameters` chunk.
// Names are unique across processes: the PNG is written and fsynced under a temporary name, then,
// under the folder's flock, hard-linked to the next number (link(2) fails instead of replacing), so
// two writers never take the same number and a reader never sees a partial file.

import Foundation
import LikenessImaging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct OutputStore: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }
    public init(paths: LikenessPaths = LikenessPaths()) { directory = paths.outputs }

    public struct Item: Equatable, Sendable {
        public var url: URL
        public var number: Int
        public var seed: UInt64?
    }

    /// Saves `image` with `parameters` as `NNNNN-SEED.png`; returns the new file.
    @discardableResult
    public func save(_ image: RGBImage, parameters: PNGParameters, seed: UInt64) throws -> URL {
        try save(image, parameters: parameters, label: "\(seed)")
    }

    /// Saves `image` as `NNNNN-LABEL.png` (LABEL: a seed, or e.g. `grid`).
    @discardableResult
    public func save(_ image: RGBImage, parameters: PNGParameters, label: String) throws -> URL {
        guard !label.isEmpty, label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw KitError("output label \"\(label)\" must be letters, digits, '-' or '_'")
        }
        let data: Data
        do { data = try image.pngData(text: [(PNGParameters.chunkKey, parameters.text)]) } catch {
            throw KitError("cannot encode the image as PNG: \(error)")
        }
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw KitError("\(directory.path): cannot create the outputs folder: \(ObjectGallery.reason(error))")
        }
        let tmp = directory.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).png")
        do { try FileSync.writeNew(data, to: tmp) } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw KitError("\(directory.path): cannot save the image: \(error)")
        }
        defer { unlink(tmp.path) }
        // Numbers are unique across labels: choose and link under the folder's lock.
        let lockFD = open(directory.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw KitError("\(directory.path): cannot lock the outputs folder: \(errnoText())") }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 {
            guard errno == EINTR else { throw KitError("\(directory.path): cannot lock the outputs folder: \(errnoText())") }
        }
        var number = ((try? list()) ?? []).map(\.number).max().map { $0 + 1 } ?? 1
        for _ in 0..<10_000 {
            let url = directory.appendingPathComponent(String(format: "%05d", number) + "-\(label).png")
            if link(tmp.path, url.path) == 0 {
                try? FileSync.sync(directory)
                return url
            }
            guard errno == EEXIST else { throw KitError("\(url.path): cannot save the image: \(errnoText())") }
            number += 1
        }
        throw KitError("\(directory.path): no free output number found")
    }

    /// Saved images, newest (highest number) first. Files not named `NNNNN-SEED.png` are skipped.
    public func list() throws -> [Item] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw KitError("\(directory.path): cannot list the outputs: \(ObjectGallery.reason(error))")
        }
        return names.compactMap { name -> Item? in
            guard !name.hasPrefix("."), name.hasSuffix(".png") else { return nil }
            let stem = name.dropLast(4)
            let parts = stem.split(separator: "-", maxSplits: 1)
            guard let first = parts.first, first.count >= 5, let n = Int(first) else { return nil }
            return Item(url: directory.appendingPathComponent(name), number: n, seed: parts.count > 1 ? UInt64(parts[1]) : nil)
        }.sorted { $0.number > $1.number }
    }
}
