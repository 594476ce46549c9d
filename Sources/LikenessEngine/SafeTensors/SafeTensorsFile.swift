// Reader for the safetensors format (8-byte little-endian header length, JSON header,
// raw little-endian data), memory-mapped read-only. Trusts nothing: bounds the header
// length (<= 100 MB and <= file size - 8), requires a JSON object whose entries have a
// known dtype, a shape of non-negative integers, data_offsets inside the data section
// with end - begin == product(shape) * dtype size, and no two tensors overlapping.
// `__metadata__` (string → string) is allowed. F32/F16/BF16 data convert to Float32 on
// read, exactly as torch's .float(); other dtypes are accepted in the header (so a file
// holding e.g. an I64 `position_ids` buffer opens) but reading them as floats throws.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole file.
final class MappedFile {
    let base: UnsafeRawPointer?
    let size: Int

    init(path: String, displayName: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw SafeTensorsError.cannotOpen(file: displayName, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw SafeTensorsError.cannotOpen(file: displayName, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError.cannotOpen(file: displayName, reason: "not a regular file")
        }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw SafeTensorsError.cannotOpen(file: displayName, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// Drops this process's resident pages that lie wholly inside `bytes` (offsets into the file).
    /// The mapping is private and never written, so a later read faults the same bytes back in
    /// from the file; until then they stop counting towards the process's resident memory.
    func release(_ bytes: Range<Int>) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (bytes.lowerBound + page - 1) / page * page, hi = bytes.upperBound / page * page
        guard hi > lo else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base) + lo, hi - lo, Int32(MADV_DONTNEED))
    }
}

/// A tensor's 16-bit values (IEEE half or bfloat16) in a file's mapping, readable while `owner`
/// (the file) lives.
struct HalfValues {
    let bits: UnsafePointer<UInt16>
    let isBF16: Bool
    let count: Int
    let owner: AnyObject
    /// Gives the values' pages of the mapping back once they are converted.
    let done: () -> Void
}

/// An opened, validated safetensors file.
public final class SafeTensorsFile {
    /// One tensor's header entry.
    public struct Entry: Equatable {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range within the data section.
        public let byteRange: Range<Int>
    }

    /// Largest header accepted, in bytes.
    public static let maxHeaderLength = 100_000_000

    /// The name used in error messages (e.g. "unet/diffusion_pytorch_model.safetensors").
    public let displayName: String
    public let url: URL
    /// Tensor entries by name.
    public let entries: [String: Entry]
    /// The `__metadata__` map, empty when absent.
    public let metadata: [String: String]

    private let mapping: MappedFile
    private let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Opens and validates `url`. `displayName` defaults to the file's parent folder and name.
    public init(url: URL, displayName: String? = nil) throws {
        let name = displayName ?? SafeTensorsFile.defaultDisplayName(url)
        self.displayName = name
        self.url = url
        mapping = try MappedFile(path: url.path, displayName: name)
        let size = mapping.size
        guard size >= 8, let base = mapping.base else { throw SafeTensorsError.truncated(file: name, size: size) }
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(SafeTensorsFile.maxHeaderLength) else {
            throw SafeTensorsError.headerTooLarge(file: name, headerLength: headerLength, limit: SafeTensorsFile.maxHeaderLength)
        }
        guard headerLength <= UInt64(size - 8) else {
            throw SafeTensorsError.headerExceedsFile(file: name, headerLength: headerLength, fileSize: size)
        }
        let hlen = Int(headerLength)
        dataStart = 8 + hlen
        let dataSize = size - dataStart
        let headerData = Data(bytes: base + 8, count: hlen)
        (entries, metadata) = try SafeTensorsFile.parseHeader(headerData, file: name, dataSize: dataSize)
    }

    static func defaultDisplayName(_ url: URL) -> String {
        let parent = url.deletingLastPathComponent().lastPathComponent
        return parent.isEmpty || parent == "/" ? url.lastPathComponent : parent + "/" + url.lastPathComponent
    }

