// The LoRA list (F5): the LoRA folder's files, each with a weight. Toggling an entry puts
// `<lora:NAME:W>` at the end of the prompt or takes its tags out; changing the weight of an entry
// that is on rewrites its tag. The prompt's tags are what jobs use (the runtime strips them from
// the encoder's text and merges the LoRAs), so the list only edits the prompt.

import Foundation
import LikenessKit

extension Studio {
    static let loraWeightStep: Float = 0.05

    static func openLoRAs(_ s: inout StudioState) -> [Effect] {
        s.overlay = .loras
        syncLoRAs(&s)
        return [.loadLoRAs]
    }

    static func applyLoRAFolder(_ s: inout StudioState, folder: String, names: [String]) {
        let old = Dictionary(s.loras.entries.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a })
        s.loras.folder = folder
        s.loras.entries = names.map { LoRAEntry(name: $0, weight: old[$0] ?? 1) }
        s.loras.loaded = true
        syncLoRAs(&s)
    }

    /// Entries take the weights of the prompt's tags; tags naming no file of the folder are listed as missing.
    static func syncLoRAs(_ s: inout StudioState) {
        s.loras.entries.removeAll { $0.missing }
        for span in LoRATags.spans(in: s.prompt.text) where span.closed && !span.name.isEmpty {
            if let i = s.loras.entries.firstIndex(where: { $0.name == span.name }) {
                if let w = span.weight { s.loras.entries[i].weight = w }
            } else {
                s.loras.entries.append(LoRAEntry(name: span.name, weight: span.weight ?? 1, missing: true))
            }
        }
        s.loras.selected = clampedRow(s.loras.selected, count: s.loras.entries.count)
    }

    /// Whether the prompt holds a tag for `name`.
    static func loraIsOn(_ name: String, in prompt: String) -> Bool {
        LoRATags.spans(in: prompt).contains { $0.closed && $0.name == name }
    }

    static func handleLoRAKey(_ s: inout StudioState, _ command: Command) -> [Effect] {
        let count = s.loras.entries.count
        switch command {
        case .up: s.loras.selected = clampedRow(s.loras.selected - 1, count: count)
        case .down: s.loras.selected = clampedRow(s.loras.selected + 1, count: count)
        case .close: s.overlay = nil
        case .toggleLoRA:
            guard s.loras.entries.indices.contains(s.loras.selected) else { return [] }
            let entry = s.loras.entries[s.loras.selected]
            s.prompt.setText(toggledLoRA(entry, in: s.prompt.text))
            let on = loraIsOn(entry.name, in: s.prompt.text)
            syncLoRAs(&s)
            setStatus(&s, on ? "LoRA \(entry.name) at \(GenerationSpec.number(entry.weight)) in the prompt" : "LoRA \(entry.name) taken out of the prompt")
            return [checkPrompt(s)]
        case .decrease, .increase:
            guard s.loras.entries.indices.contains(s.loras.selected) else { return [] }
            let step = command == .increase ? loraWeightStep : -loraWeightStep
            let w = ((s.loras.entries[s.loras.selected].weight + step) * 100).rounded() / 100
            s.loras.entries[s.loras.selected].weight = w
            let name = s.loras.entries[s.loras.selected].name
            if loraIsOn(name, in: s.prompt.text) {
                s.prompt.setText(reweightedLoRA(name, weight: w, in: s.prompt.text))
                return [checkPrompt(s)]
            }
        default: break
        }
        return []
    }

    /// `prompt` with `entry`'s tags taken out (and the space before each), or with its tag added at the end.
    static func toggledLoRA(_ entry: LoRAEntry, in prompt: String) -> String {
        let spans = LoRATags.spans(in: prompt).filter { $0.closed && $0.name == entry.name }
        guard !spans.isEmpty else {
            let tag = LoRATags.tag(entry.name, weight: entry.weight)
            return prompt.isEmpty || prompt.last?.isWhitespace == true ? prompt + tag : prompt + " " + tag
        }
        var chars = Array(prompt)
        for span in spans.reversed() {
            var start = span.range.lowerBound, end = span.range.upperBound
            if start > 0 && chars[start - 1] == " " { start -= 1 } else if end < chars.count && chars[end] == " " { end += 1 }
            chars.removeSubrange(start..<end)
        }
        return String(chars)
    }

    /// `prompt` with every tag of `name` written at `weight`.
    static func reweightedLoRA(_ name: String, weight: Float, in prompt: String) -> String {
        var chars = Array(prompt)
        for span in LoRATags.spans(in: prompt).reversed() where span.closed && span.name == name {
            chars.replaceSubrange(span.range, with: Array(LoRATags.tag(name, weight: weight)))
        }
        return String(chars)
    }
}
