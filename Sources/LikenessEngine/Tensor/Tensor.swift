// A dense Float32 tensor: contiguous, row-major (C order), value semantics.
// Matches the memory layout of a contiguous torch.float32 tensor, so shapes and
// flat indices agree with PyTorch. No strides, views or broadcasting: ops take
// and return contiguous tensors.

/// A contiguous row-major Float32 tensor with value semantics.
public struct Tensor: Equatable {
    /// Sizes of each dimension, outermost first (PyTorch order, e.g. `[B, C, H, W]`).
    public private(set) var shape: [Int]
    /// Elements in row-major order; `storage.count == shape.reduce(1, *)`.
    public private(set) var storage: [Float]

    /// Wraps `storage` with `shape`. Returns nil when the counts disagree.
    public init?(shape: [Int], storage: [Float]) {
        guard shape.allSatisfy({ $0 >= 0 }), Tensor.count(of: shape) == storage.count else { return nil }
        self.shape = shape
        self.storage = storage
    }

    /// Internal unchecked initialiser: callers guarantee `storage.count == product(shape)`.
    init(uncheckedShape shape: [Int], storage: [Float]) {
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.storage = [Float](repeating: 0, count: Tensor.count(of: shape))
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.shape = shape
        self.storage = [Float](repeating: value, count: Tensor.count(of: shape))
    }

    /// A tensor whose storage is written by `body` without zero-filling first.
    /// `body` must initialise every element.
    public init(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = Tensor.count(of: shape)
        self.shape = shape
        self.storage = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            body(buffer)
            initialized = n
        }
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Product of the sizes in `shape` (1 for a scalar shape `[]`).
    public static func count(of shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    /// Same storage, new shape. Returns nil when the element counts differ.
    public func reshaped(_ newShape: [Int]) -> Tensor? {
        guard Tensor.count(of: newShape) == count, newShape.allSatisfy({ $0 >= 0 }) else { return nil }
        return Tensor(uncheckedShape: newShape, storage: storage)
    }

    /// Moves the value out, leaving an empty tensor behind: the result is then the only owner of
    /// its storage (unless copies were kept elsewhere), so an in-place op on it writes without
    /// copying, and the storage is freed as soon as the result is dropped.
    mutating func take() -> Tensor {
        let value = self
        self = Tensor(uncheckedShape: [0], storage: [])
        return value
    }

    /// Keeps the first elements as a tensor of `newShape` (no more elements than now), in the same
    /// storage: its capacity stays, so an op that wrote a smaller result over its input ends here.
    mutating func shrink(to newShape: [Int]) {
        let n = Tensor.count(of: newShape)
        precondition(n <= count && newShape.allSatisfy({ $0 >= 0 }), "shrink \(shape) -> \(newShape)")
        storage.removeLast(count - n)
        shape = newShape
    }

    /// Internal reshape for call sites whose counts are known to agree.
    func viewed(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.count(of: newShape) == count, "reshape \(shape) -> \(newShape)")
        return Tensor(uncheckedShape: newShape, storage: storage)
    }

    /// Reads the elements.

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Writes the elements in place (copy-on-write when shared).

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Element at a multi-dimensional index (slow; for tests and small lookups).
    public subscript(index: Int...) -> Float {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) != tensor rank \(shape.count)")
        var flat = 0
        for (i, size) in zip(index, shape) {
            precondition(i >= 0 && i < size, "index \(index) out of range for shape \(shape)")
            flat = flat * size + i
        }
        return flat
    }

    /// Largest absolute element (0 for an empty tensor).
    public func maxAbs() -> Float {
        storage.reduce(0) { max($0, abs($1)) }
    }

    /// Largest absolute elementwise difference; nil when shapes differ.
    public func maxAbsDifference(_ other: Tensor) -> Float? {
        guard shape == other.shape else { return nil }
        var m: Float = 0
        for i in 0..<count {
            let d = abs(storage[i] - other.storage[i])
            if d.isNaN { return .nan }
            if d > m { m = d }
        }
        return m
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(shape: \(shape))" }
}
