// The text an image file carries for other programs: PNG text chunks (tEXt, zTXt, iTXt), and the
// EXIF fields of JPEG files (APP1 segment "Exif\0\0") and WebP files (RIFF chunk `EXIF`). JPEG and
// WebP are walked here byte by byte (segments, chunks) without decoding pixels; PNG text comes
// from CImageIO, which checks the whole stream. A PNG `eXIf` chunk is not read.
//
// Values keep their bytes and declared encoding and are decoded when asked for, so a damaged
// field fails (with a message naming it) only when a reader needs it.

import Foundation

/// The containers whose metadata `ImageMetadata` reads.
public enum MetadataContainer: String, Sendable, Equatable, Codable {
    case png = "PNG"
    case jpeg = "JPEG"
    case webp = "WebP"

    /// The container told by the first bytes, or nil.
    public static func sniff<C: Collection>(_ bytes: C) -> MetadataContainer? where C.Element == UInt8 {
        let head = Array(bytes.prefix(12))
        switch ImageFormat.sniff(head) {
        case .png: return .png
        case .jpeg: return .jpeg
        case nil: break
        }
        if head.count == 12, head[0..<4].elementsEqual("RIFF".utf8), head[8..<12].elementsEqual("WEBP".utf8) { return .webp }
        return nil
    }
}

/// One text value of an image's metadata.
public struct MetadataField: Sendable, Equatable {
    /// How the bytes are to be decoded.
    public enum Encoding: Sendable, Equatable {
        /// PNG tEXt/zTXt: Latin-1 by the PNG spec; bytes that are valid UTF-8 with multi-byte
        /// sequences are read as UTF-8 (tools that write UTF-8 into tEXt), others as Latin-1.
        case latin1
        /// PNG iTXt: UTF-8, strictly.
        case utf8
        /// EXIF ASCII (type 2): up to the first NUL; UTF-8, else Latin-1.
        case exifASCII
        /// EXIF UserComment (type 7): an 8-byte character code, then the text (see `decodeUserComment`).
        /// `bigEndian` is the TIFF byte order of the EXIF block.
        case exifUserComment(bigEndian: Bool)
    }

    /// PNG keyword (`parameters`, `prompt`, ...) or EXIF tag name (`UserComment`, `Software`, ...).
    public var key: String
    public var bytes: [UInt8]
    public var encoding: Encoding
    /// Where the field is, for messages: "PNG iTXt chunk 'parameters'", "JPEG EXIF UserComment".
    public var location: String

    public init(key: String, bytes: [UInt8], encoding: Encoding, location: String) {
        self.key = key
        self.bytes = bytes
        self.encoding = encoding
        self.location = location
    }

    /// The text, decoded strictly; throws (naming `path` and the field) for bytes that are not
    /// valid in the field's encoding.
    public func text(path: String) throws -> String {
        do { return try decoded() } catch let TextDecodingError.invalid(message) {
            throw ImageError.badMetadata(path: path, message: "the \(location) \(message)")
        }
    }

    /// The text with undecodable bytes replaced (U+FFFD), for listings that must not fail.
    public var lenientText: String {
        (try? decoded()) ?? String(decoding: bytes, as: UTF8.self)
    }

    private func decoded() throws -> String {
        switch encoding {
        case .latin1:
            return TextDecoding.utf8IfMultibyte(bytes) ?? TextDecoding.latin1(bytes[...])
        case .utf8:
            return try TextDecoding.utf8(bytes[...])
        case .exifASCII:
            let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
            return (try? TextDecoding.utf8(bytes[..<end])) ?? TextDecoding.latin1(bytes[..<end])
        case .exifUserComment(let bigEndian):
            return try TextDecoding.userComment(bytes, tiffBigEndian: bigEndian)
        }
    }
}

/// The metadata text of one image file.
public struct ImageMetadata: Sendable {
    /// The file's path (or `<memory>`), for messages.
    public var path: String
    public var container: MetadataContainer
    /// PNG text chunks in file order (empty for JPEG and WebP).
    public var pngText: [MetadataField] = []
    /// EXIF text fields (JPEG, WebP): UserComment, Software, MakerNote, ImageDescription, Make,
    /// Model, as found in IFD0 and the Exif IFD (the Exif IFD's copy first).
    public var exif: [MetadataField] = []
    /// Whether the file has an EXIF block at all.
    public var hasEXIF = false

    public init(path: String, container: MetadataContainer) {
        self.path = path
        self.container = container
    }

