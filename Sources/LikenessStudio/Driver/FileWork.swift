// File work of the runtime, all through LikenessKit and off the UI thread: the gallery (list,
// first-start samples, add, rename, remove, re-encode), saving outputs, the history list and
// recall from any image with generation parameters (ImageParameters: PNG, JPEG, WebP; A1111,
// Fooocus, ComfyUI, InvokeAI, NovelAI).

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

extension StudioRuntime {
    static let thumbSide = 64

    static func thumb(_ url: URL) -> RGBImage? {
        guard let img = try? RGBImage(contentsOf: url) else { return nil }
        return (try? img.fitted(maxWidth: thumbSide, maxHeight: thumbSide)) ?? img
    }

    func galleryItems() throws -> [GalleryItem] {
        try gallery.list().map { entry in
            switch entry {
            case .object(let o):
                let stale = identity.map { o.isStale(for: $0) } ?? true
                return GalleryItem(name: o.name, stale: stale, note: o.record.origin == ObjectOrigin.textualInversion ? "TI tokens" : nil,
                                   thumb: Self.thumb(o.thumbnailURL))
            case let .damaged(name, reason):
                return GalleryItem(name: name, stale: true, note: "damaged: \(reason)")
            }
        }
    }

    func loadGallery(addSamplesWhenEmpty: Bool) {
        files.async { [self] in
            do {
                let items = try galleryItems()
                mailbox.post(.galleryLoaded(items))
                if items.isEmpty && addSamplesWhenEmpty, let samples, identity?.hasObjectEncoder == true {
                    addSamples(from: samples)
                }
            } catch {
                mailbox.post(.galleryLoaded([]))
                mailbox.post(.status("\(error)", .error))
            }
        }
    }

