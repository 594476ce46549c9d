import XCTest
@testable import LikenessKit

final class ObjectNameTests: XCTestCase {
    func testValidNames() {
        for name in ["cube", "my red mug", "Ünïcode-物", "a_b-c.2", String(repeating: "x", count: 64)] {
            XCTAssertNoThrow(try ObjectName.validate(name), name)
        }
    }

    func testInvalidNames() {
        let cases: [(String, String)] = [
            ("", "empty"), ("a/b", "slash"), ("a\\b", "slash"), ("..", ".."), ("a..b", ".."), (".hidden", "starts with"),
            ("tab\there", "control"), ("new\nline", "control"), ("del\u{7F}", "control"), (" lead", "space"),
            (String(repeating: "x", count: 65), "limit is 64"),
        ]
        for (name, needle) in cases {
            assertThrows(try ObjectName.validate(name), contains: [needle])
            XCTAssertFalse(ObjectName.isValid(name), name)
        }
    }
}
