import Foundation
import LikenessImaging
import XCTest
@testable import LikenessKit

final class OutputStoreTests: XCTestCase {
    func testNumberedUniqueNamesNewestFirst() throws {
        let dir = try temporaryDirectory(self)
        let store = OutputStore(directory: dir.appendingPathComponent("outputs"))
        let image = try testImage(width: 8, height: 8)
        let p = PNGParameters(prompt: "a star", pairs: [.init("Steps", "1"), .init("Sampler", "DDIM"), .init("Seed", "7")])
        let a = try store.save(image, parameters: p, seed: 7)
        let b = try store.save(image, parameters: p, seed: 7)
        let c = try store.save(image, parameters: p, label: "grid")
        XCTAssertEqual([a, b, c].map(\.lastPathComponent), ["00001-7.png", "00002-7.png", "00003-grid.png"])
        XCTAssertEqual(try store.list().map(\.number), [3, 2, 1])
        XCTAssertEqual(try store.list().last?.seed, 7)
        XCTAssertEqual(try PNGParameters.read(from: a), p)
        XCTAssertEqual(try RGBImage(contentsOf: a), image)
        // Concurrent writers never share a name.
        let group = DispatchGroup()
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var urls: [URL] = []
            func add(_ u: URL) { lock.lock(); urls.append(u); lock.unlock() }
        }
        let collected = Collected()
        for i in 0..<8 {
            DispatchQueue.global().async(group: group) {
                if let u = try? store.save(image, parameters: p, seed: UInt64(i)) { collected.add(u) }
            }
        }
        group.wait()
        let urls = collected.urls
        XCTAssertEqual(urls.count, 8)
        XCTAssertEqual(Set(urls.map { $0.lastPathComponent.prefix(5) }).count, 8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.directory.path).filter { $0.hasPrefix(".tmp") }, [])
        assertThrows(try store.save(image, parameters: p, label: "../x"), contains: ["label"])
    }
}
