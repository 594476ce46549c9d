// Strict weight loading: hands out tensors by checkpoint key path, records which keys
// were used, and `finish()` fails on any missing, unused or wrong-shaped tensor, naming
// each one (e.g. "unet/diffusion_pytorch_model.safetensors: unused tensor 'x.weight'").
// Problems are collected so that one error lists all of them (a layout mismatch shows
// both the missing and the unused names at once).

import Foundation

/// One mismatch between a checkpoint and the model that loads it.
public enum WeightProblem: Equatable, CustomStringConvertible {
    case missing(tensor: String, expectedShape: [Int])
    case unused(tensor: String)
    case wrongShape(tensor: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .missing(t, shape): return "missing tensor '\(t)' (expected shape \(shape))"
        case let .unused(t): return "unused tensor '\(t)'"
        case let .wrongShape(t, e, a): return "tensor '\(t)' has shape \(a), expected \(e)"
        }
    }

    /// The tensor the problem is about.
    public var tensor: String {
        switch self {
        case let .missing(t, _), let .unused(t), let .wrongShape(t, _, _): return t
        }
    }
}

/// Loading failed because the checkpoint and the model disagree.
public struct WeightLoadError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public let file: String
    public let problems: [WeightProblem]

    public var description: String {
        let shown = problems.prefix(20).map { "\(file): \($0)" }
        let more = problems.count > 20 ? ["\(file): ... and \(problems.count - 20) more problems"] : []
        return (shown + more).joined(separator: "\n")
            + "\nThe weights do not match the model's config; check that config.json belongs to these weights."
    }

    public var errorDescription: String? { description }
}

/// Hands out a safetensors file's tensors by key and checks that all were used, once, with the right shapes.
public final class WeightStore {
    /// Where the tensors come from: a safetensors file, or a view of one under other names.
    public let source: TensorSource
    /// Precision the layers loaded from this store hold their GEMM weights at (Linear, Conv2d).
    public var precision: ComputePrecision = .fp32
    private var used: Set<String> = []
    private var problems: [WeightProblem] = []
    /// When set, every tensor handed out is kept here by key (sharing its storage with the
    /// model's copy, or the GEMM weight a layer holds instead), for merging LoRAs into the
    /// loaded weights (LoRAMerger).
    var keepsTaken = false
    private(set) var taken: [String: HeldWeight] = [:]
    /// The linear and convolution weights handed out (either precision), each able to read its
    /// tensor again from `source` after a release (`LikenessPipeline.weightResidency`).
    private(set) var matrices: [GEMMWeight] = []

    public init(file: SafeTensorsFile) {
        source = file
    }

    public init(source: TensorSource) {
        self.source = source
    }

    /// Opens `url` (see `SafeTensorsFile.init`).
    public convenience init(url: URL, displayName: String? = nil) throws {
        try self.init(file: SafeTensorsFile(url: url, displayName: displayName))
    }

    /// The root scope (no prefix).
    public var root: WeightScope { WeightScope(store: self, prefix: "") }

    /// Whether the file holds `key`.
    public func contains(_ key: String) -> Bool { source.shape(of: key) != nil }

    /// The stored shape of `key`, nil when absent.
    public func shape(of key: String) -> [Int]? { source.shape(of: key) }

    /// Marks `key` as consumed without reading it (for buffers the engine recomputes).
    public func markUsed(_ key: String) { used.insert(key) }

    /// Takes the first of `keys` present in the file (aliases for the same tensor), checking its shape.
    /// A missing or wrong-shaped tensor is recorded and zeros are returned; `finish()` reports it.
    public func take(_ keys: [String], shape: [Int]) throws -> Tensor {
        try takeKeyed(keys, shape: shape).tensor
    }

    /// `take`, with the key the tensor was read from (nil when it was missing or wrong-shaped).
    private func takeKeyed(_ keys: [String], shape: [Int]) throws -> (key: String?, tensor: Tensor) {
        guard let key = keys.first(where: { source.shape(of: $0) != nil }), let actual = source.shape(of: key) else {
            problems.append(.missing(tensor: keys.first ?? "", expectedShape: shape))
            return (nil, Tensor(zeros: shape))
        }
        used.insert(key)
        guard actual == shape else {
            problems.append(.wrongShape(tensor: named(key), expected: shape, actual: actual))
            return (nil, Tensor(zeros: shape))
        }
        let t = try source.tensor(named: key)
        if keepsTaken { taken[key] = .fp32(t) }
        return (key, t)
    }

