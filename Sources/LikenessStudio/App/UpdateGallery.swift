// The object gallery's commands (keys in Keymap.swift): move, choose the active object, none,
// add, rename, delete with confirmation, re-encode a stale object.

import Foundation

extension Studio {
    static func applyGallery(_ s: inout StudioState, _ items: [GalleryItem]) {
        let selectedName = s.gallery.items.indices.contains(s.gallery.selected) ? s.gallery.items[s.gallery.selected].name : nil
        s.gallery.items = items
        s.gallery.loaded = true
        if let name = selectedName, let i = items.firstIndex(where: { $0.name == name }) {
            s.gallery.selected = i
        }
        s.gallery.selected = clampedRow(s.gallery.selected, count: items.count)
        if let active = s.gallery.active, !items.contains(where: { $0.name == active }) {
            setStatus(&s, "object \(active) is no longer in the gallery; generating from text", .warning)
            s.gallery.active = nil
        }
    }

    static func handleGalleryKey(_ s: inout StudioState, _ command: Command) -> [Effect] {
        let n = s.gallery.items.count
        let page = StudioView.galleryPageSize(s)
        func move(_ d: Int) { s.gallery.selected = clampedRow(s.gallery.selected + d, count: n) }
        let current = n > 0 && s.gallery.selected < n ? s.gallery.items[s.gallery.selected] : nil
        switch command {
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-page)
        case .pageDown: move(page)
        case .first: move(-n)
        case .last: move(n)
        case .useObject:
            guard let item = current else { return [] }
            if s.gallery.active == item.name {
                s.gallery.active = nil
                setStatus(&s, "no active object: text only")
            } else if item.stale {
                setStatus(&s, "\(item.name) was encoded by another model; press e to re-encode it", .warning)
                return []
            } else {
                s.gallery.active = item.name
                let ph = s.model.placeholder
                if s.prompt.text == StudioState.samplePrompt {
                    // The untouched sample prompt becomes one that uses the object.
                    s.prompt.setText(StudioState.sampleObjectPrompt)
                    setStatus(&s, "active object: \(item.name) · prompt set to \"\(StudioState.sampleObjectPrompt)\" · Ctrl-G", .ok)
                } else if !Studio.hasPlaceholder(s.prompt.text, ph) {
                    setStatus(&s, "active object: \(item.name) · write \(ph) in the prompt where it goes (Ctrl-O)", .warning)
                } else {
                    setStatus(&s, "active object: \(item.name)", .ok)
                }
            }
            return [checkPrompt(s)]
        case .noObject:
            s.gallery.active = nil
            setStatus(&s, "no active object: text only")
            return [checkPrompt(s)]
        case .addObject:
            openInput(&s, .addObjectPath, title: "Add object from image (Tab completes)", text: "")
        case .renameObject:
            guard let item = current else { return [] }
            openInput(&s, .rename(item.name), title: "Rename \(item.name) to", text: item.name)
        case .deleteObject:
            guard let item = current else { return [] }
            s.overlay = .confirmDelete(item.name)
        case .reencodeObject:
            guard let item = current else { return [] }
            setStatus(&s, "re-encoding \(item.name)…")
            s.gallery.busy = "encoding \(item.name)"
            return [.reencodeObjects([item.name])]
        case .reencodeStale:
            // after a change of model: every object the model did not make, as one piece of gallery work
            let stale = s.gallery.items.filter(\.stale).map(\.name)
            guard let first = stale.first else {
                setStatus(&s, "no stale objects: this model made every one")
                return []
            }
            setStatus(&s, "re-encoding \(stale.count) stale object\(stale.count == 1 ? "" : "s")…")
            s.gallery.busy = "encoding \(first)"
            return [.reencodeObjects(stale)]
        default:
            break
        }
        return []
    }
}
