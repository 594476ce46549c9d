import Foundation
import XCTest
@testable import LikenessKit

final class PathsTests: XCTestCase {
    func testXDGVariablesWin() {
        let p = LikenessPaths(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c"])
        XCTAssertEqual(p.objects.path, "/d/likeness/objects")
        XCTAssertEqual(p.settings.path, "/c/likeness/settings.json")
    }

    func testFallbacksAndRelativeXDGIgnored() {
        let p = LikenessPaths(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "relative", "XDG_CONFIG_HOME": ""])
        XCTAssertEqual(p.dataHome.path, "/home/u/.local/share/likeness")
        XCTAssertEqual(p.configHome.path, "/home/u/.config/likeness")
        XCTAssertEqual(p.outputs.path, "/home/u/.local/share/likeness/outputs")
    }
}
