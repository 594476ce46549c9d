// Errors raised by model loading (configs) and by model inputs. Messages name the file,
// field or value, and the limit.

import Foundation

/// A config.json that cannot be used.
public struct ConfigError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public let file: String
    public let field: String?
    public let reason: String

    public init(file: String, field: String? = nil, reason: String) {
        self.file = file
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(file): field '\(field)': \(reason)" }
        return "\(file): \(reason)"
    }

    public var errorDescription: String? { description }
}

/// An input a model cannot take.
public enum ModelInputError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    case raggedBatch(row: Int, length: Int, expected: Int)
    case sequenceTooLong(length: Int, limit: Int)
    case badShape(what: String, shape: [Int], expected: String)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(id, size):
            return "token id \(id) is outside the vocabulary (0..<\(size)); the tokenizer does not belong to this text encoder"
        case let .raggedBatch(row, length, expected):
            return "token row \(row) has \(length) ids but row 0 has \(expected); pad all rows to the same length"
        case let .sequenceTooLong(length, limit):
            return "sequence of \(length) tokens exceeds the text encoder's max_position_embeddings \(limit)"
        case let .badShape(what, shape, expected):
            return "\(what) has shape \(shape), expected \(expected)"
        }
    }

    public var errorDescription: String? { description }
}
