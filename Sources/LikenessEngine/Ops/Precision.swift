// Compute precision of the models' GEMMs (linear layers and convolutions). `fp32` is the exact
// path every parity test checks against diffusers. `bf16` keeps those layers' weights as
// bfloat16 (2 bytes, converted once at load) and runs them through the AVX512-BF16 kernel of
// CLikenessBF16: activations rounded to bfloat16 as they are packed, products summed in float32.
// Everything else (normalisation, attention scores and softmax, elementwise ops) stays float32.
// The pipeline loads its text encoder, UNet and VAE at one precision.
// On a CPU without AVX512-BF16 but with AVX2 and FMA, `bf16` runs the widening kernel (the same
// bfloat16 operands widened to float32 for FMA): the weights' memory halves for about 1.2x fp32's
// CPU time per SD-1.5 UNet step (docs/BENCHMARKS.md), so `preferred` is `fp32` there. Only a CPU with neither runs `bf16` as `fp32` (`effective`).

import CLikenessBF16
import CLikenessKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Precision of the linear and convolution GEMMs (text encoder, UNet, VAE).
public enum ComputePrecision: String, CaseIterable, Codable, Sendable {
    case fp32
    case bf16

    /// Which bfloat16 kernel this CPU runs.
    public enum BF16Kernel: String, Sendable {
        /// AVX512-BF16 `vdpbf16ps` (with AVX512F/BW/VL/DQ): twice fp32's multiply-adds per instruction.
        case native
        /// AVX2 + FMA: the bfloat16 operands widened to float32 a cache block at a time.
        case widening
        /// Neither: a scalar loop (tests only; the engine runs bf16 as fp32 here).
        case portable
    }

    /// The kernel `bf16` runs on this CPU (LIKENESS_BF16_KERNEL=native|widening|portable picks a
    /// slower one for tests).
    public static var bf16Kernel: BF16Kernel {
        switch lk_bf16_kernel() {
        case LK_BF16_KERNEL_NATIVE: return .native
        case LK_BF16_KERNEL_WIDENING: return .widening
        default: return .portable
        }
    }

    /// Whether `bf16` runs here (the native or the widening kernel), rather than as fp32.
    public static var bf16Supported: Bool { bf16Kernel != .portable }

    /// The faster precision on this CPU: bf16 where the native kernel runs (2-3x the GEMM
    /// throughput of fp32 sgemm on the SD-1.5 shapes, docs/BENCHMARKS.md), else fp32 (the widening
    /// kernel saves memory, not time).
    public static var preferred: ComputePrecision { bf16Kernel == .native ? .bf16 : .fp32 }

    /// What runs: bf16 becomes fp32 on a CPU with no bfloat16 kernel (neither AVX512-BF16 nor AVX2).
    public var effective: ComputePrecision { self == .bf16 && !Self.bf16Supported ? .fp32 : self }

    /// Parses "fp32" / "bf16" (also "float32" / "bfloat16"); nil otherwise.
    public init?(name: String) {
        switch name.lowercased() {
        case "fp32", "float32", "f32": self = .fp32
        case "bf16", "bfloat16": self = .bf16
        default: return nil
        }
    }
}

/// A weight matrix held as bfloat16 in the layout the kernel reads, converted once at load.
/// `.rows`: A [rows, k] with an even row stride (a convolution's [Cout, Cin*kH*kW]).
/// `.packedTransposed`: B [k, n] in column panels, packed from W [n, k] (a linear layer's [out, in]).
/// The memory is its own anonymous mapping, so `release()` gives it back to the system at once
/// (the engine's heap keeps freed blocks). A released matrix made from a source (`reload`) reads
/// and converts it again on its next use; the values are the same bit for bit.
public final class BF16Matrix {
    public enum Layout: Equatable { case rows, packedTransposed }
    public let layout: Layout
    /// Shape of the source matrix as PyTorch holds it ([Cout, Cin, kH, kW] or [out, in]).
    public let shape: [Int]
    /// Rows (Cout / out) and reduction length (Cin*kH*kW / in).
    public let rows: Int, k: Int
    /// Row stride of `.rows` (k rounded up to even).
    let ld: Int
    let count: Int
    /// The bfloat16 values; nil while released.
    private var storage: UnsafeMutablePointer<UInt16>?
    /// A 3x3 convolution's weight transformed for Winograd on bfloat16 products (Ops.conv2dWinograd),
    /// made on first use.
    private var winograd: [UInt32]?
    private let packing = NSLock()
    /// Reads the values again (from the model file) after a release; nil when the matrix was made
    /// from a tensor alone, which keeps it resident.
    private let reload: (() throws -> BF16MatrixValues)?

