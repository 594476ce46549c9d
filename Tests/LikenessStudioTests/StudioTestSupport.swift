// Shared helpers: a state for the built-in model's facts, key feeding, synthetic images, and
// snapshot comparison. Snapshots are the grid as text in Snapshots/NAME.txt; to re-record after
// an intended change run `LIKENESS_RECORD_SNAPSHOTS=1 swift test --filter LikenessStudioTests`
// and review the diff (a recorded run fails, so it is never mistaken for a pass).

import Foundation
import LikenessImaging
import LikenessKit
import XCTest
@testable import LikenessStudio

enum Fixture {
    static let facts = ModelFacts(name: "toybox", defaultSize: 64, sizeMultiple: 8, maxSide: 2048, maxTokens: 32,
                                  placeholder: "<obj>", hasObjectEncoder: true)

    static func state(_ w: Int = 120, _ h: Int = 40) -> StudioState {
        StudioState(width: w, height: h, model: facts)
    }

    /// A w x h image: a horizontal gradient of `base`, different per `seed`.
    static func image(_ seed: Int, w: Int = 16, h: Int = 16) -> RGBImage {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                px[i] = UInt8((x * 255 / max(1, w - 1) + seed * 40) % 256)
                px[i + 1] = UInt8((y * 255 / max(1, h - 1) + seed * 90) % 256)
                px[i + 2] = UInt8((seed * 70) % 256)
            }
        }
        // Sizes here are small and positive.
        return (try? RGBImage(width: w, height: h, pixels: px)) ?? blank
    }

    static let blank: RGBImage = {
        guard let img = try? RGBImage(width: 1, height: 1, fill: .black) else { preconditionFailure("1x1 image") }
        return img
    }()

    static func galleryItems(_ n: Int) -> [GalleryItem] {
        let names = ["circle-black-checkered-red", "heart-blue-checkered-black", "star-red-striped-blue",
                     "square-green-dotted-white", "triangle-orange-striped-brown"]
        return (0..<n).map { i in
            GalleryItem(name: i < names.count ? names[i] : String(format: "object-%03d", i), stale: i == 2, thumb: image(i, w: 8, h: 8))
        }
    }
}

@discardableResult
func send(_ s: inout StudioState, _ keys: Key...) -> [Effect] {
    var all: [Effect] = []
    for k in keys { all += Studio.update(&s, .key(k)) }
    return all
}

@discardableResult
func type(_ s: inout StudioState, _ text: String) -> [Effect] {
    var all: [Effect] = []
    for ch in text { all += Studio.update(&s, .key(.char(ch))) }
    return all
}

func snapshotDirectory(_ file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Snapshots")
}

/// Compares `grid.text` with Snapshots/NAME.txt (records it when LIKENESS_RECORD_SNAPSHOTS=1).
func assertSnapshot(_ grid: CellGrid, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    let url = snapshotDirectory().appendingPathComponent(name + ".txt")
    let text = grid.text + "\n"
    if ProcessInfo.processInfo.environment["LIKENESS_RECORD_SNAPSHOTS"] == "1" {
        do { try text.write(to: url, atomically: true, encoding: .utf8) } catch { XCTFail("cannot record \(url.path): \(error)", file: file, line: line) }
        XCTFail("recorded snapshot \(name); run again without LIKENESS_RECORD_SNAPSHOTS", file: file, line: line)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no snapshot \(url.path); record with LIKENESS_RECORD_SNAPSHOTS=1", file: file, line: line)
        return
    }
    if expected != text {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = text.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDiff = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
        XCTFail("snapshot \(name) differs at line \(firstDiff + 1):\nexpected: \(firstDiff < e.count ? String(e[firstDiff]) : "<none>")\nactual:   \(firstDiff < a.count ? String(a[firstDiff]) : "<none>")\n\(text)",
                file: file, line: line)
    }
}

extension Recall {
    /// What recall reads from a PNG written with `settings` (every generation value recorded).
    init(prompt: String, negative: String, settings: StudioSettings, object: String?) {
        var spec = settings.generation
        spec.prompt = prompt
        spec.negativePrompt = negative
        spec.object = object
        self.init(spec: spec)
    }

    /// The recalled values as the studio's settings would take them.
    var settings: StudioSettings {
        var st = StudioSettings()
        st.apply(spec)
        return st
    }
}
