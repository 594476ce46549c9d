// Width and height read from a PNG's IHDR or a JPEG's SOF marker without decoding, so an
// oversized reference is refused before any pixel buffer is allocated.

import Foundation
import LikenessImaging

public struct ImageHeader: Equatable, Sendable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// JPEG colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK); 0 for PNG.
    public var components: Int

    /// Reads the header of PNG or JPEG bytes; nil when no size is found (the decoder then names
    /// the damage). Throws nothing: a header it cannot read is left to the decoder.
    public static func read(_ data: Data) -> ImageHeader? {
        let bytes = [UInt8](data.prefix(256 * 1024))
        switch ImageFormat.sniff(bytes) {
        case .png?: return png(bytes)
        case .jpeg?: return jpeg(bytes)
        case nil: return nil
        }
    }

    private static func be32(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    private static func png(_ b: [UInt8]) -> ImageHeader? {
        // Signature (8), length (4), "IHDR" (4), width (4), height (4).
        guard b.count >= 24, b[12] == 0x49, b[13] == 0x48, b[14] == 0x44, b[15] == 0x52 else { return nil }
        return ImageHeader(format: .png, width: be32(b, 16), height: be32(b, 20), components: 0)
    }

    private static func jpeg(_ b: [UInt8]) -> ImageHeader? {
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            let isSOF = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isSOF {
                guard i + 10 <= b.count else { return nil }
                let height = Int(b[i + 5]) << 8 | Int(b[i + 6])
                let width = Int(b[i + 7]) << 8 | Int(b[i + 8])
                return ImageHeader(format: .jpeg, width: width, height: height, components: Int(b[i + 9]))
            }
            if marker == 0xDA || length < 2 { return nil }
            i += 2 + length
        }
        return nil
    }
}