    /// Converts `weight` (first dimension = rows, the rest flattened = k). With `reload`, which
    /// must give `weight` again, the matrix may be released between uses.
    public convenience init(_ weight: Tensor, layout: Layout, reload: (() throws -> Tensor)? = nil) {
        self.init(shape: weight.shape, layout: layout, values: .float(weight), reload: reload.map { r in { .float(try r()) } })
    }

    /// Converts `values` of `shape` (first dimension = rows, the rest flattened = k).
    init(shape: [Int], layout: Layout, values: BF16MatrixValues, reload: (() throws -> BF16MatrixValues)?) {
        precondition(shape.count >= 2, "BF16Matrix: weight must be at least 2-D, got \(shape)")
        self.layout = layout
        self.shape = shape
        rows = shape[0]
        k = Tensor.count(of: shape) / max(1, rows)
        ld = lk_bf16_row_stride(k)
        count = layout == .rows ? rows * ld : lk_bf16_packed_b_count(k, rows)
        self.reload = reload
        storage = Self.allocate(count)
        fill(from: values)
    }

    deinit { if let storage { Self.deallocate(storage, count) } }

    /// The values, read and converted again first when the matrix was released.
    var data: UnsafeMutablePointer<UInt16> {
        if let storage { return storage }
        guard let reload else { preconditionFailure("BF16Matrix: released without a source") }
        let values: BF16MatrixValues
        do { values = try reload() } catch {
            preconditionFailure("BF16Matrix: reading the weight \(shape) again failed: \(error)")
        }
        let fresh = Self.allocate(count)
        storage = fresh
        fill(from: values)
        return fresh
    }

    /// Whether the values are in memory now.
    public var isResident: Bool { storage != nil }

    /// Whether `release()` frees the values (the matrix knows how to read them again).
    public var isReleasable: Bool { reload != nil }

    /// Frees the values until the next use, which reads them again from the source. Does nothing
    /// for a matrix without a source. Only between uses: no other thread may read the matrix.
    public func release() {
        guard reload != nil, let storage else { return }
        Self.deallocate(storage, count)
        self.storage = nil
        winograd = nil
    }

    /// The weight [Cout, Cin, 3, 3] transformed for Winograd F(4x4, 3x3) on bfloat16 products as one
    /// group of output channels (U [36][lk_winograd_rows(Cout)][lk_winograd_pairs(Cin)] in pairs of
    /// input channels, `Ops.winogradTransform`), made once; nil unless the weight is 3x3, held as
    /// rows, with at most `Ops.winogradCachedFloats` transformed words (the built-in model's 16x16
    /// level, the VAEs' 128-channel layers; larger weights are transformed at each call).
    func winogradTransformed() -> [UInt32]? {
        guard layout == .rows, shape.count == 4, shape[2] == 3, shape[3] == 3, shape[0] > 0, shape[1] > 0 else { return nil }
        let cout = shape[0], cin = shape[1], coutp = lk_winograd_rows(cout), cin2 = lk_winograd_pairs(cin)
        guard 36 * coutp * cin2 <= Ops.winogradCachedFloats else { return nil }
        packing.lock(); defer { packing.unlock() }
        if let winograd { return winograd }
        let made = [UInt32](unsafeUninitializedCapacity: 36 * coutp * cin2) { buffer, n in
            Ops.winogradTransform(UnsafePointer(data), ld: ld, cout: cout, cin: cin, coutp: coutp, into: buffer.baseAddress!)
            n = buffer.count
        }
        winograd = made
        return made
    }

    /// Converts `weight` (this matrix's shape) into this matrix's memory, in place: every layer
    /// holding this matrix sees the new values. Only for model weights between jobs (LoRAMerger
    /// merging LoRAs at bf16): no other thread may read the weights meanwhile.
    func overwrite(with weight: Tensor) {
        precondition(weight.shape == shape, "BF16Matrix: overwrite \(shape) with \(weight.shape)")
        if storage == nil { storage = Self.allocate(count) }
        fill(from: .float(weight))
        winograd = nil
    }

