import Foundation
import XCTest
@testable import LikenessKit

final class PathsTests: XCTestCase {
    func testXDGVariablesWin() {
        let p = LikenessPaths(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c"])
        XCTAssertEqual(p.objects.path, "/d/likeness/objects")
        XCTAssertEqual(p.settings.path, "/c/likeness/settings.json")
        XCTAssertEqual(p.fingerprintCache.path, "/home/u/.cache/likeness/fingerprints.json")
        XCTAssertEqual(LikenessPaths(environment: ["HOME": "/h", "XDG_CACHE_HOME": "/k"]).cacheHome.path, "/k/likeness")
    }

    func testFallbacksAndRelativeXDGIgnored() {
        let p = LikenessPaths(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "relative", "XDG_CONFIG_HOME": ""])
        XCTAssertEqual(p.dataHome.path, "/home/u/.local/share/likeness")
        XCTAssertEqual(p.configHome.path, "/home/u/.config/likeness")
        XCTAssertEqual(p.outputs.path, "/home/u/.local/share/likeness/outputs")
    }
}
