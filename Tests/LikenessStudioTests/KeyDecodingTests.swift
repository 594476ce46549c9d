// The driver's pure key decoding: control bytes to keys, and bursts of characters to pastes.

import XCTest
@testable import LikenessStudio

final class KeyDecodingTests: XCTestCase {
    func testControlBytes() {
        XCTAssertEqual(CursesInput.controlKey(7), .ctrl("g"))
        XCTAssertEqual(CursesInput.controlKey(17), .ctrl("q"))
        XCTAssertEqual(CursesInput.controlKey(3), .ctrl("c"))
        XCTAssertEqual(CursesInput.controlKey(9), .tab)
        XCTAssertEqual(CursesInput.controlKey(13), .enter)
        XCTAssertEqual(CursesInput.controlKey(10), .enter)
        XCTAssertEqual(CursesInput.controlKey(127), .backspace)
        XCTAssertEqual(CursesInput.controlKey(8), .backspace)
        XCTAssertNil(CursesInput.controlKey(65))
    }

    func testBurstsBecomePastesAndSingleKeysStayKeys() {
        let typed: [Msg] = [.key(.char("a")), .key(.char("b"))]
        XCTAssertEqual(CursesInput.coalescePaste(typed), typed)
        let burst: [Msg] = "a <obj>".map { .key(.char($0)) } + [.key(.ctrl("g"))]
        XCTAssertEqual(CursesInput.coalescePaste(burst), [.key(.paste("a <obj>")), .key(.ctrl("g"))])
        let mixed: [Msg] = [.key(.up)] + "xyz".map { .key(.char($0)) } + [.resize(width: 80, height: 24)]
        XCTAssertEqual(CursesInput.coalescePaste(mixed), mixed, "three characters are typing, not a paste")
    }
}
