// A user-facing error with a complete message (what, where, what to do). Specific concerns have
// their own error enums; this one carries the rest (I/O failures with the path named).

public struct KitError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