    private static func parseHeader(
        _ data: Data, file: String, dataSize: Int
    ) throws -> ([String: Entry], [String: String]) {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SafeTensorsError.invalidHeader(file: file, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard case let .object(fields) = root else {
            throw SafeTensorsError.invalidHeader(file: file, reason: "the header must be a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in fields {
            if key == "__metadata__" {
                guard case let .object(meta) = value else {
                    throw SafeTensorsError.invalidHeader(file: file, reason: "__metadata__ must be an object of strings")
                }
                for (mk, mv) in meta {
                    guard case let .string(s) = mv else {
                        throw SafeTensorsError.invalidHeader(file: file, reason: "__metadata__ value for '\(mk)' is not a string")
                    }
                    metadata[mk] = s
                }
                continue
            }
            entries[key] = try parseEntry(key, value, file: file, dataSize: dataSize)
        }
        // No two tensors may share bytes.
        let sorted = entries.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var previous: Entry?
        for e in sorted where !e.byteRange.isEmpty {
            if let p = previous, e.byteRange.lowerBound < p.byteRange.upperBound {
                throw SafeTensorsError.overlappingTensors(file: file, tensor: e.name, other: p.name)
            }
            previous = e
        }
        return (entries, metadata)
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, file: String, dataSize: Int) throws -> Entry {
        guard case let .object(f) = value else {
            throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "entry is not an object")
        }
        guard case let .string(dtypeName)? = f["dtype"] else {
            throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "missing or non-string 'dtype'")
        }
        guard let dtype = SafeTensorsDType(name: dtypeName) else {
            throw SafeTensorsError.unsupportedDType(file: file, tensor: name, dtype: dtypeName)
        }
        guard case let .array(shapeValues)? = f["shape"] else {
            throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "missing or non-array 'shape'")
        }
        var shape: [Int] = []
        var elements = 1
        for v in shapeValues {
            guard let d = v.nonNegativeInt else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "shape \(shapeValues) must hold non-negative integers")
            }
            shape.append(d)
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "shape \(shape) is too large")
            }
            elements = product
        }
        guard case let .array(offsets)? = f["data_offsets"], offsets.count == 2,
              let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "'data_offsets' must be [begin, end] with non-negative integers")
        }
        guard begin <= end, end <= dataSize else {
            throw SafeTensorsError.offsetsOutOfRange(file: file, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes == end - begin else {
            throw SafeTensorsError.sizeMismatch(file: file, tensor: name, shape: shape, dtype: dtype.name,
                                                expectedBytes: overflow ? Int.max : bytes, actualBytes: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// `entry`'s values as the file stores them when they are F16 or BF16 (2-byte aligned in the
    /// mapping), for converting straight to bfloat16 without a float32 copy; nil otherwise.
    /// `done` releases the entry's pages of the mapping, as `tensor` does once it has copied them.
    func halfValues(_ entry: Entry) -> HalfValues? {
        guard entry.dtype == .f16 || entry.dtype == .bf16, let base = mapping.base else { return nil }
        let p = base + dataStart + entry.byteRange.lowerBound
        guard Int(bitPattern: p) % 2 == 0 else { return nil }
        let range = (dataStart + entry.byteRange.lowerBound)..<(dataStart + entry.byteRange.upperBound)
        return HalfValues(bits: p.assumingMemoryBound(to: UInt16.self), isBF16: entry.dtype == .bf16,
                          count: Tensor.count(of: entry.shape), owner: self, done: { [mapping] in mapping.release(range) })
    }

    /// Reads tensor `name` as Float32 (converting F16/BF16).
    public func tensor(named name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw SafeTensorsError.tensorNotFound(file: displayName, tensor: name) }
        return try tensor(entry)
    }

    /// Reads `entry` as Float32 (converting F16/BF16). The entry's pages of the mapping are
    /// released once copied, so the file's bytes do not stay resident beside the copy.
    public func tensor(_ entry: Entry) throws -> Tensor {
        defer { mapping.release((dataStart + entry.byteRange.lowerBound)..<(dataStart + entry.byteRange.upperBound)) }
        let n = Tensor.count(of: entry.shape)
        guard n > 0, let base = mapping.base else { return Tensor(zeros: entry.shape) }
        let src = base + dataStart + entry.byteRange.lowerBound
        switch entry.dtype {
        case .f32:
            return Tensor(shape: entry.shape) { out in
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: src, byteCount: n * 4)
            }
        case .f16:
            return Tensor(shape: entry.shape) { out in
                let o = out.baseAddress!
                parallelChunks(n, minChunk: 1 << 16) { range in
                    for i in range { o[i] = halfBitsToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                }
            }
        case .bf16:
            return Tensor(shape: entry.shape) { out in
                let o = out.baseAddress!
                parallelChunks(n, minChunk: 1 << 16) { range in
                    for i in range { o[i] = bfloat16BitsToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                }
            }
        case .other:
            throw SafeTensorsError.unsupportedDType(file: displayName, tensor: entry.name, dtype: entry.dtype.name)
        }
    }
}
