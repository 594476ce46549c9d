// Everything the studio shows, as one value. `update` changes it; `StudioView` draws it.

import Foundation
import LikenessImaging
import LikenessKit

public enum Pane: String, Codable, CaseIterable, Sendable {
    case gallery, prompt, negative, settings, preview
    public var title: String {
        switch self {
        case .gallery: return "Objects"
        case .prompt: return "Prompt"
        case .negative: return "Negative prompt"
        case .settings: return "Settings"
        case .preview: return "Preview"
        }
    }
    public var isTextField: Bool { self == .prompt || self == .negative }
}

public enum Screen: String, Codable, Sendable { case studio, history }

/// A list row index kept inside a list of `count` rows (0 when the list is empty): every list's
/// selection (objects, history) moves and reloads through this.
func clampedRow(_ row: Int, count: Int) -> Int { min(max(0, row), max(0, count - 1)) }

public enum StatusKind: Equatable, Sendable { case info, ok, warning, error }

public struct GalleryItem: Equatable, Sendable {
    public var name: String
    public var stale: Bool
    public var note: String?
    /// A small copy of the reference (already downscaled by the runtime).
    public var thumb: RGBImage?
    public init(name: String, stale: Bool = false, note: String? = nil, thumb: RGBImage? = nil) {
        self.name = name; self.stale = stale; self.note = note; self.thumb = thumb
    }
}

public struct GalleryState: Equatable, Sendable {
    public var items: [GalleryItem] = []
    public var selected = 0
    /// The object used by `<obj>`; nil for text only.
    public var active: String?
    public var loaded = false
    /// "encoding samples 3/12" while the first start fills the gallery.
    public var busy: String?
}

/// The Settings pane: the selected row, text typed into it not yet applied, and why the last
/// typed value was refused.
public struct SettingsPaneState: Equatable, Sendable {
    public var row = 0
    public var edit: String?
    public var error: String?
}

/// The Preview pane: the selected result cell, and the one shown large over the grid.
public struct PreviewState: Equatable, Sendable {
    public var selected = 0
    public var zoomed: Int?
}

/// The prompt history (Ctrl-P/N in the prompt fields): entries oldest first, and where the
/// navigation stands (at none: the draft).
public struct PromptHistoryState: Equatable, Sendable {
    public var entries: [PromptHistoryEntry] = []
    public var navigator = HistoryNavigator()
}

/// What the tokenizer says about the prompt, refreshed after each edit.
public struct PromptCheck: Equatable, Sendable {
    public var unknownWords: [String] = []
    public var tokenCount = 0
    public var maxTokens = 77
    /// 75-token chunks the prompt takes (A1111 emphasis); with more than one, `tokenCount` counts
    /// content tokens over all chunks and is not limited by `maxTokens`.
    public var chunks = 1
    /// A placeholder without an object, an object without a placeholder, or a tokenizer error.
    public var problem: String?
    public init(unknownWords: [String] = [], tokenCount: Int = 0, maxTokens: Int = 77, problem: String? = nil) {
        self.unknownWords = unknownWords; self.tokenCount = tokenCount; self.maxTokens = maxTokens; self.problem = problem
    }
}

/// One cell of the preview / compare grid: a seed (column) for one axis value (row).
public struct ResultCell: Equatable, Sendable {
    public var seed: UInt64
    public var job: Int
    public var axisValue: AxisValue?
    public var image: RGBImage?
    public var step = 0
    public var total = 0
    public var done = false
    public var elapsed = 0.0
    public var savedPath: String?
}

public enum JobPhase: Equatable, Sendable { case waiting, queued(Int), running, finished, cancelled, failed(String) }

public struct JobProgress: Equatable, Sendable {
    public var phase: JobPhase = .waiting
    public var step = 0
    public var total = 0
    public var elapsed = 0.0
    public var itPerSec = 0.0
}

/// The current (or last) run: one job per axis value, each with the run's seeds.
public struct RunState: Equatable, Sendable {
    public var plan: GenerationPlan
    public var jobs: [JobProgress]
    public var cells: [ResultCell]
    public var active: Bool { jobs.contains { if case .finished = $0.phase { return false }; if case .cancelled = $0.phase { return false }; if case .failed = $0.phase { return false }; return true } }
    public var columns: Int { max(1, plan.jobs.first?.seeds.count ?? 1) }
    public var rows: Int { max(1, plan.jobs.count) }
}

public struct HistoryItem: Equatable, Sendable {
    public var path: String
    public var title: String
    public var detail: String
    public var recall: Recall?
    public var thumb: RGBImage?
    public init(path: String, title: String, detail: String, recall: Recall?, thumb: RGBImage?) {
        self.path = path; self.title = title; self.detail = detail; self.recall = recall; self.thumb = thumb
    }
}

