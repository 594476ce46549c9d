// Ctrl-P / Ctrl-N through prompt history, keeping what was being typed: the first Ctrl-P saves
// the current text as the draft, Ctrl-N past the newest entry gives the draft back. An entry
// equal to the draft is skipped, so the first Ctrl-P after a run shows the run before it.

public struct HistoryNavigator: Equatable, Sendable {
    /// Index into the entries being shown; nil while the draft is shown.
    public private(set) var index: Int?
    public private(set) var draft: PromptHistoryEntry?

    public init() {}

    public var isBrowsing: Bool { index != nil }

    /// Ctrl-P: the next older entry, or nil when there is none (nothing changes).
    public mutating func older(in entries: [PromptHistoryEntry], current: PromptHistoryEntry) -> PromptHistoryEntry? {
        var i: Int
        if let cur = index {
            i = cur - 1
        } else {
            i = entries.count - 1
            while i >= 0 && entries[i].sameText(current) { i -= 1 }
        }
        guard i >= 0, i < entries.count else { return nil }
        if index == nil { draft = current }
        index = i
        return entries[i]
    }

    /// Ctrl-N: the next newer entry, then the draft; nil when already at the draft.
    public mutating func newer(in entries: [PromptHistoryEntry]) -> PromptHistoryEntry? {
        guard let cur = index else { return nil }
        if cur + 1 < entries.count {
            index = cur + 1
            return entries[cur + 1]
        }
        let d = draft ?? PromptHistoryEntry(prompt: "")
        reset()
        return d
    }

    /// Forget the position (after an edit, or when the history changes).
    public mutating func reset() {
        index = nil
        draft = nil
    }
}
