// Files written by older (or newer, or hand-edited) versions, read field by field without a
// hand-written list of the fields: start from the defaults' own encoding and take each key of the
// file whose value still decodes; nested objects are taken key by key the same way.

import Foundation
import LikenessEngine

extension JSONValue {
    /// `self` read as a T: keys missing from it, or holding a value T cannot take, keep the value
    /// they have in `defaults`; unknown keys are ignored.
    func decode<T: Codable>(_ type: T.Type, defaults: T) -> T {
        func read(_ v: JSONValue) -> T? {
            guard let data = try? JSONEncoder().encode(v) else { return nil }
            return try? JSONDecoder().decode(T.self, from: data)
        }
        guard let data = try? JSONEncoder().encode(defaults),
              var merged = try? JSONDecoder().decode(JSONValue.self, from: data) else { return defaults }
        func take(_ given: JSONValue, at path: [String]) {
            guard case .object(let fields) = given else { return }
            for (key, v) in fields.sorted(by: { $0.key < $1.key }) {
                let p = path + [key]
                guard let current = merged[p] else { continue }
                if case .object = current, case .object = v {
                    take(v, at: p)
                    continue
                }
                var trial = merged
                trial[p] = v
                if read(trial) != nil { merged = trial }
            }
        }
        take(self, at: [])
        return read(merged) ?? defaults
    }

    /// The value at `path` through nested objects (nil where there is none); setting one needs
    /// the objects above it to exist.
    subscript(path: [String]) -> JSONValue? {
        get {
            guard let first = path.first else { return self }
            guard case .object(let o) = self, let v = o[first] else { return nil }
            return v[Array(path.dropFirst())]
        }
        set {
            guard let first = path.first else {
                if let newValue { self = newValue }
                return
            }
            guard case .object(var o) = self, var child = o[first] ?? (path.count > 1 ? nil : .null) else { return }
            if path.count == 1 {
                o[first] = newValue
            } else {
                child[Array(path.dropFirst())] = newValue
                o[first] = child
            }
            self = .object(o)
        }
    }
}
