import Foundation
import LikenessEngine
import LikenessImaging
import XCTest
@testable import LikenessKit

final class GalleryTests: XCTestCase {
    func testSaveListLoadRenameRemove() throws {
        let dir = try temporaryDirectory(self)
        let gallery = ObjectGallery(directory: dir.appendingPathComponent("objects"))
        XCTAssertEqual(try gallery.list(), [], "a missing gallery folder is an empty gallery")
        let model = fakeModel()
        let ref = try reference(dir)
        let (saved, replaced) = try gallery.save(name: "mug", tokens: tokens(), reference: ref, model: model)
        XCTAssertFalse(replaced)
        XCTAssertEqual(saved.record.source, ref.path)
        XCTAssertEqual(saved.tokenCount, 4)
        for file in ["reference.png", "thumbnail.png", "tokens.safetensors", "object.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: saved.folder.appendingPathComponent(file).path), file)
        }
        XCTAssertEqual(try RGBImage(contentsOf: saved.referenceURL), ref.image, "the reference is kept as given")
        XCTAssertEqual(try RGBImage(contentsOf: saved.thumbnailURL).width, 64)
        let loaded = try gallery.tokens(named: "mug", for: model)
        XCTAssertEqual(loaded.tensor, tokens())
        XCTAssertEqual(loaded.sourceSHA256, ref.sha256)
        XCTAssertEqual(loaded.modelFingerprint, model.fingerprint)
        let file = try SafeTensorsFile(url: saved.tokensURL)
        XCTAssertEqual(file.entries["object_tokens"]?.shape, [1, 4, 8])
        XCTAssertEqual(file.metadata["num_tokens"], "4")
        XCTAssertEqual(file.metadata["dim"], "8")
        XCTAssertEqual(file.metadata["injection"], "input_embedding")

        assertThrows(try gallery.save(name: "mug", tokens: tokens(), reference: ref, model: model, replace: false),
                     contains: ["\"mug\" already exists"])
        XCTAssertTrue(try gallery.save(name: "mug", tokens: tokens(offset: 1), reference: ref, model: model).replaced)
        XCTAssertEqual(try gallery.tokens(named: "mug", for: model).tensor, tokens(offset: 1))

        try gallery.save(name: "cup", tokens: tokens(), reference: ref, model: model)
        XCTAssertEqual(try gallery.list().map(\.name), ["cup", "mug"])
        assertThrows(try gallery.rename("cup", to: "mug"), contains: ["\"mug\" already exists"])
        try gallery.rename("cup", to: "tea cup")
        XCTAssertEqual(try gallery.object(named: "tea cup").record.name, "tea cup")
        assertThrows(try gallery.rename("nope", to: "x"), contains: ["no object named \"nope\"", "mug", "tea cup"])
        try gallery.remove("mug")
        XCTAssertEqual(try gallery.list().map(\.name), ["tea cup"])
        assertThrows(try gallery.remove("mug"), contains: ["no object named \"mug\""])
        assertThrows(try gallery.tokens(named: "../x", for: model), contains: ["not allowed"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: gallery.directory.path).filter { $0.hasPrefix(".tmp") || $0.hasPrefix(".replaced") }
        XCTAssertEqual(leftovers, [])
    }

    func testStaleTokensAreRefusedWithTheCommand() throws {
        let dir = try temporaryDirectory(self)
        let gallery = ObjectGallery(directory: dir)
        try gallery.save(name: "mug", tokens: tokens(), reference: try reference(dir.appendingPathComponent("..")), model: fakeModel("old"))
        let current = fakeModel("toybox", fingerprint: String(repeating: "b", count: 64))
        let object = try gallery.object(named: "mug")
        XCTAssertTrue(object.isStale(for: current))
        XCTAssertFalse(object.isStale(for: fakeModel("old")))
        assertThrows(try gallery.tokens(named: "mug", for: current),
                     contains: ["\"mug\"", "old", "likeness encode --image", "mug/reference.png", "--name mug", "--model /models/toybox"])
        let textOnly = ModelIdentity(name: "t", folder: URL(fileURLWithPath: "/m/t"), fingerprint: "f", tokenCount: nil, hiddenSize: 8, injection: nil)
        assertThrows(try gallery.tokens(named: "mug", for: textOnly), contains: ["/m/t has no object_encoder"])
        // Same fingerprint but another K (a config change) is stale too.
        XCTAssertTrue(object.isStale(for: fakeModel("old", k: 8)))
    }

    func testTextualInversionImport() throws {
        let dir = try temporaryDirectory(self)
        let gallery = ObjectGallery(directory: dir.appendingPathComponent("g"))
        let ti = dir.appendingPathComponent("ti.safetensors")
        // As textual_inversion.save_tokens writes: one tensor, no metadata.
        try SafeTensorsWriter.write(["object_tokens": tokens(offset: 3)], to: ti)
        let model = fakeModel()
        let (object, _) = try gallery.importTokens(from: ti, name: "ti mug", model: model)
        XCTAssertEqual(object.record.origin, "textual-inversion")
        XCTAssertFalse(FileManager.default.fileExists(atPath: object.referenceURL.path))
        XCTAssertEqual(try gallery.tokens(named: "ti mug", for: model).tensor, tokens(offset: 3))
        XCTAssertEqual(try gallery.list().map(\.name), ["ti mug"])
        assertThrows(try gallery.tokens(named: "ti mug", for: fakeModel(fingerprint: "c")), contains: ["likeness objects import"])
        // Wrong shape, wrong tensor name.
        assertThrows(try gallery.importTokens(from: ti, name: "x", model: fakeModel(k: 2)), contains: ["[1, 4, 8]", "[1, 2, 8]"])
        let wrong = dir.appendingPathComponent("wrong.safetensors")
        try SafeTensorsWriter.write(["tokens": tokens()], to: wrong)
        assertThrows(try gallery.importTokens(from: wrong, name: "y", model: model), contains: ["wrong.safetensors", "object_tokens", "found: tokens"])
        XCTAssertEqual(try gallery.list().map(\.name), ["ti mug"])
    }

    func testReadersSkipTempFoldersAndReportDamagedOnes() throws {
        let dir = try temporaryDirectory(self)
        let gallery = ObjectGallery(directory: dir)
        try gallery.save(name: "good", tokens: tokens(), reference: try reference(dir), model: fakeModel())
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent(".tmp-abc"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try fm.copyItem(at: dir.appendingPathComponent("good"), to: dir.appendingPathComponent("no tokens"))
        try fm.removeItem(at: dir.appendingPathComponent("no tokens/tokens.safetensors"))
        try fm.copyItem(at: dir.appendingPathComponent("good"), to: dir.appendingPathComponent("bad json"))
        try Data("{".utf8).write(to: dir.appendingPathComponent("bad json/object.json"))
        try fm.copyItem(at: dir.appendingPathComponent("good"), to: dir.appendingPathComponent("cut tokens"))
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("cut tokens/tokens.safetensors"))
        for name in ["obj-23", "obj-229", "obj-9"] {
            try fm.copyItem(at: dir.appendingPathComponent("good"), to: dir.appendingPathComponent(name))
        }
        let entries = try gallery.list()
        XCTAssertEqual(entries.map(\.name), ["bad json", "cut tokens", "empty", "good", "no tokens", "obj-9", "obj-23", "obj-229"])
        let damaged = entries.compactMap { e -> String? in if case .damaged(let n, _) = e { return n } else { return nil } }
        XCTAssertEqual(damaged, ["bad json", "cut tokens", "empty", "no tokens"])
        assertThrows(try gallery.tokens(named: "no tokens", for: fakeModel()), contains: ["damaged", "tokens.safetensors is missing", "objects rm"])
        // The next writer removes what a killed writer left.
        try gallery.remove("empty")
        XCTAssertFalse(fm.fileExists(atPath: dir.appendingPathComponent(".tmp-abc").path))
    }

    /// A writer killed between moving the old object aside and renaming the new one in: the
    /// next writer puts the old one back.
    func testInterruptedReplaceIsRecovered() throws {
        let dir = try temporaryDirectory(self)
        let gallery = ObjectGallery(directory: dir)
        try gallery.save(name: "mug", tokens: tokens(), reference: try reference(dir), model: fakeModel())
        try FileManager.default.moveItem(at: dir.appendingPathComponent("mug"), to: dir.appendingPathComponent(".replaced-mug"))
        XCTAssertEqual(try gallery.list().map(\.name), [])
        try gallery.save(name: "other", tokens: tokens(), reference: try reference(dir), model: fakeModel())
        XCTAssertEqual(try gallery.list().map(\.name), ["mug", "other"])
        XCTAssertEqual(try gallery.tokens(named: "mug", for: fakeModel()).tensor, tokens())
    }

    func testFailingWritesLeaveTheGalleryIntact() throws {
        let dir = try temporaryDirectory(self)
        let ref = try reference(dir)
        // The gallery path's parent is a file.
        let file = dir.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        assertThrows(try ObjectGallery(directory: file.appendingPathComponent("objects")).save(name: "a", tokens: tokens(), reference: ref, model: fakeModel()),
                     contains: ["file/objects", "not writable", "--gallery"])
        // A full disk: a tiny tmpfs (root only; skipped when it cannot be mounted).
        let mountPoint = dir.appendingPathComponent("tiny")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard (try? shell("mount -t tmpfs -o size=64k tmpfs '\(mountPoint.path)' 2>&1")) != nil else {
            throw XCTSkip("cannot mount a tmpfs here (needs root); the full-disk case is not checked")
        }
        defer { _ = try? shell("umount '\(mountPoint.path)'") }
        let gallery = ObjectGallery(directory: mountPoint)
        try gallery.save(name: "small", tokens: tokens(), reference: ref, model: fakeModel())
        let big = try reference(dir, name: "big.png", width: 600, height: 600)
        // A noisy image does not compress: well over 64 KiB.
        var noisy = big.image
        noisy.withUnsafeMutablePixels { p in for i in 0..<p.count { p[i] = UInt8.random(in: 0...255) } }
        let noisyURL = dir.appendingPathComponent("noisy.png")
        try noisy.write(to: noisyURL)
        let huge = try ReferenceImage(contentsOf: noisyURL)
        assertThrows(try gallery.save(name: "big", tokens: tokens(), reference: huge, model: fakeModel()),
                     contains: ["could not save", "No space left", "nothing in the gallery was changed"])
        assertThrows(try gallery.save(name: "small", tokens: tokens(offset: 9), reference: huge, model: fakeModel()),
                     contains: ["No space left"])
        XCTAssertEqual(try gallery.list().map(\.name), ["small"])
        XCTAssertEqual(try gallery.tokens(named: "small", for: fakeModel()).tensor, tokens(), "the old object survives a failed replace")
        let hidden = try FileManager.default.contentsOfDirectory(atPath: mountPoint.path).filter { $0.hasPrefix(".tmp") || $0.hasPrefix(".replaced") }
        XCTAssertEqual(hidden, [])
    }

    func testReadOnlyGalleryIsAClearError() throws {
        let dir = try temporaryDirectory(self)
        let ro = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: ro, withIntermediateDirectories: true)
        if geteuid() == 0 {
            // Root ignores permission bits: use a read-only mount.
            guard (try? shell("mount -t tmpfs -o size=1m,ro tmpfs '\(ro.path)' 2>&1")) != nil else {
                throw XCTSkip("running as root and cannot mount a read-only tmpfs; the read-only case is not checked")
            }
        } else {
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: ro.path)
        }
        defer {
            if geteuid() == 0 { _ = try? shell("umount '\(ro.path)'") }
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ro.path)
        }
        let gallery = ObjectGallery(directory: ro)
        assertThrows(try gallery.save(name: "a", tokens: tokens(), reference: try reference(dir), model: fakeModel()),
                     contains: [ro.path, "not writable", "--gallery DIR"])
        XCTAssertEqual(try gallery.list(), [])
        // A gallery folder still to be created inside it: the short system reason, not a Foundation dump.
        let nested = ObjectGallery(directory: ro.appendingPathComponent("objects"))
        do {
            try nested.save(name: "a", tokens: tokens(), reference: try reference(dir), model: fakeModel())
            XCTFail("saved into a read-only folder")
        } catch {
            XCTAssertTrue("\(error)".contains(geteuid() == 0 ? "Read-only file system" : "Permission denied"), "\(error)")
            XCTAssertFalse("\(error)".contains("Error Domain"), "\(error)")
        }
    }
}

