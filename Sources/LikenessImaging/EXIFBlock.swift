// The text fields of an EXIF block: a TIFF structure (TIFF 6.0 section 2; EXIF 2.3 section 4.6)
// of "II" (little-endian) or "MM" (big-endian), 42, the offset of IFD0; each IFD is a 2-byte
// entry count, 12-byte entries (tag, type, count, value or offset: values of 4 bytes or fewer sit
// in the entry), and the offset of the next IFD. Tag 0x8769 in IFD0 points at the Exif IFD.
//
// Read: ImageDescription (0x010E), Make (0x010F), Model (0x0110), Software (0x0131) from IFD0,
// and UserComment (0x9286), MakerNote (0x927C) from the Exif IFD, or from IFD0 where tools put
// them there (Pillow, when given tags without an Exif IFD, as Fooocus does). Every offset and
// length is checked against the block; a field that runs past it is an error naming the field.

enum EXIFBlock {
    /// Tags read, with their names.
    static let names: [UInt16: String] = [
        0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
        0x9286: "UserComment", 0x927C: "MakerNote",
    ]
    static let exifIFDPointer: UInt16 = 0x8769
    /// More entries than this in one IFD is taken as damage (real files have a few dozen).
    static let maxEntries = 4096

    private struct Reader {
        let b: ArraySlice<UInt8>
        let bigEndian: Bool
        let name: String

        func u16(_ at: Int) -> UInt16 {
            let x = UInt16(b[b.startIndex + at]), y = UInt16(b[b.startIndex + at + 1])
            return bigEndian ? x << 8 | y : y << 8 | x
        }

        func u32(_ at: Int) -> UInt32 {
            let x = (0..<4).map { UInt32(b[b.startIndex + at + $0]) }
            return bigEndian ? x[0] << 24 | x[1] << 16 | x[2] << 8 | x[3] : x[3] << 24 | x[2] << 16 | x[1] << 8 | x[0]
        }

        func damaged(_ what: String) -> ImageError {
            .badMetadata(path: name, message: "truncated or damaged EXIF: \(what) (the EXIF block has \(b.count) bytes)")
        }

        /// The (tag, type, count, entry offset) of every entry of the IFD at `offset`.
        func entries(at offset: Int, ifd: String) throws -> [(tag: UInt16, type: UInt16, count: Int, at: Int)] {
            guard offset >= 8, offset + 2 <= b.count else { throw damaged("\(ifd) at offset \(offset) is outside the block") }
            let n = Int(u16(offset))
            guard n <= EXIFBlock.maxEntries else { throw damaged("\(ifd) claims \(n) entries") }
            guard offset + 2 + 12 * n <= b.count else { throw damaged("\(ifd) at offset \(offset) claims \(n) entries, which run past the end") }
            return (0..<n).map { i in
                let at = offset + 2 + 12 * i
                return (u16(at), u16(at + 2), Int(u32(at + 4)), at)
            }
        }

        /// The bytes of an entry's value.
        func value(type: UInt16, count: Int, at: Int, field: String) throws -> ArraySlice<UInt8> {
            let unit: Int
            switch type {
            case 1, 2, 6, 7: unit = 1
            case 3, 8: unit = 2
            case 4, 9, 11, 13: unit = 4
            case 5, 10, 12: unit = 8
            default: throw damaged("\(field) has unknown type \(type)")
            }
            let (size, overflow) = count.multipliedReportingOverflow(by: unit)
            guard !overflow else { throw damaged("\(field) claims \(count) values") }
            let start = size <= 4 ? at + 8 : Int(u32(at + 8))
            guard start <= b.count, size <= b.count - start else {
                throw damaged("\(field) (\(size) bytes at offset \(start)) runs past the end")
            }
            return b[(b.startIndex + start)..<(b.startIndex + start + size)]
        }
    }

    /// The text fields of the block (the TIFF bytes after "Exif\0\0"); Exif IFD fields first.
    static func textFields(_ block: ArraySlice<UInt8>, name: String) throws -> [MetadataField] {
        guard block.count >= 8 else {
            throw ImageError.badMetadata(path: name, message: "truncated EXIF: \(block.count) bytes, too short for a TIFF header")
        }
        let order = Array(block.prefix(2))
        let bigEndian: Bool
        if order == [0x4D, 0x4D] { bigEndian = true } else if order == [0x49, 0x49] { bigEndian = false } else {
            throw ImageError.badMetadata(path: name, message: "damaged EXIF: the TIFF header starts with neither II nor MM")
        }
        let r = Reader(b: block, bigEndian: bigEndian, name: name)
        guard r.u16(2) == 42 else { throw r.damaged("the TIFF header's magic number is \(r.u16(2)), not 42") }

        var ifd0: [MetadataField] = [], exifIFD: [MetadataField] = []
        func collect(_ entries: [(tag: UInt16, type: UInt16, count: Int, at: Int)], ifd: String, into out: inout [MetadataField]) throws {
            for e in entries {
                guard let tagName = names[e.tag] else { continue }
                let bytes = try r.value(type: e.type, count: e.count, at: e.at, field: "the \(tagName) field in \(ifd)")
                let encoding: MetadataField.Encoding = e.tag == 0x9286 && e.type != 2 ? .exifUserComment(bigEndian: bigEndian) : .exifASCII
                out.append(MetadataField(key: tagName, bytes: Array(bytes), encoding: encoding, location: "EXIF \(tagName)"))
            }
        }
        let entries0 = try r.entries(at: Int(r.u32(4)), ifd: "IFD0")
        try collect(entries0, ifd: "IFD0", into: &ifd0)
        if let pointer = entries0.first(where: { $0.tag == exifIFDPointer }) {
            let offset = Int(r.u32(pointer.at + 8))
            try collect(try r.entries(at: offset, ifd: "the Exif IFD"), ifd: "the Exif IFD", into: &exifIFD)
        }
        return exifIFD + ifd0
    }
}
