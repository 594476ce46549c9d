// Strict text decoding for metadata fields: invalid bytes are an error that says where, never a
// silent U+FFFD.

enum TextDecodingError: Error {
    /// `message` completes "the <field> ...": "is not valid UTF-8 (byte 0xC3 at offset 12)".
    case invalid(String)
}

enum TextDecoding {
    static func latin1<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    /// Code units decoded strictly: the text, or the index of the first code unit that is not valid.
    private static func decode<C: UnicodeCodec, S: Sequence>(_ units: S, as _: C.Type) -> Result<String, IndexError>
        where S.Element == C.CodeUnit {
        var decoder = C()
        var it = units.makeIterator()
        var scalars = String.UnicodeScalarView()
        var index = 0
        while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s):
                scalars.append(s)
                index += MemoryLayout<C.CodeUnit>.size == 1 ? s.utf8.count : s.utf16.count
            case .emptyInput:
                return .success(String(scalars))
            case .error:
                return .failure(IndexError(index: index))
            }
        }
    }

    private struct IndexError: Error { let index: Int }

    /// UTF-8, strictly.
    static func utf8(_ bytes: ArraySlice<UInt8>) throws -> String {
        switch decode(bytes, as: UTF8.self) {
        case .success(let s): return s
        case .failure(let e):
            let i = bytes.startIndex + e.index
            let b = i < bytes.endIndex ? String(format2: bytes[i]) : "end"
            throw TextDecodingError.invalid("is not valid UTF-8 (byte \(b) at offset \(e.index))")
        }
    }

    /// The bytes as UTF-8 when they are valid UTF-8 and hold at least one multi-byte sequence;
    /// nil for ASCII (same either way) and for anything that is not UTF-8.
    static func utf8IfMultibyte(_ bytes: [UInt8]) -> String? {
        guard bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        return try? utf8(bytes[...])
    }

    /// UTF-16 code units, strictly (unpaired surrogates are errors).
    static func utf16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool) throws -> String {
        guard bytes.count % 2 == 0 else {
            throw TextDecodingError.invalid("is not valid UTF-16 (an odd number of bytes, \(bytes.count): truncated)")
        }
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let a = UInt16(bytes[i]), b = UInt16(bytes[i + 1])
            units.append(bigEndian ? a << 8 | b : b << 8 | a)
            i += 2
        }
        switch decode(units, as: UTF16.self) {
        case .success(let s): return s
        case .failure(let e):
            throw TextDecodingError.invalid("is not valid UTF-16\(bigEndian ? "BE" : "LE") (an unpaired surrogate at code unit \(e.index))")
        }
    }

    /// An EXIF UserComment (EXIF 2.3, 4.6.5): 8 bytes of character code, then the text.
    /// - "ASCII\0\0\0": the text is read as UTF-8 (a superset; tools write UTF-8 there).
    /// - "UNICODE\0": UTF-16. The spec leaves the byte order to the TIFF header; piexif (which
    ///   AUTOMATIC1111 uses) writes big-endian UTF-16 in a big-endian block, others follow the block
    ///   or write the opposite. A byte-order mark decides; else the side on which the ASCII range's
    ///   zero bytes fall; else the TIFF byte order.
    /// - "\0" x 8 (undefined): UTF-8. "JIS": not supported (an error).
    /// - No known code (Pillow writes a str this way): the whole value as UTF-8.
    /// Trailing NULs are dropped.
    static func userComment(_ bytes: [UInt8], tiffBigEndian: Bool) throws -> String {
        let code = bytes.prefix(8)
        var body = bytes.dropFirst(8)
        let text: String
        if code.elementsEqual(Array("ASCII".utf8) + [0, 0, 0]) || code.elementsEqual([UInt8](repeating: 0, count: 8)) {
            while body.last == 0 { body = body.dropLast() }
            text = try utf8(body)
        } else if code.elementsEqual(Array("UNICODE".utf8) + [0]) {
            var bigEndian = tiffBigEndian
            if body.starts(with: [0xFE, 0xFF]) { bigEndian = true; body = body.dropFirst(2) }
            else if body.starts(with: [0xFF, 0xFE]) { bigEndian = false; body = body.dropFirst(2) }
            else {
                var evenZeros = 0, oddZeros = 0
                for (k, b) in body.enumerated() where b == 0 { if k % 2 == 0 { evenZeros += 1 } else { oddZeros += 1 } }
                if evenZeros != oddZeros { bigEndian = evenZeros > oddZeros }
            }
            while body.count >= 2, body[body.endIndex - 1] == 0, body[body.endIndex - 2] == 0 { body = body.dropLast(2) }
            text = try utf16(body, bigEndian: bigEndian)
        } else if code.elementsEqual(Array("JIS".utf8) + [0, 0, 0, 0, 0]) {
            throw TextDecodingError.invalid("is in JIS encoding, which Likeness does not read")
        } else {
            var all = bytes[...]
            while all.last == 0 { all = all.dropLast() }
            text = try utf8(all)
        }
        return text
    }
}

private extension String {
    init(format2 byte: UInt8) {
        let hex = String(byte, radix: 16, uppercase: true)
        self = "0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}
