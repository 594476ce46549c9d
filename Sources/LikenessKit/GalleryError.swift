// Errors of the object gallery, each naming the object, the folder and what to do.

public enum GalleryError: Error, CustomStringConvertible, Equatable, Sendable {
    case notFound(name: String, gallery: String, available: [String])
    case alreadyExists(name: String, gallery: String)
    case damaged(name: String, reason: String)
    /// Tokens made by another model; `command` re-creates them for the current one.
    case stale(name: String, madeBy: String, current: String, command: String)
    case wrongShape(name: String, shape: [Int], expected: [Int], model: String)
    case notWritable(directory: String, reason: String)
    case writeFailed(directory: String, reason: String)

    public var description: String {
        switch self {
        case let .notFound(name, gallery, available):
            let list = available.isEmpty ? "the gallery is empty" : "saved objects: \(available.joined(separator: ", "))"
            return "no object named \"\(name)\" in \(gallery) (\(list)); save one with `likeness encode --image REF.png --name \(name)`"
        case let .alreadyExists(name, gallery):
            return "an object named \"\(name)\" already exists in \(gallery); choose another name or remove it with `likeness objects rm \(name)`"
        case let .damaged(name, reason):
            return "object \"\(name)\" is damaged (\(reason)); remove it with `likeness objects rm \(name)` and save it again"
        case let .stale(name, madeBy, current, command):
            return "object \"\(name)\" was made by another model (\(madeBy)), not by \(current); its tokens cannot be used: re-create them with `\(command)`"
        case let .wrongShape(name, shape, expected, model):
            return "object \"\(name)\": tokens have shape \(shape), \(model) needs \(expected)"
        case let .notWritable(directory, reason):
            return "the gallery \(directory) is not writable (\(reason)); fix its permissions or choose another folder with --gallery DIR"
        case let .writeFailed(directory, reason):
            return "could not save to the gallery \(directory): \(reason); nothing in the gallery was changed"
        }
    }
}
