// LoRA files merged into a model's weights as they are read, following the rule diffusers'
// load_lora_weights + fuse_lora(lora_scale=w) applies (checked in scripts/fixtures/single_file.py):
//   W' = W + w * (alpha / rank) * up · down      (rank = rows of down; no alpha: alpha = rank)
// with up [out, r] (or [out, r, 1, 1]) and down [r, in] or [r, in, kh, kw] for convolutions (1x1
// and 3x3: the product is reshaped to the weight's shape). Layouts:
//  - kohya / A1111: lora_unet_<module>.lora_down.weight, .lora_up.weight, .alpha and lora_te_<module>
//    for the text encoder, <module> being the diffusers / transformers module path with "_" for
//    "." (matched against the model's own module names, so no guessing at underscores);
//  - PEFT / diffusers: unet.<module>.lora_A.weight / lora_B.weight and text_encoder.<module>...
//    (alpha = rank: diffusers writes no alpha there).
// Several LoRAs add up. The originals are never changed: the merged tensor is made when a model
// takes it from the file, so loading without LoRAs gives the original weights again. A tensor of a
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

    /// The merged deltas this LoRA adds to `component`'s weights, keyed by the weight names of
    /// `source`; throws naming the LoRA tensors that fit no module or no shape.
    func deltas(for component: LoRAComponent, source: TensorSource, weight: Float) throws -> [String: Tensor] {
        // Module paths of the model: "a.b.c" for every "a.b.c.weight"; the text encoder's with "text_model.".
        var byModule: [String: String] = [:]
        for n in source.names where n.hasSuffix(".weight") {
            var module = String(n.dropLast(".weight".count))
            if component == .textEncoder, !module.hasPrefix("text_model.") { module = "text_model." + module }
            byModule[layout == .kohya ? module.replacingOccurrences(of: ".", with: "_") : module] = n
        }
        var out: [String: Tensor] = [:]
        var unmatched: [String] = []
        for p in pairs where p.component == component {
            var key = p.module
            if layout == .peft, component == .textEncoder, !key.hasPrefix("text_model.") { key = "text_model." + key }
            guard let target = byModule[key], let shape = source.shape(of: target) else { unmatched.append(p.down); continue }
            let down = try file.tensor(named: p.down), up = try file.tensor(named: p.up)
            let rank = down.shape.first ?? 0
            let rest = down.count / max(rank, 1)
            guard rank > 0, up.count == shape[0] * rank, shape[0] * rest == Tensor.count(of: shape) else {
                throw CheckpointError(file: url.lastPathComponent, reason: "LoRA \(name): \(p.down) \(down.shape) and \(p.up) \(up.shape) do not fit \(target) \(shape) of the \(component.rawValue); this LoRA was made for another model")
            }
            let scale = weight * (p.alpha ?? Float(rank)) / Float(rank)
            let up2 = Tensor(uncheckedShape: [shape[0], rank], storage: up.storage)
            let down2 = Tensor(uncheckedShape: [rank, rest], storage: down.storage)
            var delta = Tensor(uncheckedShape: shape, storage: Ops.matmul(up2, down2).storage) // [out, in * kh * kw] as the weight's shape
            delta.withUnsafeMutableBufferPointer { d in for i in 0..<d.count { d[i] *= scale } }
            if let previous = out[target] {
                var sum = previous
                sum.withUnsafeMutableBufferPointer { s in delta.withUnsafeBufferPointer { d in for i in 0..<s.count { s[i] += d[i] } } }
                out[target] = sum
            } else {
                out[target] = delta
            }
        }
        if !unmatched.isEmpty {
            throw CheckpointError(file: url.lastPathComponent, reason: "LoRA \(name): \(unmatched.count) tensor(s) fit no module of this model's \(component.rawValue) (\(unmatched.prefix(3).joined(separator: ", "))); this LoRA was made for another model")
        }
        return out
    }
}

/// A component's weights with LoRA deltas added when read.
final class LoRATensorSource: TensorSource {
    let base: TensorSource
    let deltas: [String: Tensor]

    init(base: TensorSource, deltas: [String: Tensor]) {
        self.base = base
        self.deltas = deltas
    }

    /// `base` with every LoRA of `loras` that touches `component` merged at its weight.
    static func wrap(_ base: TensorSource, component: LoRAComponent, loras: [(LoRAFile, Float)]) throws -> TensorSource {
        var total: [String: Tensor] = [:]
        for (lora, weight) in loras {
            for (name, delta) in try lora.deltas(for: component, source: base, weight: weight) {
                if var t = total[name] {
                    t.withUnsafeMutableBufferPointer { s in delta.withUnsafeBufferPointer { d in for i in 0..<s.count { s[i] += d[i] } } }
                    total[name] = t
                } else {
                    total[name] = delta
                }
            }
        }
        return total.isEmpty ? base : LoRATensorSource(base: base, deltas: total)
    }

    var displayName: String { base.displayName }
    var names: [String] { base.names }
    func shape(of name: String) -> [Int]? { base.shape(of: name) }
    func origin(of name: String) -> String? { base.origin(of: name) }
    func tensor(named name: String) throws -> Tensor {
        var t = try base.tensor(named: name)
        if let d = deltas[name] {
            t.withUnsafeMutableBufferPointer { s in d.withUnsafeBufferPointer { p in for i in 0..<s.count { s[i] += p[i] } } }
        }
        return t
    }
}