final class GalleryConcurrencyTests: XCTestCase {
    /// Writers racing on the same and on different names (each with its own lock descriptor, as
    /// separate processes have): every object ends complete, the last save of a name wins whole.
    func testConcurrentWritersNeverLeaveHalfObjects() throws {
        let dir = try temporaryDirectory(self)
        let gallery = ObjectGallery(directory: dir.appendingPathComponent("g"))
        let ref = try reference(dir)
        let group = DispatchGroup()
        final class Errors: @unchecked Sendable {
            let lock = NSLock()
            var list: [String] = []
            func add(_ e: Error) { lock.lock(); list.append("\(e)"); lock.unlock() }
        }
        let errors = Errors()
        for i in 0..<12 {
            DispatchQueue.global().async(group: group) {
                do {
                    try gallery.save(name: i % 3 == 0 ? "shared" : "obj\(i)", tokens: tokens(offset: Float(i)), reference: ref, model: fakeModel())
                } catch { errors.add(error) }
            }
        }
        group.wait()
        XCTAssertEqual(errors.list, [])
        let entries = try gallery.list()
        XCTAssertEqual(entries.count, 9)
        for e in entries {
            guard case .object(let o) = e else { return XCTFail("damaged: \(e)") }
            let t = try gallery.tokens(named: o.name, for: fakeModel()).tensor
            let offset = t.storage[0]
            XCTAssertEqual(t, tokens(offset: offset), "\(o.name) holds one writer's tokens, whole")
        }
        let hidden = try FileManager.default.contentsOfDirectory(atPath: gallery.directory.path).filter { $0 != ".lock" && $0.hasPrefix(".") }
        XCTAssertEqual(hidden, [])
    }
}