    /// Converts `values` into `storage`, split over the engine's threads (rows, or column panels).
    /// Float32 and the file's 16-bit values give the same bfloat16 values (each rounded once).
    private func fill(from values: BF16MatrixValues) {
        guard let data = storage else { return }
        let (k, ld, rows) = (self.k, self.ld, self.rows)
        // rows [r0, r0 + n) of the source: float32 or 16-bit; `kind` as lk_bf16_pack_b_trans takes it.
        func convert(_ f: UnsafePointer<Float>?, _ h: UnsafePointer<UInt16>?, kind: Int32) {
            switch layout {
            case .rows:
                parallelChunks(rows, minChunk: max(1, 65536 / max(1, k))) { r in
                    if let f {
                        lk_bf16_convert_rows(f + r.lowerBound * k, k, r.count, k, data + r.lowerBound * ld, ld)
                    } else if let h {
                        lk_bf16_convert_rows_half(h + r.lowerBound * k, kind == 2 ? 1 : 0, r.count, k, data + r.lowerBound * ld, ld)
                    }
                }
            case .packedTransposed:
                let nr = Int(LK_BF16_NR), panels = (rows + nr - 1) / nr, panelCount = ld * nr
                parallelChunks(panels, minChunk: max(1, 65536 / max(1, k * nr))) { p in
                    let j0 = p.lowerBound * nr, n = min(rows, p.upperBound * nr) - j0
                    lk_bf16_pack_b_trans(f.map { $0 + j0 * k }, h.map { $0 + j0 * k }, kind, k, k, n,
                                         data + p.lowerBound * panelCount)
                }
            }
        }
        guard rows > 0, k > 0 else {
            data.update(repeating: 0, count: max(1, count))
            return
        }
        switch values {
        case .float(let weight):
            precondition(weight.shape == shape, "BF16Matrix: values \(weight.shape) for \(shape)")
            weight.withUnsafeBufferPointer { convert($0.baseAddress, nil, kind: 0) }
        case .half(let half):
            precondition(half.count == rows * k, "BF16Matrix: \(half.count) values for \(shape)")
            withExtendedLifetime(half.owner) { convert(nil, half.bits, kind: half.isBF16 ? 2 : 1) }
            half.done()
        }
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        let bytes = max(1, count) * 2
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            preconditionFailure("BF16Matrix: out of memory for \(bytes) bytes")
        }
        return p.bindMemory(to: UInt16.self, capacity: max(1, count))
    }

    private static func deallocate(_ p: UnsafeMutablePointer<UInt16>, _ count: Int) {
        munmap(UnsafeMutableRawPointer(p), max(1, count) * 2)
    }

    /// Bytes held.
    public var bytes: Int { count * 2 }

    /// The weight widened back to float32 (the bfloat16-rounded values), in its original shape.
    public func widened() -> Tensor {
        let data = self.data
        return Tensor(shape: shape) { out in
            guard let o = out.baseAddress else { return }
            switch layout {
            case .rows:
                let (k, ld) = (self.k, self.ld)
                parallelChunks(rows, minChunk: max(1, 65536 / max(1, k))) { r in
                    lk_bf16_widen_rows(data + r.lowerBound * ld, ld, r.count, k, o + r.lowerBound * k, k)
                }
            case .packedTransposed:
                let nr = Int(LK_BF16_NR), pairs = ld / 2
                for r in 0..<rows {
                    let panel = data + (r / nr) * pairs * nr * 2
                    for i in 0..<k { o[r * k + i] = lk_bf16_to_float(panel[((i / 2) * nr + r % nr) * 2 + i % 2]) }
                }
            }
        }
    }
}

/// What a BF16Matrix is converted from: float32, or a file's 16-bit values (no float32 copy).
enum BF16MatrixValues {
    case float(Tensor)
    case half(HalfValues)
}

/// A weight matrix held as float32 (`fp32` precision), in its PyTorch shape. Made with a source
/// (`reload`), `release()` drops the values until their next use, which reads them again: the
/// same values bit for bit (a float32 file's, or a 16-bit file's widened exactly). The freed
/// memory goes to the engine's heap, which keeps it (EngineMemory); `EngineMemory.returnFreed()`
/// gives its free pages back to the system.
public final class FP32Matrix {
    /// Shape of the weight ([Cout, Cin, kH, kW] or [out, in]).
    public let shape: [Int]
    /// The values; nil while released.
    private var values: Tensor?
    /// Reads the values again after a release; nil when the matrix was made from a tensor alone,
    /// which keeps it resident.
    private let reload: (() throws -> Tensor)?