    /// Takes the first of `keys` present as its stored 16-bit values in the file's mapping, when
    /// it is F16 or BF16 with `shape` as offered; nil (nothing taken) otherwise. Not kept in
    /// `taken`: LoRAs do not merge into such tables (embeddings).
    func takeHalfValues(_ keys: [String], shape: [Int]) -> HalfValues? {
        guard let key = keys.first(where: { source.shape(of: $0) != nil }),
              source.shape(of: key) == shape, let values = source.halfValues(named: key) else { return nil }
        used.insert(key)
        return values
    }

    /// Takes a linear or convolution weight (see `take`) and holds it at this store's precision:
    /// bf16 (where it runs) converts it to `layout` and drops the float32 copy. `taken` keeps the
    /// matrix the layer holds (never a second reference to its values, so that a release frees them).
    func takeGEMMWeight(_ keys: [String], shape: [Int], layout: BF16Matrix.Layout) throws -> GEMMWeight {
        // bf16 from a 16-bit file: converted straight from the mapping, no float32 copy.
        if precision.effective == .bf16, let key = keys.first(where: { source.shape(of: $0) != nil }),
           source.shape(of: key) == shape, let values = source.halfValues(named: key) {
            used.insert(key)
            let matrix = BF16Matrix(shape: shape, layout: layout, values: .half(values), reload: { [source] in
                if let again = source.halfValues(named: key) { return .half(again) }
                return .float(try source.tensor(named: key))
            })
            matrices.append(.bf16(matrix))
            if keepsTaken { taken[key] = .gemm(.bf16(matrix)) }
            return .bf16(matrix)
        }
        let (key, tensor) = try takeKeyed(keys, shape: shape)
        let reload: (() throws -> Tensor)? = key.map { key in { [source] in try source.tensor(named: key) } }
        let weight = GEMMWeight(tensor, precision: precision, layout: layout, reload: reload)
        matrices.append(weight)
        if keepsTaken, let key { taken[key] = .gemm(weight) }
        return weight
    }

    /// Problems found so far, plus every tensor not taken.
    public var allProblems: [WeightProblem] {
        problems + source.names.filter { !used.contains($0) }.map { .unused(tensor: named($0)) }
    }

    /// Throws `WeightLoadError` listing every missing, wrong-shaped and unused tensor.
    public func finish() throws {
        let all = allProblems
        if !all.isEmpty { throw WeightLoadError(file: source.displayName, problems: all) }
    }

    /// `key`, with the file's own name for it when the source is a view ("conv_in.weight (model.diffusion_model.input_blocks.0.0.weight)").
    private func named(_ key: String) -> String {
        source.origin(of: key).map { "\(key) (\($0))" } ?? key
    }
}

/// A key-path prefix within a `WeightStore` (e.g. "down_blocks.1.attentions.0").
public struct WeightScope {
    public let store: WeightStore
    public let prefix: String

    /// The scope one level down: `scope["attn2"]`, `scope["resnets"][0]`.
    public subscript(_ name: String) -> WeightScope {
        WeightScope(store: store, prefix: key(name))
    }

    /// The scope for a list index: `scope["resnets"][0]` → "…resnets.0".
    public subscript(_ index: Int) -> WeightScope {
        WeightScope(store: store, prefix: key(String(index)))
    }

    /// Full key for `name` under this prefix.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    /// Takes tensor `name` (or the first present of `aliases`) with the expected shape.
    public func tensor(_ name: String, shape: [Int], aliases: [String] = []) throws -> Tensor {
        try store.take(([name] + aliases).map(key), shape: shape)
    }

    /// Takes a linear or convolution weight `name` with the expected shape, held at the store's
    /// precision (`WeightStore.takeGEMMWeight`).
    func gemmWeight(_ name: String, shape: [Int], layout: BF16Matrix.Layout) throws -> GEMMWeight {
        try store.takeGEMMWeight([key(name)], shape: shape, layout: layout)
    }

    /// Whether the store holds `name` under this prefix.
    public func contains(_ name: String) -> Bool { store.contains(key(name)) }
}

/// A weight as the loaded model holds it, for rewriting in place (LoRAMerger): a float32 tensor
/// sharing its storage with the model's copy (biases, norms, embeddings), or the matrix a
/// `Linear` or `Conv2d` holds (float32 or bfloat16).
enum HeldWeight {
    case fp32(Tensor)
    case gemm(GEMMWeight)
}
