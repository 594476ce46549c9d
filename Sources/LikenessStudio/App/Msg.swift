// Messages into `update`: keys and clicks from the driver, results of effects and engine events
// from the runtime (posted through the mailbox from background threads).

import Foundation
import LikenessImaging

public enum JobUpdate: Equatable, Sendable {
    case queued(position: Int)
    case started
    /// One preview per seed (nil where this step has none).
    case step(step: Int, total: Int, previews: [RGBImage?], elapsed: Double, itPerSec: Double)
    case finished(images: [RGBImage], elapsed: Double, warnings: [String])
    case cancelled(afterStep: Int)
    case failed(String)
    /// A failure the engine attributes to one field: focus goes to that pane.
    case failedAt(Pane, String)
}

public enum Msg: Equatable, Sendable {
    case key(Key)
    case click(x: Int, y: Int)
    case scroll(x: Int, y: Int, delta: Int)
    case resize(width: Int, height: Int)
    case job(run: Int, index: Int, JobUpdate)
    case galleryLoaded([GalleryItem])
    case galleryBusy(String?)
    case status(String, StatusKind)
    case promptChecked(PromptCheck)
    case outputSaved(run: Int, cell: Int, path: String)
    case historyLoaded([HistoryItem])
    /// The full image of a history entry (nil when it cannot be read any more).
    case historyImageLoaded(path: String, image: RGBImage?)
    case recalled(Recall, from: String)
    case completed(String, candidates: [String])
    case promptHistoryLoaded([PromptHistoryEntry])
    case sessionRestored(SessionData)
    /// Live mode's debounce ended for the edit numbered `token`.
    case liveDue(token: Int)
    /// The LoRA folder's `.safetensors` files (names without the extension, sorted).
    case lorasLoaded(folder: String, names: [String])
}
