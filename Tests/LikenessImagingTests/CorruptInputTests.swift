import Foundation
import XCTest
import LikenessImaging

/// Damaged and hostile inputs: each must give a thrown ImageError with a clear message naming
/// the file, never a crash.
final class CorruptInputTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try makeTempDir(self)
    }

    private func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    private func validPNG() throws -> [UInt8] {
        let image = try randomImage(width: 20, height: 12, seed: 99)
        return Array(try image.pngData(text: [("parameters", "a: b")]))
    }

    /// Offsets of each chunk in a PNG: (type, start of length field, data length).
    private func chunks(_ png: [UInt8]) -> [(type: String, start: Int, length: Int)] {
        var out: [(String, Int, Int)] = []
        var p = 8
        while p + 8 <= png.count {
            let len = Int(png[p]) << 24 | Int(png[p + 1]) << 16 | Int(png[p + 2]) << 8 | Int(png[p + 3])
            let type = String(decoding: png[(p + 4)..<(p + 8)], as: UTF8.self)
            out.append((type, p, len))
            p += 12 + len
        }
        return out
    }

    func testEmptyFile() throws {
        let url = try file("empty.png", [])
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "empty"])
        assertImageError(try RGBImage.readPNGText(url), contains: [url.path, "empty"])
    }

    func testRandomBytesAreAnUnknownFormat() throws {
        var rng = TestRNG(seed: 5)
        var bytes = rng.bytes(1000)
        bytes[0] = 0x42  // make sure it does not start with a known signature
        let url = try file("noise.png", bytes)
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "unknown image format", "42"])
        // GIF magic: still unknown, and named
        let gif = try file("anim.gif", Array("GIF89a".utf8) + rng.bytes(50))
        assertImageError(try RGBImage(contentsOf: gif), contains: ["anim.gif", "47 49 46 38"])
    }

    func testRandomBytesAfterPNGSignature() throws {
        var rng = TestRNG(seed: 6)
        let url = try file("fake.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + rng.bytes(500))
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "PNG"])
    }

    func testRandomBytesAfterJPEGSignature() throws {
        var rng = TestRNG(seed: 8)
        let url = try file("fake.jpg", [0xFF, 0xD8, 0xFF] + rng.bytes(500))
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "JPEG"])
    }

    func testTruncatedPNGAtSeveralPoints() throws {
        let png = try validPNG()
        let idat = try XCTUnwrap(chunks(png).first { $0.type == "IDAT" })
        let iend = try XCTUnwrap(chunks(png).first { $0.type == "IEND" })
        let cuts = [8, 12, 20, 33, idat.start + 4, idat.start + 8 + idat.length / 2,
                    idat.start + 8 + idat.length + 2, iend.start, png.count - 1]
        for cut in cuts {
            let url = try file("cut\(cut).png", Array(png[0..<cut]))
            assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "truncated PNG data"])
            assertImageError(try RGBImage.readPNGText(url), contains: [url.path, "truncated PNG data"])
        }
    }

    func testFlippedCRCByte() throws {
        let png = try validPNG()
        for type in ["IHDR", "tEXt", "IDAT"] {
            let c = try XCTUnwrap(chunks(png).first { $0.type == type })
            var bad = png
            bad[c.start + 8 + c.length + 1] ^= 0x40  // second byte of the CRC
            let url = try file("crc-\(type).png", bad)
            assertImageError(try RGBImage(contentsOf: url), contains: [url.path, type, "CRC error"])
        }
    }

    func testCorruptIDATDataWithFixedCRC() throws {
        // Damage the zlib stream but recompute the CRC, so only the inflater can notice.
        var png = try validPNG()
        let c = try XCTUnwrap(chunks(png).first { $0.type == "IDAT" })
        png[c.start + 8] ^= 0xFF  // zlib header byte
        let crc = crc32(Array(png[(c.start + 4)..<(c.start + 8 + c.length)]))
        for k in 0..<4 { png[c.start + 8 + c.length + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(k))) }
        let url = try file("zlib.png", png)
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "PNG"])
    }

    func testHugeDimensionHeader() throws {
        // A PNG whose IHDR (with a valid CRC) claims 100000 x 100000; nothing may be allocated.
        var ihdr: [UInt8] = Array("IHDR".utf8)
        for v in [UInt32(100_000), UInt32(100_000)] {
            ihdr += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        ihdr += [8, 2, 0, 0, 0]  // 8-bit RGB, no interlace
        let crc = crc32(ihdr)
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + ihdr
        png += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        let idat: [UInt8] = Array("IDAT".utf8) + [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
        let idatCRC = crc32(idat)
        png += [0, 0, 0, 8] + idat
        png += [UInt8(idatCRC >> 24), UInt8((idatCRC >> 16) & 0xFF), UInt8((idatCRC >> 8) & 0xFF), UInt8(idatCRC & 0xFF)]
        let url = try file("huge.png", png)
        assertImageError(try RGBImage(contentsOf: url),
                         contains: [url.path, "image too large: 100000 x 100000 exceeds limit 16384 x 16384"])
        assertImageError(try RGBImage.readPNGText(url), contains: ["image too large"])
        do {
            _ = try RGBImage(contentsOf: url)
        } catch let error as ImageError {
            guard case .tooLarge = error else { return XCTFail("expected .tooLarge, got \(error)") }
        }
    }

    func testHugeJPEGHeader() throws {
        var jpeg = Array(try smoothImage(width: 16, height: 16).jpegData())
        // Patch the SOF0 frame size to 60000 x 60000.
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        for k in [5, 7] {
            jpeg[sof + k] = UInt8(60000 >> 8)
            jpeg[sof + k + 1] = UInt8(60000 & 0xFF)
        }
        let url = try file("huge.jpg", jpeg)
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "image too large: 60000 x 60000"])
    }

    func testTruncatedJPEG() throws {
        let jpeg = Array(try smoothImage(width: 64, height: 48).jpegData(quality: 90))
        let url = try file("half.jpg", Array(jpeg[0..<(jpeg.count / 2)]))
        assertImageError(try RGBImage(contentsOf: url), contains: [url.path, "JPEG: Premature end of JPEG file"])
        // Cut inside the headers too.
        let early = try file("early.jpg", Array(jpeg[0..<20]))
        assertImageError(try RGBImage(contentsOf: early), contains: [early.path, "JPEG"])
    }

    func testMissingFileAndDirectory() throws {
        let missing = dir.appendingPathComponent("nope.png")
        assertImageError(try RGBImage(contentsOf: missing), contains: [missing.path, "no such file"])
        assertImageError(try RGBImage(contentsOf: dir), contains: [dir.path, "is a directory"])
        assertImageError(try RGBImage.readPNGText(missing), contains: [missing.path, "no such file"])
    }

    func testInMemoryErrorsNameTheSource() {
        assertImageError(try RGBImage.decode(Data(), name: "clipboard"), contains: ["clipboard", "empty"])
        assertImageError(try RGBImage.decode(Data([1, 2, 3])), contains: ["<memory>", "unknown image format"])
    }
}

/// CRC-32 (IEEE, as used by PNG).
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for n in 0..<256 {
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[n] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}
