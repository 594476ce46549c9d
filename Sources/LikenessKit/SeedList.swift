// Seeds as users type them: `7`, `1,2,3,4`, `7+4` (7, 8, 9, 10), `-1` (a random seed, recorded
// as the seed actually drawn). Mixed lists work too: `1,5+3,-1`.

import Foundation

public enum SeedList {
    public static let maxCount = 64

    /// Parses `text`; `random` draws the value for each `-1`.
    public static func parse(_ text: String, random: () -> UInt64 = { UInt64.random(in: 0...UInt64(UInt32.max)) }) throws -> [UInt64] {
        var seeds: [UInt64] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingCharacters(in: .whitespaces)
            if item == "-1" {
                seeds.append(random())
            } else if let plus = item.firstIndex(of: "+"), plus != item.startIndex {
                guard let start = UInt64(item[..<plus]), let count = Int(item[item.index(after: plus)...]), count >= 1 else {
                    throw KitError("seed range \"\(item)\" is not START+COUNT (e.g. 7+4 for 7, 8, 9, 10)")
                }
                guard count <= maxCount else { throw KitError("seed range \"\(item)\" asks for \(count) seeds; at most \(maxCount) per run") }
                guard start <= UInt64.max - UInt64(count - 1) else { throw KitError("seed range \"\(item)\" runs past \(UInt64.max)") }
                for i in 0..<count { seeds.append(start + UInt64(i)) }
            } else if let s = UInt64(item) {
                seeds.append(s)
            } else {
                throw KitError("\"\(item)\" is not a seed: use a number 0...\(UInt64.max), -1 for a random seed, a list 1,2,3 or a range 7+4")
            }
            guard seeds.count <= maxCount else { throw KitError("\(seeds.count) seeds asked for; at most \(maxCount) per run") }
        }
        return seeds
    }
}
