// Prompt encodings kept across jobs: an interactive front end re-runs the same prompt with
// another seed or guidance, and that must not run the text encoder again. Keyed by everything
// the encoding depends on (text, object tokens' values, truncation); least recently used out.

import Foundation

struct ConditioningKey: Hashable {
    var text: String
    var objectTokens: [Float]?
    var allowTruncation: Bool
    var emphasis: Bool = false
}

struct ConditioningEntry {
    var states: Tensor // [1, L, D]
    var slots: PromptSlots
    /// Emphasis syntax warnings (unbalanced brackets).
    var warnings: [String] = []
}

final class ConditioningCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ConditioningKey: ConditioningEntry] = [:]
    private var order: [ConditioningKey] = []
    private let capacity: Int
    /// Text encoder passes run through this cache (misses), for tests and benchmarks.
    private(set) var misses = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func value(for key: ConditioningKey, make: () throws -> ConditioningEntry) rethrows -> ConditioningEntry {
        lock.lock()
        if let hit = entries[key] {
            order.removeAll { $0 == key }
            order.append(key)
            lock.unlock()
            return hit
        }
        lock.unlock()
        let entry = try make()
        lock.lock()
        misses += 1
        entries[key] = entry
        order.removeAll { $0 == key }
        order.append(key)
        while order.count > capacity { entries[order.removeFirst()] = nil }
        lock.unlock()
        return entry
    }

    /// Drops every encoding (the text encoder's weights changed).
    func removeAll() {
        lock.lock(); entries.removeAll(); order.removeAll(); lock.unlock()
    }

    var missCount: Int { lock.lock(); defer { lock.unlock() }; return misses }
}
