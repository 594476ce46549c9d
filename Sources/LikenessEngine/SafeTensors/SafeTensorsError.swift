// Errors of the safetensors reader/writer and the strict weight loader. Every message
// names the file and, where there is one, the tensor, and says what to do.

/// A problem with a safetensors file, named by file and tensor.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(file: String, reason: String)
    case truncated(file: String, size: Int)
    case headerTooLarge(file: String, headerLength: UInt64, limit: Int)
    case headerExceedsFile(file: String, headerLength: UInt64, fileSize: Int)
    case invalidHeader(file: String, reason: String)
    case invalidEntry(file: String, tensor: String, reason: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case sizeMismatch(file: String, tensor: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
    case offsetsOutOfRange(file: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case overlappingTensors(file: String, tensor: String, other: String)
    case tensorNotFound(file: String, tensor: String)
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason):
            return "\(file): cannot open safetensors file (\(reason))"
        case let .truncated(file, size):
            return "\(file): file is \(size) bytes, too short for a safetensors header; the file is truncated or not safetensors"
        case let .headerTooLarge(file, length, limit):
            return "\(file): header length \(length) exceeds the limit of \(limit) bytes; the file is corrupt or not safetensors"
        case let .headerExceedsFile(file, length, size):
            return "\(file): header length \(length) does not fit in a \(size)-byte file; the file is truncated or corrupt"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidEntry(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)' has dtype \(dtype); only F32, F16 and BF16 weights are supported (re-export the model in one of those)"
        case let .sizeMismatch(file, tensor, shape, dtype, expected, actual):
            return "\(file): tensor '\(tensor)' of shape \(shape) and dtype \(dtype) needs \(expected) bytes but its data_offsets span \(actual)"
        case let .offsetsOutOfRange(file, tensor, begin, end, size):
            return "\(file): tensor '\(tensor)' data_offsets [\(begin), \(end)] fall outside the \(size)-byte data section; the file is truncated or corrupt"
        case let .overlappingTensors(file, tensor, other):
            return "\(file): tensor '\(tensor)' overlaps tensor '\(other)' in the data section; the file is corrupt"
        case let .tensorNotFound(file, tensor):
            return "\(file): no tensor named '\(tensor)'"
        case let .writeFailed(file, reason):
            return "\(file): cannot write safetensors file (\(reason))"
        }
    }
}

extension SafeTensorsError: LocalizedError {
    public var errorDescription: String? { description }
}

import Foundation