    /// The first PNG text chunk named `key`.
    public func png(_ key: String) -> MetadataField? { pngText.first { $0.key == key } }

    /// The first EXIF field named `name`.
    public func exif(_ name: String) -> MetadataField? { exif.first { $0.key == name } }

    /// Reads the metadata of the image at `url` (PNG, JPEG or WebP, told by its first bytes).
    public static func read(_ url: URL) throws -> ImageMetadata {
        try read(readImageFile(url), name: url.path)
    }

    /// Reads the metadata of image bytes; `name` is used in messages.
    public static func read(_ data: Data, name: String = "<memory>") throws -> ImageMetadata {
        guard !data.isEmpty else { throw ImageError.emptyFile(path: name) }
        guard let container = MetadataContainer.sniff(data) else {
            let hex = data.prefix(12).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw ImageError.badMetadata(path: name, message: "not a PNG, JPEG or WebP file (first bytes: \(hex))")
        }
        var meta = ImageMetadata(path: name, container: container)
        switch container {
        case .png:
            meta.pngText = try RGBImage.pngTextFields(data, name: name)
        case .jpeg, .webp:
            let bytes = [UInt8](data)
            let block = container == .jpeg ? try jpegEXIF(bytes, name: name) : try webpEXIF(bytes, name: name)
            if let block {
                meta.hasEXIF = true
                meta.exif = try EXIFBlock.textFields(block, name: name).map { field in
                    var f = field
                    f.location = "\(container.rawValue) \(f.location)"
                    return f
                }
            }
        }
        return meta
    }

    /// The TIFF bytes of the first APP1 "Exif\0\0" segment before the image data, or nil.
    static func jpegEXIF(_ b: [UInt8], name: String) throws -> ArraySlice<UInt8>? {
        func truncated(_ what: String) -> ImageError {
            .badMetadata(path: name, message: "truncated JPEG: \(what) (the file has \(b.count) bytes)")
        }
        var pos = 2  // after SOI
        while true {
            guard pos < b.count else { return nil }  // no image data: nothing more to read
            guard b[pos] == 0xFF else {
                throw ImageError.badMetadata(path: name, message: "damaged JPEG: expected a marker at byte \(pos), found 0x\(String(format: "%02X", b[pos]))")
            }
            var p = pos
            while p < b.count, b[p] == 0xFF { p += 1 }  // fill bytes
            guard p < b.count else { throw truncated("the file ends inside a marker at byte \(pos)") }
            let marker = b[p]
            let segmentStart = p + 1
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan, end of image
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { pos = segmentStart; continue }
            guard segmentStart + 2 <= b.count else { throw truncated("the file ends inside the length of segment 0xFF\(String(format: "%02X", marker)) at byte \(p - 1)") }
            let length = Int(b[segmentStart]) << 8 | Int(b[segmentStart + 1])
            guard length >= 2 else {
                throw ImageError.badMetadata(path: name, message: "damaged JPEG: segment 0xFF\(String(format: "%02X", marker)) at byte \(p - 1) has length \(length)")
            }
            let end = segmentStart + length
            guard end <= b.count else {
                throw truncated("segment 0xFF\(String(format: "%02X", marker)) at byte \(p - 1) claims \(length) bytes, \(b.count - segmentStart) remain")
            }
            let payload = b[(segmentStart + 2)..<end]
            if marker == 0xE1, payload.starts(with: exifHeader) {
                return payload.dropFirst(exifHeader.count)
            }
            pos = end
        }
    }

    /// The TIFF bytes of the RIFF `EXIF` chunk of a WebP file, or nil. A leading "Exif\0\0"
    /// (written by some tools, though the WebP container spec has none) is skipped.
    static func webpEXIF(_ b: [UInt8], name: String) throws -> ArraySlice<UInt8>? {
        func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        let riffEnd = min(b.count, 8 + u32(4))
        var pos = 12
        while pos + 8 <= riffEnd {
            let fourCC = String(decoding: b[pos..<(pos + 4)], as: UTF8.self)
            let size = u32(pos + 4)
            let start = pos + 8
            guard size <= riffEnd - start else {
                throw ImageError.badMetadata(path: name, message: "truncated WebP: chunk '\(fourCC)' at byte \(pos) claims \(size) bytes, \(riffEnd - start) remain")
            }
            if fourCC == "EXIF" {
                let payload = b[start..<(start + size)]
                return payload.starts(with: exifHeader) ? payload.dropFirst(exifHeader.count) : payload
            }
            pos = start + size + (size & 1)
        }
        return nil
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]
}
