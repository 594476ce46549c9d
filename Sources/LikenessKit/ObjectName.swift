// Names of saved objects: they become folder names in the gallery, so they must be safe as one
// path component on every file system we care about.

public enum ObjectNameError: Error, CustomStringConvertible, Equatable, Sendable {
    case empty
    case tooLong(String, count: Int, limit: Int)
    case invalid(String, reason: String)

    public var description: String {
        switch self {
        case .empty:
            return "an object name must not be empty"
        case let .tooLong(name, count, limit):
            return "object name \"\(name.prefix(20))...\" is \(count) characters long; the limit is \(limit)"
        case let .invalid(name, reason):
            return "object name \"\(name)\" is not allowed: \(reason)"
        }
    }
}

public enum ObjectName {
    public static let maxLength = 64

    /// Throws unless `name` is 1...64 characters, not starting with `.`, without `/`, `\`, `..`
    /// or control characters.
    public static func validate(_ name: String) throws {
        guard !name.isEmpty else { throw ObjectNameError.empty }
        guard name.count <= maxLength else { throw ObjectNameError.tooLong(name, count: name.count, limit: maxLength) }
        let shown = String(name.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.value == 0x7F }) {
            throw ObjectNameError.invalid(shown, reason: "it contains control characters")
        }
        if name.contains("/") || name.contains("\\") {
            throw ObjectNameError.invalid(name, reason: "it contains a slash; use letters, digits, '-', '_' or spaces")
        }
        if name.contains("..") { throw ObjectNameError.invalid(name, reason: "it contains \"..\"") }
        if name.hasPrefix(".") { throw ObjectNameError.invalid(name, reason: "it starts with \".\"") }
        if name.first?.isWhitespace == true || name.last?.isWhitespace == true {
            throw ObjectNameError.invalid(name, reason: "it starts or ends with a space")
        }
    }

    public static func isValid(_ name: String) -> Bool { (try? validate(name)) != nil }
}
