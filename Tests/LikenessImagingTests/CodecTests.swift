import Foundation
import XCTest
import LikenessImaging

final class CodecTests: XCTestCase {
    func testPNGRoundTripIsExact() throws {
        for (w, h) in [(1, 1), (7, 3), (64, 64), (33, 65)] {
            let image = try randomImage(width: w, height: h, seed: UInt64(w * 1000 + h))
            let data = try image.pngData()
            XCTAssertEqual(ImageFormat.sniff(data), .png)
            let back = try RGBImage.decode(data)
            XCTAssertEqual(back.width, w)
            XCTAssertEqual(back.height, h)
            XCTAssertEqual(back.pixels, image.pixels, "PNG round trip changed pixels at \(w) x \(h)")
        }
    }

    func testPNGTextRoundTripWithMultiLineValue() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("out.png")
        let image = try randomImage(width: 5, height: 4, seed: 7)
        let parameters = "prompt: a <obj> on the beach\nnegative_prompt: blurry\nsteps: 20\ncfg: 7.5\nseed: 42"
        let text: [(String, String)] = [
            ("parameters", parameters),
            ("Software", "Likeness"),
            ("Comment", "caf\u{e9} \u{b5}"),        // Latin-1: stored as tEXt
            ("Title", "\u{1F600} smile \u{65e5}"),  // not Latin-1: stored as iTXt (UTF-8)
            ("Empty", ""),
        ]
        try image.write(to: url, text: text)
        let read = try RGBImage.readPNGText(url)
        XCTAssertEqual(read.count, text.count)
        for (k, v) in text { XCTAssertEqual(read[k], v, "text chunk \(k)") }
        let entries = try RGBImage.readPNGTextEntries(url)
        XCTAssertEqual(entries.map(\.key), text.map(\.0), "text chunks keep their order")
        XCTAssertEqual(try RGBImage(contentsOf: url), image)

