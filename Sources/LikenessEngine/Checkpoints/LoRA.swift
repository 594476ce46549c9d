// LoRA files merged into a loaded model's weights (in place, switchable between jobs), following the rule diffusers'
// load_lora_weights + fuse_lora(lora_scale=w) applies (checked in scripts/fixtures/single_file.py):
//   W' = W + w * (alpha / rank) * up · down      (rank = rows of down; no alpha: alpha = rank)
// with up [out, r] (or [out, r, 1, 1]) and down [r, in] or [r, in, kh, kw] for convolutions (1x1
// and 3x3: the product is reshaped to the weight's shape). Layouts:
//  - kohya / A1111: lora_unet_<module>.lora_down.weight, .lora_up.weight, .alpha and lora_te_<module>
//    for the text encoder, <module> being the diffusers / transformers module path with "_" for
//    "." (matched against the model's own module names, so no guessing at underscores);
//  - PEFT / diffusers: unet.<module>.lora_A.weight / lora_B.weight and text_encoder.<module>...
//    (alpha = rank: diffusers writes no alpha there).
// Several LoRAs add up. LoRAs are merged into the loaded model's weights in place and can be
// switched between jobs (LoRAMerger below): the originals are read again from the mapped file,
// so switching rewrites only the touched tensors and never reloads the model. A tensor of a
// LoRA that fits no module of the model, or a shape that does not match, is an error naming the
// LoRA and the tensor (a LoRA made for another model).

import Foundation

/// One LoRA to apply and its weight (A1111's `<lora:name:weight>`).
public struct LoRAApplication: Equatable, Sendable {
    public var url: URL
    public var weight: Float
    public init(url: URL, weight: Float) {
        self.url = url
        self.weight = weight
    }
    public var name: String { url.deletingPathExtension().lastPathComponent }
}

/// The model part a LoRA tensor belongs to.
public enum LoRAComponent: String, Sendable {
    case unet
    case textEncoder = "text encoder"
}

public final class LoRAFile {
    public enum Layout: String, Sendable { case kohya, peft }

    struct Pair {
        var component: LoRAComponent
        /// kohya: the flat name ("down_blocks_0_..._to_q"); PEFT: the dotted module path.
        var module: String
        var down: String
        var up: String
        var alpha: Float?
    }

    public let url: URL
    public let file: SafeTensorsFile
    public let layout: Layout
    let pairs: [Pair]

    public var name: String { url.deletingPathExtension().lastPathComponent }

    public init(url: URL) throws {
        self.url = url
        let display = url.lastPathComponent
        func fail(_ reason: String) -> CheckpointError { CheckpointError(file: display, reason: reason) }
        try SingleFileCheckpoint.refuseNonSafetensors(url)
        file = try SafeTensorsFile(url: url, displayName: display)
        let names = file.names
        if names.contains(where: { $0.hasPrefix("lora_te1_") || $0.hasPrefix("lora_te2_") }) {
            throw fail("a LoRA for Stable Diffusion XL (lora_te1_/lora_te2_); only SD 1.x and 2.x LoRAs are supported")
        }
        var pairs: [Pair] = []
        var used = Set<String>()
        if names.contains(where: { $0.hasPrefix("lora_unet_") || $0.hasPrefix("lora_te_") }) {
            layout = .kohya
            for n in names where n.hasSuffix(".lora_down.weight") {
                let base = String(n.dropLast(".lora_down.weight".count))
                let up = base + ".lora_up.weight", alpha = base + ".alpha"
                guard file.entries[up] != nil else { throw fail("\(n) has no \(up)") }
                let component: LoRAComponent, module: String
                if base.hasPrefix("lora_unet_") { component = .unet; module = String(base.dropFirst("lora_unet_".count)) }
                else if base.hasPrefix("lora_te_") { component = .textEncoder; module = String(base.dropFirst("lora_te_".count)) }
                else { throw fail("tensor \(n) is neither lora_unet_* nor lora_te_*") }
                var a: Float?
                if file.entries[alpha] != nil {
                    let t = try file.tensor(named: alpha)
                    guard t.count == 1 else { throw fail("\(alpha) has shape \(t.shape), expected a single value") }
                    a = t.storage[0]
                    used.insert(alpha)
                }
                pairs.append(Pair(component: component, module: module, down: n, up: up, alpha: a))
                used.formUnion([n, up])
            }
        } else if names.contains(where: { $0.hasSuffix(".lora_A.weight") }) {
            layout = .peft
            for n in names where n.hasSuffix(".lora_A.weight") {
                var module = String(n.dropLast(".lora_A.weight".count))
                let up = module + ".lora_B.weight"
                guard file.entries[up] != nil else { throw fail("\(n) has no \(up)") }
                var component = LoRAComponent.unet
                if module.hasPrefix("unet.") { module = String(module.dropFirst(5)) }
                else if module.hasPrefix("text_encoder.") { component = .textEncoder; module = String(module.dropFirst(13)) }
                pairs.append(Pair(component: component, module: module, down: n, up: up, alpha: nil))
                used.formUnion([n, up])
            }
        } else {
            throw fail("not a LoRA (no lora_unet_*/lora_te_* or *.lora_A.weight tensors; first keys: \(names.prefix(3).joined(separator: ", ")))")
        }
        let stray = names.filter { !used.contains($0) }
        if !stray.isEmpty {
            throw fail("\(stray.count) tensor(s) are not LoRA weights this loader knows (LyCORIS/LoHa/LoKr are not supported): \(stray.prefix(5).joined(separator: ", "))")
        }
        self.pairs = pairs
    }