public struct HistoryState: Equatable, Sendable {
    public var items: [HistoryItem] = []
    public var selected = 0
    public var loaded = false
    /// The selected image at full size (the list keeps thumbnails only), once loaded.
    public var image: HistoryImage?
    /// The path whose full image was last asked for.
    public var requested: String?
}

public struct HistoryImage: Equatable, Sendable {
    public var path: String
    public var image: RGBImage
    public init(path: String, image: RGBImage) { self.path = path; self.image = image }
}

/// An image's parameters read back (PNG, JPEG or WebP; any tool's format), and what in them
/// cannot be honoured.
public struct Recall: Equatable, Sendable {
    public var spec: GenerationSpec
    public var notes: [String]
    /// The tool whose format was read, where it is not A1111's (ComfyUI, InvokeAI, ...).
    public var source: String?
    public init(spec: GenerationSpec, notes: [String] = [], source: String? = nil) {
        self.spec = spec; self.notes = notes; self.source = source
    }
    public var prompt: String { spec.prompt }
    public var negative: String { spec.negativePrompt }
    public var object: String? { spec.object }
}

/// The init image of image-to-image runs: a result or history image, and what to call it.
public struct InitImageChoice: Equatable, Sendable {
    public var image: RGBImage
    public var label: String
    public init(image: RGBImage, label: String) { self.image = image; self.label = label }
}

/// Live mode: on or off, and the number of the last edit (a debounce that ends for an older
/// number is stale).
public struct LiveState: Equatable, Sendable {
    public var on = false
    public var token = 0
}

public enum InputKind: Equatable, Sendable {
    case addObjectPath
    case addObjectName(path: String)
    case rename(String)
    case saveImage(cell: Int)
    case openPNG
}

public struct InputPrompt: Equatable, Sendable {
    public var kind: InputKind
    public var title: String
    public var buffer: TextBuffer
    public var candidates: [String] = []
    public var error: String?
}

/// One LoRA of the list (F5): a file of the LoRA folder, or a tag of the prompt naming none.
public struct LoRAEntry: Equatable, Sendable {
    public var name: String
    /// The weight a toggle writes into the tag (the tag's own while it is in the prompt).
    public var weight: Float = 1
    /// No NAME.safetensors in the folder (a tag of the prompt names it).
    public var missing = false
    public init(name: String, weight: Float = 1, missing: Bool = false) {
        self.name = name; self.weight = weight; self.missing = missing
    }
}

/// The LoRA list: the folder's files, the selected row. Whether an entry is on is read from the
/// prompt's `<lora:NAME:W>` tags, so the prompt stays the one place that says what a job uses.
public struct LoRAListState: Equatable, Sendable {
    public var folder = ""
    public var entries: [LoRAEntry] = []
    public var selected = 0
    public var loaded = false
}

public enum Overlay: Equatable, Sendable {
    case help
    /// The LoRA list (F5).
    case loras
    case confirmQuit
    case confirmDelete(String)
    case input(InputPrompt)
}

public struct StudioState: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var model: ModelFacts
    public var screen: Screen = .studio
    public var focus: Pane = .prompt
    public var prompt: TextBuffer
    public var negative: TextBuffer
    public var promptCheck = PromptCheck()
    public var settings = StudioSettings()
    public var settingsPane = SettingsPaneState()
    public var gallery = GalleryState()
    public var history = HistoryState()
    public var run: RunState?
    /// A plan waiting for the running one to end (busy policy "queue").
    public var queued: GenerationPlan?
    public var nextRunID = 1
    public var preview = PreviewState()
    public var overlay: Overlay?
    /// The page the help overlay shows (small windows need more than one).
    public var helpPage = 0
    public var status = ""
    public var statusKind: StatusKind = .info
    public var previewMode: PreviewMode = .halfblockTruecolor
    /// What F4 cycles through.
    public var previewModes: [PreviewMode] = PreviewMode.allCases
    /// Draw boxes with + - | (locales without UTF-8).
    public var asciiBoxes = false
    public var promptHistory = PromptHistoryState()
    /// The init image of the next runs (image-to-image); nil starts from noise.
    public var initImage: InitImageChoice?
    public var live = LiveState()
    public var loras = LoRAListState()
    public var quit = false

    public init(width: Int, height: Int, model: ModelFacts, prompt: String = StudioState.samplePrompt) {
        self.width = width; self.height = height; self.model = model
        self.prompt = TextBuffer(prompt)
        self.negative = TextBuffer("")
        self.settings.generation.width = model.defaultSize
        self.settings.generation.height = model.defaultSize
    }

    /// Text only, so Ctrl-G works at once on a first start (before any object is chosen).
    public static let samplePrompt = "a large red star with blue stripes on the beach, at the left"
    /// What the sample prompt becomes when an object is chosen before it was edited.
    public static let sampleObjectPrompt = "a <obj> on the beach"

    public var jobRunning: Bool { run?.active ?? false }
    public var textFocused: Bool {
        screen == .studio && overlay == nil && focus.isTextField
    }
}
