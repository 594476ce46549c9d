// A1111's LoRA tags in a prompt, `<lora:NAME:WEIGHT>` (`<lora:NAME>` is weight 1): taken out of
// the text the encoder sees (the prompt as written, tags included, is what the PNG records),
// NAME looked up as NAME.safetensors in the LoRA folder (--loras, else
// $XDG_DATA_HOME/likeness/loras). A malformed tag, a weight that is not a number, A1111's separate
// text-encoder/UNet weights (<lora:NAME:0.8:0.5>) and a missing file are errors naming the tag.
// `Lora hashes` are written as A1111 writes them for .safetensors LoRAs: NAME: the first 12 hex
// digits of the SHA-256 of the file's data after its header.

import Foundation
import LikenessEngine

public enum LoRATags {
    /// The prompt without its `<lora:…>` tags, and the tags in order.
    public static func extract(from prompt: String) throws -> (prompt: String, tags: [LoRAWeight]) {
        var out = ""
        var tags: [LoRAWeight] = []
        var rest = Substring(prompt)
        while let open = rest.range(of: "<lora:") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: ">") else {
                throw KitError("unclosed LoRA tag \"\(rest[open.lowerBound...].prefix(40))\": write <lora:NAME:WEIGHT>")
            }
            let body = String(rest[open.upperBound..<close])
            let tag = "<lora:\(body)>"
            let fields = body.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = fields.first, !name.isEmpty, !name.contains("/") else {
                throw KitError("LoRA tag \(tag) names no LoRA: write <lora:NAME:WEIGHT>")
            }
            var weight: Float = 1
            if fields.count == 2 {
                guard let w = Float(fields[1]), w.isFinite else { throw KitError("LoRA tag \(tag): the weight \"\(fields[1])\" is not a number") }
                weight = w
            } else if fields.count > 2 {
                throw KitError("LoRA tag \(tag): separate text encoder and UNet weights are not supported; write <lora:\(name):WEIGHT>")
            }
            tags.append(LoRAWeight(name: name, weight: weight))
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return (out, tags)
    }

    /// A tag as written in a prompt, found without judging it (for editors: highlighting, toggling).
    public struct Span: Equatable, Sendable {
        /// Character offsets of the whole tag, `<lora:` to `>` (to the text's end when unclosed).
        public var range: Range<Int>
        /// The first field, trimmed; empty when the tag names nothing.
        public var name: String
        /// The second field as a number; nil when absent or not a number.
        public var weight: Float?
        /// Whether the tag ends with `>`.
        public var closed: Bool
    }

    /// Every `<lora:…>` tag in `text`, malformed ones included, in order.
    public static func spans(in text: String) -> [Span] {
        let chars = Array(text), open = Array("<lora:")
        var out: [Span] = []
        var i = 0
        while i + open.count <= chars.count {
            guard Array(chars[i..<i + open.count]) == open else { i += 1; continue }
            var j = i + open.count
            while j < chars.count && chars[j] != ">" && chars[j] != "<" { j += 1 }
            let closed = j < chars.count && chars[j] == ">"
            let fields = String(chars[(i + open.count)..<j]).split(separator: ":", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            out.append(Span(range: i..<(closed ? j + 1 : j), name: fields.first ?? "", weight: fields.count > 1 ? Float(fields[1]) : nil, closed: closed))
            i = closed ? j + 1 : j
        }
        return out
    }

    /// The tag A1111 writes for `name` at `weight`.
    public static func tag(_ name: String, weight: Float) -> String {
        "<lora:\(name):\(GenerationSpec.number((weight * 100).rounded() / 100))>"
    }

    /// NAME.safetensors in `folder`, or an error naming the tag and what the folder holds.
    public static func resolve(_ name: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(name + ".safetensors")
        if FileManager.default.fileExists(atPath: url.path) { return url }
        let available = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }.sorted()
        throw KitError("LoRA \"\(name)\" not found: no \(url.path)" + (available.isEmpty
            ? " (the folder has no .safetensors files; put LoRAs there or pass --loras DIR)"
            : "; available: \(available.prefix(12).joined(separator: ", "))"))
    }

    /// A1111's short hash of a .safetensors LoRA: SHA-256 of the bytes after the header, 12 hex digits.
    public static func shortHash(of url: URL) throws -> String {
        guard let h = FileHandle(forReadingAtPath: url.path) else { throw KitError("\(url.path): cannot read the LoRA file") }
        defer { try? h.close() }
        let head = h.readData(ofLength: 8)
        guard head.count == 8 else { throw KitError("\(url.path): too short for a safetensors file") }
        let n = head.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        try h.seek(toOffset: 8 + n)
        var hasher = SHA256()
        while true {
            let chunk = h.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(chunk)
        }
        return String(hasher.hexDigest().prefix(12))
    }
}
