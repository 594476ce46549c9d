// Where a WeightStore takes its tensors from: a safetensors file as it is, or a view of one
// under other names (a single-file checkpoint seen as diffusers components). A view maps each
// name it offers to one tensor of the file and an optional change of layout (a 1x1 convolution
// read as a linear weight, a row range of a fused projection); tensors are read from the
// file's mapping only when a model takes them, so no second copy of the file is made.

import Foundation

/// A named set of tensors, read as Float32 on demand.
public protocol TensorSource: AnyObject {
    /// The name used in error messages.
    var displayName: String { get }
    /// Every tensor name offered, sorted.
    var names: [String] { get }
    /// The shape of `name` as offered, or nil when absent.
    func shape(of name: String) -> [Int]?
    /// Reads `name` as Float32.
    func tensor(named name: String) throws -> Tensor
    /// How `name` is called in the underlying file, for error messages.
    func origin(of name: String) -> String?
}

extension TensorSource {
    /// `name`'s values as stored, when they are 16-bit (F16/BF16) and laid out as offered (for
    /// converting them straight to bfloat16); nil otherwise, and for sources that do not say.
    func halfValues(named name: String) -> HalfValues? {
        switch self {
        case let file as SafeTensorsFile: return file.entries[name].flatMap(file.halfValues)
        case let view as MappedTensorSource: return view.halfValues(named: name)
        default: return nil
        }
    }
}

extension SafeTensorsFile: TensorSource {
    public func shape(of name: String) -> [Int]? { entries[name]?.shape }
    public func origin(of name: String) -> String? { nil }
}

/// A change of layout applied when a mapped tensor is read.
public enum TensorTransform: Equatable, Sendable {
    /// The tensor as stored.
    case identity
    /// Same values, new shape (e.g. a [O, I, 1, 1] convolution as an [O, I] linear weight).
    case reshape([Int])
    /// Rows `range` of dimension 0 (e.g. q, k or v out of a fused in_proj).
    case rows(Range<Int>)
}

/// A view of a safetensors file under other names.
public final class MappedTensorSource: TensorSource {
    public struct Mapping: Equatable, Sendable {
        public var sourceKey: String
        public var transform: TensorTransform
        public init(_ sourceKey: String, _ transform: TensorTransform = .identity) {
            self.sourceKey = sourceKey
            self.transform = transform
        }
    }

    public let file: SafeTensorsFile
    public let displayName: String
    public let mappings: [String: Mapping]

    public init(file: SafeTensorsFile, displayName: String, mappings: [String: Mapping]) {
        self.file = file
        self.displayName = displayName
        self.mappings = mappings
    }

    public var names: [String] { mappings.keys.sorted() }

    public func origin(of name: String) -> String? { mappings[name]?.sourceKey }

    public func shape(of name: String) -> [Int]? {
        guard let m = mappings[name], let stored = file.entries[m.sourceKey]?.shape else { return nil }
        switch m.transform {
        case .identity: return stored
        case .reshape(let s): return Tensor.count(of: s) == Tensor.count(of: stored) ? s : nil
        case .rows(let r):
            guard let first = stored.first, r.lowerBound >= 0, r.upperBound <= first else { return nil }
            return [r.count] + stored.dropFirst()
        }
    }

    /// The stored 16-bit values of `name` (see `TensorSource.halfValues`): the same values for a
    /// reshape, an offset into them for a row range.
    func halfValues(named name: String) -> HalfValues? {
        guard let m = mappings[name], let shape = shape(of: name), let entry = file.entries[m.sourceKey],
              let all = file.halfValues(entry) else { return nil }
        switch m.transform {
        case .identity, .reshape: return all
        case .rows(let r):
            let rowSize = entry.shape.dropFirst().reduce(1, *)
            return HalfValues(bits: all.bits + r.lowerBound * rowSize, isBF16: all.isBF16, count: Tensor.count(of: shape),
                              owner: all.owner, done: all.done)
        }
    }

    public func tensor(named name: String) throws -> Tensor {
        guard let m = mappings[name], let shape = shape(of: name) else {
            throw SafeTensorsError.tensorNotFound(file: displayName, tensor: name)
        }
        let t = try file.tensor(named: m.sourceKey)
        switch m.transform {
        case .identity: return t
        case .reshape: return Tensor(uncheckedShape: shape, storage: t.storage)
        case .rows(let r):
            let rowSize = t.shape.dropFirst().reduce(1, *)
            return Tensor(uncheckedShape: shape, storage: Array(t.storage[(r.lowerBound * rowSize)..<(r.upperBound * rowSize)]))
        }
    }
}
