import Foundation
import LikenessImaging
import XCTest
@testable import LikenessKit

final class ReferenceImageTests: XCTestCase {
    func testGoodReferenceIsCroppedAndResized() throws {
        let dir = try temporaryDirectory(self)
        let ref = try reference(dir, width: 80, height: 40)
        XCTAssertEqual(ref.image.width, 80)
        let t = try ref.encoderPixels(size: 32)
        XCTAssertEqual(t.shape, [1, 3, 32, 32])
        XCTAssertTrue(t.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Centre crop: the left quarter (x < 20) is cut, so red starts near 20/79.
        XCTAssertGreaterThan(t.storage[0], 0.2)
        XCTAssertEqual(ref.sha256, try SHA256.hash(fileAt: dir.appendingPathComponent("ref.png")))
    }

    func testBadReferences() throws {
        let dir = try temporaryDirectory(self)
        func file(_ name: String, _ data: Data) throws -> URL {
            let u = dir.appendingPathComponent(name)
            try data.write(to: u)
            return u
        }
        let good = try testImage(width: 32, height: 32).pngData()
        var corrupt = good
        corrupt[40] ^= 0xFF  // inside IHDR/IDAT: CRC error
        let cases: [(URL, [String])] = [
            (try file("text.png", Data("not an image at all".utf8)), ["text.png", "not a PNG or JPEG", "6E 6F 74"]),
            (try file("empty.png", Data()), ["empty.png", "empty"]),
            (try file("corrupt.png", corrupt), ["corrupt.png", "damaged"]),
            (try file("truncated.png", good.prefix(good.count / 2)), ["truncated.png", "damaged"]),
            (try file("tiny.png", try RGBImage(width: 1, height: 1, fill: .white).pngData()), ["tiny.png", "1x1", "at least 16x16"]),
            (try file("huge.png", Self.pngHeader(width: 20000, height: 20000)), ["huge.png", "20000x20000", "limit of 8192"]),
            (try file("huge.jpg", Self.jpegHeader(width: 20000, height: 20000)), ["huge.jpg", "20000x20000", "8192"]),
            (dir.appendingPathComponent("absent.png"), ["absent.png", "no such file"]),
            (dir, ["is a directory"]),
        ]
        for (url, needles) in cases { assertThrows(try ReferenceImage(contentsOf: url), contains: needles) }
    }

    /// CMYK JPEGs are converted to RGB by the decoder (Adobe inversion handled) and accepted.
    func testCMYKJPEGIsConverted() throws {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures/generated/imaging/jpeg/cmyk.jpg")
        guard FileManager.default.fileExists(atPath: url.path) else {
            return XCTFail("missing fixture \(url.path): run `make fixtures`")
        }
        let data = try Data(contentsOf: url)
        XCTAssertEqual(ImageHeader.read(data)?.components, 4, "the fixture should be a 4-component JPEG")
        let ref = try ReferenceImage(contentsOf: url)
        let t = try ref.encoderPixels(size: 16)
        XCTAssertTrue(t.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertGreaterThan(Set(ref.image.pixels).count, 8, "a converted CMYK image has real colours")
    }

    /// A PNG signature and IHDR claiming `width` x `height`, nothing more.
    static func pngHeader(width: Int, height: Int) -> Data {
        var d = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        for v in [width, height] { d += [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        d += [8, 2, 0, 0, 0, 0, 0, 0, 0]
        return d
    }

    /// SOI, an APP0 segment, and a baseline SOF0 claiming `width` x `height`.
    static func jpegHeader(width: Int, height: Int) -> Data {
        var d = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF\0".utf8) + [1, 1, 0, 0, 1, 0, 1, 0, 0])
        d += [0xFF, 0xC0, 0x00, 0x11, 8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 3]
        d += [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        return d
    }
}