    /// Holds `weight`. With `reload`, which must give `weight` again, the matrix may be released between uses.
    public init(_ weight: Tensor, reload: (() throws -> Tensor)? = nil) {
        shape = weight.shape
        values = weight
        self.reload = reload
    }

    /// The values, read again first when the matrix was released.
    public var tensor: Tensor {
        if let values { return values }
        guard let reload else { preconditionFailure("FP32Matrix: released without a source") }
        let again: Tensor
        do { again = try reload() } catch {
            preconditionFailure("FP32Matrix: reading the weight \(shape) again failed: \(error)")
        }
        precondition(again.shape == shape, "FP32Matrix: read \(again.shape) again for \(shape)")
        values = again
        return again
    }

    /// A linear layer's weight packed for `lk_sgemm_packed` (Ops.linear's small products), made on
    /// first use; nil for weights larger than `Ops.packedLinearMaxWeight`.
    private var packed: Tensor?
    /// A 3x3 convolution's weight transformed for Winograd (Ops.conv2dWinograd), made on first use.
    private var winograd: Tensor?
    private let packing = NSLock()

    /// Whether the values are in memory now.
    public var isResident: Bool { values != nil }

    /// Whether `release()` frees the values (the matrix knows how to read them again).
    public var isReleasable: Bool { reload != nil }

    /// Drops the values (and their packed copy) until the next use, which reads them again from
    /// the source. Does nothing for a matrix without a source. Only between uses: no other thread
    /// may read the matrix.
    public func release() {
        guard reload != nil else { return }
        values = nil
        packed = nil
        winograd = nil
    }

    /// Makes `weight` (this matrix's shape) the values: every layer holding this matrix sees them.
    /// Only for model weights between jobs (LoRAMerger merging LoRAs): no other thread may read
    /// the weights meanwhile.
    func overwrite(with weight: Tensor) {
        precondition(weight.shape == shape, "FP32Matrix: overwrite \(shape) with \(weight.shape)")
        values = weight
        packed = nil
        winograd = nil
    }

    /// The weight [out, in] packed as B = Wᵀ in `lk_sgemm_packed`'s panels, made once; nil unless the
    /// matrix is 2-D with at most `Ops.packedLinearMaxWeight` values.
    func packedForLinear() -> Tensor? {
        guard shape.count == 2, shape[0] > 0, shape[1] > 0, shape[0] * shape[1] <= Ops.packedLinearMaxWeight else {
            return nil
        }
        packing.lock(); defer { packing.unlock() }
        if let packed { return packed }
        let weight = tensor, n = shape[0], k = shape[1]
        let made = Tensor(shape: [lk_sgemm_packed_count(k, n)]) { out in
            weight.withUnsafeBufferPointer { lk_sgemm_pack_bt($0.baseAddress!, k, k, n, out.baseAddress!) }
        }
        packed = made
        return made
    }

    /// The weight [Cout, Cin, 3, 3] transformed for Winograd F(4x4, 3x3) as one group of output
    /// channels (U [36][lk_winograd_rows(Cout)][Cin], `Ops.winogradTransform`), made once; nil unless
    /// the weight is 3x3 with at most `Ops.winogradCachedFloats` transformed values.
    func winogradTransformed() -> Tensor? {
        guard shape.count == 4, shape[2] == 3, shape[3] == 3, shape[0] > 0, shape[1] > 0,
              36 * lk_winograd_rows(shape[0]) * shape[1] <= Ops.winogradCachedFloats else { return nil }
        packing.lock(); defer { packing.unlock() }
        if let winograd { return winograd }
        let made = Ops.winogradTransform(tensor)
        winograd = made
        return made
    }
}

/// The weight operand of a linear layer or convolution: float32, or bfloat16 for `bf16` precision.
/// A weight read from a model file may be released between jobs and read again on its next use
/// (`LikenessPipeline.weightResidency`).
public enum GEMMWeight {
    case fp32(FP32Matrix)
    case bf16(BF16Matrix)

