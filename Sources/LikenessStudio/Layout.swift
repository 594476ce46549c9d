// Where each pane goes for a terminal size. Pure arithmetic, shared by the view (drawing) and
// update (mouse clicks, page sizes).
//
//  ┌ title ───────────────────────────────────────────────┐
//  │ Objects   │ Prompt                      │ Settings   │
//  │           ├ Negative prompt ────────────┤            │
//  │           │ Preview / compare grid      │            │
//  status line
//  footer: keys of the focused pane

public struct Layout: Equatable, Sendable {
    public static let minWidth = 60
    public static let minHeight = 18

    public let width: Int
    public let height: Int
    public let title: Rect
    public let gallery: Rect
    public let prompt: Rect
    public let negative: Rect
    public let settings: Rect
    public let preview: Rect
    public let status: Rect
    public let footer: Rect
    /// The history screen: list on the left, the selected image and its parameters on the right.
    public let historyList: Rect
    public let historyDetail: Rect

    public var tooSmall: Bool { width < Layout.minWidth || height < Layout.minHeight }

    public init(width: Int, height: Int) {
        self.width = width; self.height = height
        title = Rect(x: 0, y: 0, width: width, height: 1)
        status = Rect(x: 0, y: height - 2, width: width, height: 1)
        footer = Rect(x: 0, y: height - 1, width: width, height: 1)
        let bodyY = 1, bodyH = max(0, height - 3)
        let gw = min(34, max(15, width * 22 / 100))
        let sw = min(36, max(22, width * 28 / 100))
        let mw = max(0, width - gw - sw)
        gallery = Rect(x: 0, y: bodyY, width: gw, height: bodyH)
        settings = Rect(x: width - sw, y: bodyY, width: sw, height: bodyH)
        let ph = min(8, max(4, bodyH / 5 + 2))
        let nh = 3
        prompt = Rect(x: gw, y: bodyY, width: mw, height: ph)
        negative = Rect(x: gw, y: bodyY + ph, width: mw, height: nh)
        preview = Rect(x: gw, y: bodyY + ph + nh, width: mw, height: max(0, bodyH - ph - nh))
        let lw = min(60, max(30, width * 45 / 100))
        historyList = Rect(x: 0, y: bodyY, width: lw, height: bodyH)
        historyDetail = Rect(x: lw, y: bodyY, width: width - lw, height: bodyH)
    }

    public func rect(of pane: Pane) -> Rect {
        switch pane {
        case .gallery: return gallery
        case .prompt: return prompt
        case .negative: return negative
        case .settings: return settings
        case .preview: return preview
        }
    }

    public func pane(atX x: Int, y: Int) -> Pane? {
        Pane.allCases.first { rect(of: $0).contains(x: x, y: y) }
    }
}
