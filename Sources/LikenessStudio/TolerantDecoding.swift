// Files written by older (or newer, or hand-edited) versions, read field by field without a
// hand-written list of the fields: start from the defaults' own encoding and take each key of the
// file whose value still decodes.

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
        guard case .object(let given) = self,
              let data = try? JSONEncoder().encode(defaults),
              case .object(var merged)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return defaults }
        for (key, v) in given.sorted(by: { $0.key < $1.key }) where merged[key] != nil {
            var trial = merged
            trial[key] = v
            if read(.object(trial)) != nil { merged = trial }
        }
        return read(.object(merged)) ?? defaults
    }
}
