import XCTest
@testable import LikenessEngine

final class TensorTests: XCTestCase {
    func testShapeAndIndexing() {
        var t = Tensor(zeros: [2, 3, 4])
        XCTAssertEqual(t.count, 24)
        XCTAssertEqual(t.rank, 3)
        t[1, 2, 3] = 5
        XCTAssertEqual(t.storage[23], 5)
        XCTAssertEqual(t.reshaped([6, 4])?[5, 3], 5)
        XCTAssertNil(t.reshaped([5, 5]))
        XCTAssertNil(Tensor(shape: [2, 2], storage: [1, 2, 3]))
        XCTAssertEqual(Tensor(repeating: 2, shape: [3]).storage, [2, 2, 2])
        XCTAssertEqual(Tensor(zeros: []).count, 1)
    }

    func testValueSemantics() {
        let a = Tensor(repeating: 1, shape: [4])
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = 9 }
        XCTAssertEqual(a.storage[0], 1)
        XCTAssertEqual(b.storage[0], 9)
    }

    func testMaxAbsDifference() {
        let a = Tensor(shape: [3], storage: [1, -4, 2])!
        let b = Tensor(shape: [3], storage: [1.5, -4, 0])!
        XCTAssertEqual(a.maxAbs(), 4)
        XCTAssertEqual(a.maxAbsDifference(b), 2)
        XCTAssertNil(a.maxAbsDifference(Tensor(zeros: [2])))
        XCTAssertTrue(a.maxAbsDifference(Tensor(shape: [3], storage: [1, .nan, 2])!)?.isNaN ?? false)
    }
}
