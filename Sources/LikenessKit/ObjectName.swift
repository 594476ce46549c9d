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

    /// A name to offer for an object made from the image at `path`: the file's name without its
    /// extension, led by its folder's name when it has no letters (`cat/00.jpg` gives `cat-00`),
    /// with what a name may not hold replaced by `-` and cut to the length limit; empty when
    /// nothing usable is left.
    public static func suggestion(forImageAt path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        guard var stem = parts.last else { return "" }
        if let dot = stem.lastIndex(of: "."), dot != stem.startIndex { stem = String(stem[..<dot]) }
        if !stem.contains(where: \.isLetter), parts.count > 1, parts[parts.count - 2].contains(where: \.isLetter) {
            stem = parts[parts.count - 2] + "-" + stem
        }
        var name = String(stem.unicodeScalars.map {
            $0.properties.generalCategory == .control || $0.value == 0x7F || $0 == "\\" ? "-" : Character($0)
        })
        while name.contains("..") { name = name.replacingOccurrences(of: "..", with: ".") }
        name = String(name.drop { $0 == "." || $0.isWhitespace }.prefix(maxLength))
        while name.last?.isWhitespace == true { name.removeLast() }
        return isValid(name) ? name : ""
    }
}

extension ObjectName {
    /// The order the gallery lists names in: runs of digits compare as numbers (`obj-9` before
    /// `obj-23` before `obj-229`), other text compares case-insensitively; names that still tie
    /// (`Cup` and `cup`, `a07` and `a7`) fall back to plain code-point order, so the order is total.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var i = 0, j = 0
        while i < x.count, j < y.count {
            if isDigit(x[i]), isDigit(y[j]) {
                let si = i, sj = j
                while i < x.count, isDigit(x[i]) { i += 1 }
                while j < y.count, isDigit(y[j]) { j += 1 }
                let dx = trimZeros(x[si..<i]), dy = trimZeros(y[sj..<j])
                if dx.count != dy.count { return dx.count < dy.count }
                for (p, q) in zip(dx, dy) where p != q { return p.value < q.value }
            } else {
                let p = folded(x[i]), q = folded(y[j])
                if p != q { return p < q }
                i += 1; j += 1
            }
        }
        if (x.count - i) != (y.count - j) { return (x.count - i) < (y.count - j) }
        return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }

    private static func trimZeros(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        let t = s.drop(while: { $0 == "0" })
        return t.isEmpty ? s.suffix(1) : t
    }

    private static func folded(_ s: Unicode.Scalar) -> String { String(s).lowercased() }
}