        // parameters parse back into one `key: value` per line
        let lines = read["parameters"]?.split(separator: "\n").map(String.init) ?? []
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines.first, "prompt: a <obj> on the beach")
    }

    func testPNGTextKeyValidation() throws {
        let image = try randomImage(width: 2, height: 2, seed: 1)
        assertImageError(try image.pngData(text: [("", "v")]), contains: ["1 to 79"])
        assertImageError(try image.pngData(text: [(String(repeating: "k", count: 80), "v")]), contains: ["1 to 79"])
        assertImageError(try image.pngData(text: [(" lead", "v")]), contains: ["space"])
        assertImageError(try image.pngData(text: [("a  b", "v")]), contains: ["space"])
        assertImageError(try image.pngData(text: [("tab\tkey", "v")]), contains: ["non-printable"])
        assertImageError(try image.pngData(text: [("\u{65e5}", "v")]), contains: ["Latin-1"])
        assertImageError(try image.pngData(text: [("key", "a\u{0}b")]), contains: ["NUL"])
    }

    func testReadTextOfFixtureWrittenByIndependentEncoder() throws {
        let url = try fixture("png/rgb8_text.png")
        let text = try RGBImage.readPNGText(url)
        XCTAssertEqual(text["parameters"], "prompt: a <obj>\nsteps: 20")
        XCTAssertEqual(text["Software"], "fixture")
        XCTAssertEqual(try RGBImage.readPNGText(try fixture("png/rgb8.png")), [:])
    }

    /// Every PNG colour type and bit depth, interlaced or not, written by the fixture script's
    /// own encoder; expected pixels computed in numpy (16-bit rounded, alpha on white).
    func testPNGDecodeMatchesFixtures() throws {
        let expected = try loadSafetensors(try fixture("png_expected.safetensors"))
        XCTAssertGreaterThanOrEqual(expected.count, 20, "fixture set looks incomplete")
        var worst = 0
        for (name, tensor) in expected.sorted(by: { $0.key < $1.key }) {
            let image = try RGBImage(contentsOf: try fixture("png/\(name).png"))
            XCTAssertEqual([image.height, image.width, 3], tensor.shape, name)
            guard image.pixels.count == tensor.u8.count else { continue }
            let d = maxAbsDiff(image.pixels, tensor.u8)
            print("[parity] PNG \(name): max-abs \(d)")
            XCTAssertEqual(d, 0, "PNG case \(name) differs from the expected pixels by up to \(d)")
            worst = max(worst, d)
        }
        // Measured max-abs difference over all PNG cases: 0 (exact).
        XCTAssertEqual(worst, 0)
    }

    /// JPEGs written by Pillow; expected = Pillow's decode (its bundled libjpeg-turbo), RGB.
    func testJPEGDecodeMatchesPillow() throws {
        let expected = try loadSafetensors(try fixture("jpeg_expected.safetensors"))
        XCTAssertEqual(Set(expected.keys), ["rgb420", "rgb444", "progressive", "gray", "cmyk"])
        for (name, tensor) in expected.sorted(by: { $0.key < $1.key }) {
            let image = try RGBImage(contentsOf: try fixture("jpeg/\(name).jpg"))
            XCTAssertEqual([image.height, image.width, 3], tensor.shape, name)
            guard image.pixels.count == tensor.u8.count else { continue }
            let d = maxAbsDiff(image.pixels, tensor.u8)
            print("[parity] JPEG \(name) vs Pillow: max-abs \(d)")
            XCTAssertLessThanOrEqual(d, jpegTolerance[name] ?? 0, "JPEG case \(name): max-abs \(d)")
        }
    }

    func testJPEGEncodeDecodeIsClose() throws {
        let image = try smoothImage(width: 48, height: 40)
        let data = try image.jpegData(quality: 92)
        XCTAssertEqual(ImageFormat.sniff(data), .jpeg)
        let back = try RGBImage.decode(data)
        XCTAssertEqual(back.width, 48)
        XCTAssertEqual(back.height, 40)
        let mean = meanAbsDiff(back.pixels, image.pixels)
        XCTAssertLessThan(mean, 3.0, "JPEG q92 round trip mean abs error \(mean)")
        XCTAssertNotEqual(back.pixels, image.pixels, "JPEG is lossy; identical output means it was not encoded")
        // Lower quality gives a smaller file and larger error.
        let low = try image.jpegData(quality: 10)
        XCTAssertLessThan(low.count, data.count)
        XCTAssertGreaterThan(meanAbsDiff(try RGBImage.decode(low).pixels, image.pixels), mean)
        assertImageError(try image.jpegData(quality: 0), contains: ["quality"])
        assertImageError(try image.jpegData(quality: 101), contains: ["quality"])
    }

    func testWriteJPEGFileAndSniffByMagicNotExtension() throws {
        let dir = try makeTempDir(self)
        let image = try smoothImage(width: 16, height: 16)
        let url = dir.appendingPathComponent("actually-a-jpeg.png")
        try image.writeJPEG(to: url, quality: 95)
        let back = try RGBImage(contentsOf: url)
        XCTAssertLessThan(meanAbsDiff(back.pixels, image.pixels), 3.0)
        assertImageError(try RGBImage.readPNGText(url), contains: ["actually-a-jpeg.png", "not a PNG"])
    }

    func testOneByOne() throws {
        let image = try RGBImage(width: 1, height: 1, pixels: [10, 200, 30])
        XCTAssertEqual(try RGBImage.decode(try image.pngData()), image)
        let j = try RGBImage.decode(try image.jpegData(quality: 100))
        XCTAssertEqual(j.width, 1)
        XCTAssertLessThanOrEqual(maxAbsDiff(j.pixels, image.pixels), 8)
        XCTAssertEqual(try RGBImage(contentsOf: try fixture("png/rgb8_1x1.png")).width, 1)
    }

    func testFormatFromExtensionAndMagic() {
        XCTAssertEqual(ImageFormat(pathExtension: "PNG"), .png)
        XCTAssertEqual(ImageFormat(pathExtension: "jpeg"), .jpeg)
        XCTAssertEqual(ImageFormat(pathExtension: "Jpg"), .jpeg)
        XCTAssertNil(ImageFormat(pathExtension: "gif"))
        XCTAssertEqual(ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
        XCTAssertNil(ImageFormat.sniff([0x89, 0x50, 0x4E, 0x47]))  // too short for the PNG signature
    }

    func testImageInitValidation() {
        assertImageError(try RGBImage(width: 0, height: 3, pixels: []), contains: ["positive"])
        assertImageError(try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]), contains: ["2 * 2 * 3", "got 3"])
        assertImageError(try RGBImage(width: -1, height: 2, fill: .white), contains: ["positive"])
    }
}

/// Allowed max-abs difference per JPEG fixture against Pillow.
private let jpegTolerance: [String: Int] = [
    "rgb420": 0, "rgb444": 0, "progressive": 0, "gray": 0, "cmyk": 0,
]
