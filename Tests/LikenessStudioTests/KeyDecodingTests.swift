// The driver's pure key decoding: control bytes to keys, and bursts of characters to pastes.

import XCTest
@testable import LikenessStudio

final class KeyDecodingTests: XCTestCase {
    func testControlBytes() {
        XCTAssertEqual(CursesDriver.controlKey(7), .ctrl("g"))
        XCTAssertEqual(CursesDriver.controlKey(17), .ctrl("q"))
        XCTAssertEqual(CursesDriver.controlKey(3), .ctrl("c"))
        XCTAssertEqual(CursesDriver.controlKey(9), .tab)
        XCTAssertEqual(CursesDriver.controlKey(13), .enter)
        XCTAssertEqual(CursesDriver.controlKey(10), .enter)
        XCTAssertEqual(CursesDriver.controlKey(127), .backspace)
        XCTAssertEqual(CursesDriver.controlKey(8), .backspace)
        XCTAssertNil(CursesDriver.controlKey(65))
    }

    func testBurstsBecomePastesAndSingleKeysStayKeys() {
        let typed: [Msg] = [.key(.char("a")), .key(.char("b"))]
        XCTAssertEqual(CursesDriver.coalescePaste(typed), typed)
        let burst: [Msg] = "a <obj>".map { .key(.char($0)) } + [.key(.ctrl("g"))]
        XCTAssertEqual(CursesDriver.coalescePaste(burst), [.key(.paste("a <obj>")), .key(.ctrl("g"))])
        let mixed: [Msg] = [.key(.up)] + "xyz".map { .key(.char($0)) } + [.resize(width: 80, height: 24)]
        XCTAssertEqual(CursesDriver.coalescePaste(mixed), mixed, "three characters are typing, not a paste")
    }
}
