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

    func testNaturalOrderComparesNumbersByValue() {
        let names = ["obj-230", "obj-23", "Mug", "obj-229", "obj-9", "cup", "obj-023", "obj", "mug", "a10b2", "a10b10", "a9z"]
        XCTAssertEqual(names.sorted(by: ObjectName.precedes),
                       ["a9z", "a10b2", "a10b10", "cup", "Mug", "mug", "obj", "obj-9", "obj-023", "obj-23", "obj-229", "obj-230"])
        for a in names {
            XCTAssertFalse(ObjectName.precedes(a, a), a)
            for b in names where a != b {
                XCTAssertNotEqual(ObjectName.precedes(a, b), ObjectName.precedes(b, a), "\(a) vs \(b)")
            }
        }
    }
}
