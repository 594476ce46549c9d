// Keys of the history screen: moving through the finished images, recall, opening an image (PNG,
// JPEG or WebP) with parameters.

import Foundation

extension Studio {
    static func handleHistoryKey(_ s: inout StudioState, _ command: Command) -> [Effect] {
        let n = s.history.items.count
        func move(_ d: Int) { s.history.selected = clampedRow(s.history.selected + d, count: n) }
        switch command {
        case .back: s.screen = .studio
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-10)
        case .pageDown: move(10)
        case .first: move(-n)
        case .last: move(n)
        case .recall:
            guard n > 0 else { return [] }
            let item = s.history.items[s.history.selected]
            guard let recall = item.recall else {
                setStatus(&s, "\(item.title) has no Likeness parameters to recall", .warning)
                return []
            }
            return applyRecall(&s, recall, from: item.path)
        case .openPNG:
            openInput(&s, .openPNG, title: "Open an image with parameters: PNG, JPEG or WebP (Tab completes)", text: "")
        case .refresh:
            return [.loadHistory]
        case .useAsInit:
            guard n > 0 else { return [] }
            let item = s.history.items[s.history.selected]
            guard let full = s.history.image, full.path == item.path else {
                setStatus(&s, "\(item.title) is still loading; press i again in a moment", .warning)
                return []
            }
            useAsInit(&s, InitImageChoice(image: full.image, label: (item.path as NSString).lastPathComponent))
            s.screen = .studio
        case .showHelp:
            s.overlay = .help
            s.helpPage = 0
        default:
            break
        }
        return []
    }
}