    /// First start: every Samples/objects/*.png becomes an object (progress in the status line).
    private func addSamples(from dir: URL) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.lowercased().hasSuffix(".png") }.sorted()
        guard !names.isEmpty else { return }
        var failures: [String] = []
        for (i, file) in names.enumerated() {
            mailbox.post(.galleryBusy("encoding samples \(i + 1)/\(names.count)"))
            let name = (file as NSString).deletingPathExtension
            do {
                try encodeAndSave(URL(fileURLWithPath: dir.appendingPathComponent(file).path), name: name, replace: false)
            } catch {
                failures.append("\(file): \(error)")
            }
            if let items = try? galleryItems() { mailbox.post(.galleryLoaded(items)) }
        }
        mailbox.post(.galleryBusy(nil))
        if failures.isEmpty {
            mailbox.post(.status("added \(names.count) sample objects to the gallery", .ok))
        } else {
            mailbox.post(.status("sample objects: \(failures.joined(separator: "; "))", .warning))
        }
    }

    private func encodeAndSave(_ url: URL, name: String, replace: Bool) throws {
        guard let identity else { throw KitError("this model has no object encoder") }
        let reference = try ReferenceImage(contentsOf: url)
        let tokens = try pipeline.objectTokens(for: reference)
        try gallery.save(name: name, tokens: tokens, reference: reference, model: identity, replace: replace)
    }

    private func afterChange(_ message: String, _ kind: StatusKind = .ok) {
        mailbox.post(.galleryBusy(nil))
        if let items = try? galleryItems() { mailbox.post(.galleryLoaded(items)) }
        mailbox.post(.status(message, kind))
    }

    func addObject(path: String, name: String) {
        files.async { [self] in
            do {
                let t0 = Date()
                try encodeAndSave(URL(fileURLWithPath: expandTilde(path)), name: name, replace: false)
                afterChange("added \(name) (encoded in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s)")
            } catch {
                mailbox.post(.galleryBusy(nil))
                mailbox.post(.status("\(error)", .error))
            }
        }
    }

    func renameObject(_ old: String, _ new: String) {
        files.async { [self] in
            do { try gallery.rename(old, to: new); afterChange("renamed \(old) to \(new)") } catch {
                mailbox.post(.status("\(error)", .error))
                if let items = try? galleryItems() { mailbox.post(.galleryLoaded(items)) }
            }
        }
    }

    func removeObject(_ name: String) {
        files.async { [self] in
            do { try gallery.remove(name); afterChange("deleted \(name)") } catch { mailbox.post(.status("\(error)", .error)) }
        }
    }

    /// Re-encodes `names` in order; the pane stays busy until the last, and one that fails
    /// (an imported object has no reference) does not stop the others.
    func reencode(_ names: [String]) {
        files.async { [self] in
            var failures: [String] = []
            for (i, name) in names.enumerated() {
                if names.count > 1 { mailbox.post(.galleryBusy("encoding \(name) (\(i + 1)/\(names.count))")) }
                do {
                    let object = try gallery.object(named: name)
                    try encodeAndSave(object.referenceURL, name: name, replace: true)
                } catch {
                    failures.append("cannot re-encode \(name): \(error)")
                }
            }
            let model = identity?.name ?? "this model"
            if failures.isEmpty {
                afterChange(names.count == 1 ? "re-encoded \(names[0]) with \(model)" : "re-encoded \(names.count) objects with \(model)")
            } else {
                let done = names.count - failures.count
                afterChange((done > 0 ? "re-encoded \(done) of \(names.count); " : "") + failures.joined(separator: "; "), .error)
            }
        }
    }

    // MARK: outputs

    /// The parameters of a studio image, named as the CLI names its own (GenerationSpec(request:…)).
    func parameters(_ m: OutputMeta) -> PNGParameters {
        var spec = GenerationSpec(request: m.request, seed: m.seed, width: m.request.width ?? pipeline.defaultSize,
                                  height: m.request.height ?? pipeline.defaultSize, karras: m.request.karras ?? false,
                                  model: identity, object: m.object, objectHash: m.object.flatMap { objectHash($0) })
        if identity == nil { spec.model = m.model }
        spec.strength = m.strength
        // A1111's Lora hashes for the prompt's tags (the prompt keeps the tags, as A1111 writes it).
        if let tags = try? LoRATags.extract(from: m.request.prompt).tags, !tags.isEmpty {
            let hashes = tags.compactMap { t -> String? in
                guard let url = try? LoRATags.resolve(t.name, in: loraFolder), let h = try? LoRATags.shortHash(of: url) else { return nil }
                return "\(t.name): \(h)"
            }
            if !hashes.isEmpty { spec.extra.append(ParameterPair("Lora hashes", hashes.joined(separator: ", "))) }
        }
        return spec.parameters
    }

    func saveOutput(run: Int, cell: Int, image: RGBImage, meta: OutputMeta) {
        let parameters = parameters(meta)
        files.async { [self] in
            do {
                let url = try outputs.save(image, parameters: parameters, seed: meta.seed)
                mailbox.post(.outputSaved(run: run, cell: cell, path: url.path))
            } catch {
                mailbox.post(.status("image not saved: \(error)", .error))
            }
        }
    }

    func saveImage(_ image: RGBImage, meta: OutputMeta, path: String) {
        let parameters = parameters(meta)
        files.async { [self] in
            let url = URL(fileURLWithPath: expandTilde(path))
            do {
                try image.write(to: url, parameters: parameters)
                mailbox.post(.status("saved \(url.path)", .ok))
            } catch {
                mailbox.post(.status("not saved: \(error)", .error))
            }
        }
    }

    // MARK: history and recall

    func recall(_ url: URL) throws -> Recall {
        let read = try ImageParameters.read(from: url)
        let (spec, unsupported) = GenerationSpec.from(read)
        var notes = read.notes + unsupported.map(\.description)
        if let id = identity { notes += spec.mismatches(model: id).map(\.description) }
        return Recall(spec: spec, notes: notes, source: read.format == .a1111 ? nil : read.format.tool)
    }

    /// The full image of one history entry, fitted to at most 1024 pixels a side.
    func loadHistoryImage(_ path: String) {
        files.async { [self] in
            let img = (try? RGBImage(contentsOf: URL(fileURLWithPath: path))).map {
                max($0.width, $0.height) <= 1024 ? $0 : (try? $0.fitted(maxWidth: 1024, maxHeight: 1024)) ?? $0
            }
            mailbox.post(.historyImageLoaded(path: path, image: img))
        }
    }

    func loadHistory() {
        files.async { [self] in
            do {
                let items = try outputs.list().prefix(500).map { item -> HistoryItem in
                    let r = try? recall(item.url)
                    let title = r.map { $0.prompt.replacingOccurrences(of: "\n", with: " ") } ?? item.url.lastPathComponent
                    var detail = item.url.lastPathComponent
                    if let r {
                        var s = StudioSettings()
                        s.apply(r.spec)
                        let q = s.request
                        detail = "seed \(q.seed) · \(q.steps) steps · \(q.sampler)" + (r.object != nil ? " · id \(fmt(Double(q.identityGuidance)))" : "")
                    }
                    return HistoryItem(path: item.url.path, title: title, detail: detail, recall: r, thumb: Self.thumb(item.url))
                }
                mailbox.post(.historyLoaded(items))
            } catch {
                mailbox.post(.historyLoaded([]))
                mailbox.post(.status("\(error)", .error))
            }
        }
    }

    func openParameters(_ path: String) {
        files.async { [self] in
            let url = URL(fileURLWithPath: expandTilde(path))
            do { mailbox.post(.recalled(try recall(url), from: url.path)) } catch {
                mailbox.post(.status("\(error)", .error))
            }
        }
    }
}

func expandTilde(_ path: String) -> String {
    (path as NSString).expandingTildeInPath
}