    /// One module of the model this LoRA changes: the weight's name in the component's source,
    /// its shape, and the LoRA pair that changes it.
    struct Target {
        var name: String
        var shape: [Int]
        var pair: Pair
    }

    /// The weights of `component` this LoRA changes, named as in `source`; throws naming the LoRA
    /// tensors that fit no module or no shape. Reads only the LoRA's down/up shapes, no values.
    func targets(for component: LoRAComponent, source: TensorSource) throws -> [Target] {
        // Module paths of the model: "a.b.c" for every "a.b.c.weight"; the text encoder's with "text_model.".
        var byModule: [String: String] = [:]
        for n in source.names where n.hasSuffix(".weight") {
            var module = String(n.dropLast(".weight".count))
            if component == .textEncoder, !module.hasPrefix("text_model.") { module = "text_model." + module }
            byModule[layout == .kohya ? module.replacingOccurrences(of: ".", with: "_") : module] = n
        }
        var out: [Target] = []
        var unmatched: [String] = []
        for p in pairs where p.component == component {
            var key = p.module
            if layout == .peft, component == .textEncoder, !key.hasPrefix("text_model.") { key = "text_model." + key }
            guard let target = byModule[key], let shape = source.shape(of: target) else { unmatched.append(p.down); continue }
            let down = file.entries[p.down]?.shape ?? [], up = file.entries[p.up]?.shape ?? []
            let rank = down.first ?? 0
            let rest = Tensor.count(of: down) / max(rank, 1)
            guard rank > 0, Tensor.count(of: up) == shape[0] * rank, shape[0] * rest == Tensor.count(of: shape) else {
                throw CheckpointError(file: url.lastPathComponent, reason: "LoRA \(name): \(p.down) \(down) and \(p.up) \(up) do not fit \(target) \(shape) of the \(component.rawValue); this LoRA was made for another model")
            }
            out.append(Target(name: target, shape: shape, pair: p))
        }
        if !unmatched.isEmpty {
            throw CheckpointError(file: url.lastPathComponent, reason: "LoRA \(name): \(unmatched.count) tensor(s) fit no module of this model's \(component.rawValue) (\(unmatched.prefix(3).joined(separator: ", "))); this LoRA was made for another model")
        }
        return out
    }

    /// Adds `weight` x this LoRA's change of `target` to `values` (the target's weight, row-major).
    func add(_ target: Target, weight: Float, to values: UnsafeMutableBufferPointer<Float>) throws {
        let down = try file.tensor(named: target.pair.down), up = try file.tensor(named: target.pair.up)
        let rank = down.shape[0], rest = down.count / rank, out = target.shape[0]
        let scale = weight * (target.pair.alpha ?? Float(rank)) / Float(rank)
        let up2 = Tensor(uncheckedShape: [out, rank], storage: up.storage)
        let down2 = Tensor(uncheckedShape: [rank, rest], storage: down.storage)
        let product = Ops.matmul(up2, down2) // [out, in * kh * kw]: the weight's own layout
        product.withUnsafeBufferPointer { d in for i in 0..<values.count { values[i] += scale * d[i] } }
    }
}

/// The UNet's and text encoder's weights as loaded, with LoRAs merged into them in place.
/// The model keeps the tensors it was built with; this holds the same tensors (the same storage)
/// by name, and the sources they were read from. The linear and convolution weights are held as
/// the layers' matrices (FP32Matrix, BF16Matrix): the merged float32 values become theirs, at
/// `bf16` converted as a load converts them (a switch equals a fresh bf16 load bit for bit).
/// Applying a set of LoRAs rewrites only the tensors that the previous or the new set touches:
/// each is read again from its source (the original, bit for bit: the file is mapped, nothing is
/// kept twice) and the new LoRAs' changes are added. Every LoRA is checked against the model before any weight is written, so a LoRA
/// that does not fit leaves the weights as they were. Callers apply between jobs (the engine's
/// job thread does it before a job starts), so no job sees half-merged weights.
final class LoRAMerger {
    struct Part {
        var component: LoRAComponent
        var source: TensorSource
        /// The weights the model holds, by name in `source`: float32 tensors sharing the model's
        /// storage, or the matrices of its linear and convolution layers.
        var live: [String: HeldWeight]
    }