    /// Holds `weight` for a model loaded at `precision`: bf16 (where it runs) converts it to
    /// `layout` and drops the float32 copy. `reload`, which gives `weight` again, lets the matrix
    /// be released between uses.
    public init(_ weight: Tensor, precision: ComputePrecision, layout: BF16Matrix.Layout, reload: (() throws -> Tensor)? = nil) {
        self = precision.effective == .bf16
            ? .bf16(BF16Matrix(weight, layout: layout, reload: reload)) : .fp32(FP32Matrix(weight, reload: reload))
    }

    public var shape: [Int] {
        switch self {
        case .fp32(let m): return m.shape
        case .bf16(let m): return m.shape
        }
    }

    /// The weight as float32 (widened from bfloat16 when held so).
    public var tensor: Tensor {
        switch self {
        case .fp32(let m): return m.tensor
        case .bf16(let m): return m.widened()
        }
    }

    public var precision: ComputePrecision {
        if case .bf16 = self { return .bf16 }
        return .fp32
    }

    /// Whether the values are in memory now.
    public var isResident: Bool {
        switch self {
        case .fp32(let m): return m.isResident
        case .bf16(let m): return m.isResident
        }
    }

    /// Whether `release()` frees the values (the weight knows how to read them again).
    public var isReleasable: Bool {
        switch self {
        case .fp32(let m): return m.isReleasable
        case .bf16(let m): return m.isReleasable
        }
    }

    /// Frees the values until the next use (see FP32Matrix.release, BF16Matrix.release).
    public func release() {
        switch self {
        case .fp32(let m): m.release()
        case .bf16(let m): m.release()
        }
    }

    /// Makes the float32 `weight` the values, converted as a load converts them (LoRAMerger).
    func overwrite(with weight: Tensor) {
        switch self {
        case .fp32(let m): m.overwrite(with: weight)
        case .bf16(let m): m.overwrite(with: weight)
        }
    }
}

extension Ops {
    /// C[m, n] = beta·C + A·B with A the bfloat16 rows of `a` (from `a16`, row stride `lda16`) and B
    /// either float32 `b` [k, n] (row stride `ldb`, packed on the fly) or the packed weight `pb`.
    /// Split over the engine's threads like `sgemm`: by column panels when B is large, else by rows.
    static func bf16gemm(
        m: Int, n: Int, k: Int,
        a16: UnsafePointer<UInt16>, lda16: Int,
        b: UnsafePointer<Float>?, ldb: Int, pb: BF16Matrix?,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true
    ) {
        guard m > 0, n > 0 else { return }
        let threads = gemmThreads(flops: 2 * m * n * max(k, 1), parallel: parallel)
        let pbData = pb.map { UnsafePointer($0.data) }
        splitTiles(m: m, n: n, mr: Int(LK_BF16_MR), nr: Int(LK_BF16_NR), threads: threads, panelsWhenFewer: pb == nil) { r0, r1, j0, j1 in
            lk_bf16_gemm(r1 - r0, j1 - j0, k, a16 + r0 * lda16, lda16,
                         b.map { $0 + j0 }, ldb, pbData, n, j0, beta, c + r0 * ldc + j0, ldc)
        }
    }

    /// Runs `block(r0, r1, j0, j1)` over C [m, n] on up to `threads` threads, each taking whole tiles:
    /// column panels of `nr` when there are at least two per thread and at least as many as row tiles
    /// of `mr` (or whenever `panelsWhenFewer`), else row tiles. The GEMMs over packed panels use it.
    static func splitTiles(m: Int, n: Int, mr: Int, nr: Int, threads: Int, panelsWhenFewer: Bool = false,
                           _ block: (Int, Int, Int, Int) -> Void) {
        let panels = (n + nr - 1) / nr, tiles = (m + mr - 1) / mr
        func run(rows r0: Int, _ r1: Int, panels p0: Int, _ p1: Int) {
            let j0 = p0 * nr, j1 = min(n, p1 * nr)
            guard r1 > r0, j1 > j0 else { return }
            block(r0, r1, j0, j1)
        }
        let splitPanels = panels >= 2 * threads && (panelsWhenFewer || panels >= tiles)
        let parts = min(threads, splitPanels ? panels : tiles)
        if parts <= 1 {
            run(rows: 0, m, panels: 0, panels)
            return
        }
        parallelRun(parts, threads: parts) { t in
            if splitPanels {
                run(rows: 0, m, panels: panels * t / parts, panels * (t + 1) / parts)
            } else {
                run(rows: min(m, tiles * t / parts * mr), min(m, tiles * (t + 1) / parts * mr), panels: 0, panels)
            }
        }
    }
}
