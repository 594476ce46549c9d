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

    func testSuggestionsForImagePaths() {
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/photos/red mug.jpg"), "red mug")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "../shared/dreambench/cat/00.jpg"), "cat-00", "a number alone says nothing")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "00.jpg"), "00", "no folder to borrow from")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/a/2024/0001.png"), "0001", "a folder without letters is no better")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/x/.hidden.png"), "hidden")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/x/a..b.tar.png"), "a.b.tar")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/x/back\\slash.png"), "back-slash")
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/x/" + String(repeating: "y", count: 100) + ".png").count, ObjectName.maxLength)
        XCTAssertEqual(ObjectName.suggestion(forImageAt: "/9/....png"), "", "nothing usable: the user types one")
        for p in ["/photos/red mug.jpg", "cat/00.jpg", "/x/a..b.png", "/x/ spaced .png"] {
            let n = ObjectName.suggestion(forImageAt: p)
            XCTAssertTrue(n.isEmpty || ObjectName.isValid(n), "\(p) -> \(n)")
        }
    }
}