    private let parts: [Part]
    /// LoRAs merged now, in the order given.
    private(set) var applied: [LoRAApplication] = []
    /// Tensors holding a LoRA change now, per part.
    private var touched: [Set<String>]
    /// Opened LoRA files by path, kept while their size and date are unchanged.
    private var files: [URL: (file: LoRAFile, stamp: [String])] = [:]
    /// Tensors read again from the sources and rewritten so far (for tests and benchmarks).
    private(set) var tensorsRewritten = 0

    /// The text encoder's and UNet's stores the model was built from (`keepsTaken` set).
    convenience init(stores: (textEncoder: WeightStore, unet: WeightStore)) {
        self.init(parts: [Part(component: .textEncoder, source: stores.textEncoder.source, live: stores.textEncoder.taken),
                          Part(component: .unet, source: stores.unet.source, live: stores.unet.taken)])
    }

    init(parts: [Part]) {
        self.parts = parts
        touched = parts.map { _ in [] }
    }

    /// Makes `loras` the merged set; returns false when it already was. Throws, leaving the
    /// weights as they were, when a LoRA cannot be read or does not fit the model.
    @discardableResult
    func apply(_ loras: [LoRAApplication]) throws -> Bool {
        if loras == applied { return false }
        let opened = try loras.map { (try open($0.url), $0.weight) }
        // Check every LoRA against every part before writing anything.
        var changes: [[String: [(LoRAFile, Float, LoRAFile.Target)]]] = []
        for part in parts {
            var byName: [String: [(LoRAFile, Float, LoRAFile.Target)]] = [:]
            for (file, weight) in opened {
                for t in try file.targets(for: part.component, source: part.source) { byName[t.name, default: []].append((file, weight, t)) }
            }
            changes.append(byName)
        }
        for (i, part) in parts.enumerated() {
            for name in touched[i].union(changes[i].keys) where part.live[name] == nil {
                throw CheckpointError(file: part.source.displayName, reason: "\(name) is not a weight the model holds; it cannot take a LoRA")
            }
        }
        do {
            for (i, part) in parts.enumerated() {
                let names = touched[i].union(changes[i].keys).sorted()
                touched[i].formUnion(changes[i].keys) // until written: a failure below restores them all
                for name in names {
                    try rewrite(part, name, adding: changes[i][name] ?? [])
                }
                touched[i] = Set(changes[i].keys)
            }
        } catch {
            // A LoRA file that fails while read (after its check): back to the original weights.
            for (i, part) in parts.enumerated() {
                for name in touched[i].sorted() { try? rewrite(part, name, adding: []) }
                touched[i] = []
            }
            applied = []
            throw error
        }
        applied = loras
        return true
    }

    /// Reads `name` from the part's source and writes it, plus `changes`, into the model's tensor.
    /// The changes are summed first, in an order fixed by file and weight, then added: the same
    /// LoRAs given in another order (tags written in another order) give the same weights.
    private func rewrite(_ part: Part, _ name: String, adding changes: [(LoRAFile, Float, LoRAFile.Target)]) throws {
        var values = try part.source.tensor(named: name)
        if !changes.isEmpty {
            let ordered = changes.sorted { ($0.0.url.path, $0.1) < ($1.0.url.path, $1.1) }
            var sum = Tensor(zeros: values.shape)
            try sum.withUnsafeMutableBufferPointer { d in
                for (file, weight, target) in ordered { try file.add(target, weight: weight, to: d) }
            }
            values.withUnsafeMutableBufferPointer { v in sum.withUnsafeBufferPointer { d in for i in 0..<v.count { v[i] += d[i] } } }
        }
        switch part.live[name]! {
        case .fp32(let tensor): tensor.overwriteSharedStorage(with: values)
        // A linear or convolution weight: the merged float32 values made the layer's matrix's
        // (at bf16 converted into it, as a load converts them).
        case .gemm(let weight): weight.overwrite(with: values)
        }
        tensorsRewritten += 1
    }

    private func open(_ url: URL) throws -> LoRAFile {
        let a = try? FileManager.default.attributesOfItem(atPath: url.path)
        let stamp = ["\(a?[.size] ?? "")", "\(a?[.modificationDate] ?? "")"]
        if let kept = files[url], kept.stamp == stamp { return kept.file }
        let file = try LoRAFile(url: url)
        files[url] = (file, stamp)
        return file
    }
}

extension Tensor {
    /// Writes `values` into this tensor's storage buffer in place, so that every copy sharing the
    /// buffer (the model's layers) sees them. Only for model weights between jobs (LoRAMerger):
    /// no other thread may read the weights meanwhile.
    fileprivate func overwriteSharedStorage(with values: Tensor) {
        precondition(values.shape == shape, "overwrite \(shape) with \(values.shape)")
        guard count > 0 else { return }
        withUnsafeBufferPointer { dst in
            values.withUnsafeBufferPointer { src in
                UnsafeMutablePointer(mutating: dst.baseAddress!).update(from: src.baseAddress!, count: src.count)
            }
        }
    }
}
