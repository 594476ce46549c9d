import CImageIO
import Foundation

/// Image file formats LikenessImaging reads and writes.
public enum ImageFormat: String, Sendable, Equatable {
    case png = "PNG"
    case jpeg = "JPEG"

    /// The format told by the first bytes (magic numbers), or nil.
    public static func sniff<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head.count >= 8, head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        return nil
    }
}

extension ImageFormat {
    /// The format named by a file extension (`png`; `jpg`, `jpeg`), case-insensitive, or nil.
    public init?(pathExtension ext: String) {
        switch ext.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        default: return nil
        }
    }
}

/// Size of the message buffers handed to CImageIO.
private let messageCapacity = 512

/// Calls a CImageIO function with a message buffer; returns (code, message).
private func withMessage(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> (Int32, String) {
    var buffer = [CChar](repeating: 0, count: messageCapacity)
    let code = buffer.withUnsafeMutableBufferPointer { buf -> Int32 in
        guard let base = buf.baseAddress else { return CIMG_ERR_ARGUMENT }
        return body(base, buf.count)
    }
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return (code, String(decoding: bytes, as: UTF8.self))
}

private func decodeError(code: Int32, message: String, name: String, format: ImageFormat) -> ImageError {
    if code == CIMG_ERR_TOO_LARGE { return .tooLarge(path: name, message: message) }
    return .corrupt(path: name, format: format.rawValue, message: message)
}

/// Converts CImageIO output (RGB or RGBA) into an RGBImage, compositing alpha on white.
private func takeImage(_ image: cimg_image) -> RGBImage {
    defer { cimg_free(image.pixels) }
    let w = Int(image.width), h = Int(image.height), n = w * h
    var out = [UInt8](repeating: 0, count: n * 3)
    guard let src = image.pixels else { return RGBImage(validatedWidth: w, height: h, pixels: out) }
    if image.channels == 3 {
        out.withUnsafeMutableBufferPointer { dst in
            dst.baseAddress?.update(from: src, count: n * 3)
        }
    } else {
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<n {
                let a = UInt32(src[4 * i + 3])
                for c in 0..<3 {
                    let v = UInt32(src[4 * i + c])
                    dst[3 * i + c] = UInt8((v * a + 255 * (255 - a) + 127) / 255)
                }
            }
        }
    }
    return RGBImage(validatedWidth: w, height: h, pixels: out)
}

extension RGBImage {
    /// Reads a PNG or JPEG file, telling the format by its magic bytes (not its extension).
    /// Alpha is composited on white. Errors name the file.
    public init(contentsOf url: URL) throws {
        let data = try readImageFile(url)
        self = try RGBImage.decode(data, name: url.path)
    }

    /// Decodes PNG or JPEG bytes, telling the format by the magic bytes. `name` is used in error
    /// messages (a path, or `<memory>`). Alpha is composited on white.
    public static func decode(_ data: Data, name: String = "<memory>") throws -> RGBImage {
        guard !data.isEmpty else { throw ImageError.emptyFile(path: name) }
        guard let format = ImageFormat.sniff(data) else {
            let hex = data.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw ImageError.unknownFormat(path: name, firstBytes: hex)
        }
        return try decode(data, format: format, name: name)
    }

    /// Decodes bytes known to be in `format`.
    public static func decode(_ data: Data, format: ImageFormat, name: String = "<memory>") throws -> RGBImage {
        var image = cimg_image()
        let (code, message) = data.withUnsafeBytes { raw -> (Int32, String) in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            return withMessage { msg, cap in
                switch format {
                case .png: return cimg_decode_png(base, raw.count, &image, msg, cap)
                case .jpeg: return cimg_decode_jpeg(base, raw.count, &image, msg, cap)
                }
            }
        }
        guard code == CIMG_OK else {
            throw decodeError(code: code, message: message, name: name, format: format)
        }
        return takeImage(image)
    }

    /// Encodes the image as an 8-bit RGB PNG with the given text chunks, in order. A value that
    /// is all Latin-1 goes into a `tEXt` chunk, any other value into an uncompressed UTF-8 `iTXt`
    /// chunk. Keys must be 1-79 printable Latin-1 characters without leading, trailing or double
    /// spaces. Values may hold newlines but no NUL characters.
    public func pngData(text: [(String, String)] = []) throws -> Data {
        // Keep converted key/value bytes alive for the C call.
        var keys: [[CChar]] = []
        var values: [[CChar]] = []
        var utf8Flags: [Int32] = []
        for (key, value) in text {
            guard let keyBytes = latin1Bytes(key) else {
                throw ImageError.encodeFailed(
                    format: "PNG", message: "text key \"\(key)\" is not Latin-1; PNG keys must be Latin-1")
            }
            keys.append(keyBytes.map { CChar(bitPattern: $0) })
            if let v = latin1Bytes(value) {
                values.append(v.map { CChar(bitPattern: $0) })
                utf8Flags.append(0)
            } else {
                values.append(Array(value.utf8).map { CChar(bitPattern: $0) })
                utf8Flags.append(1)
            }
        }
        var outData: UnsafeMutablePointer<UInt8>?
        var outSize = 0
        let (code, message) = withCStringArrays(keys, values) { keyPtrs, valuePtrs in
            var entries: [cimg_text_in] = []
            for i in 0..<keyPtrs.count {
                entries.append(cimg_text_in(key: keyPtrs[i], value: valuePtrs[i],
                                            value_len: values[i].count, value_is_utf8: utf8Flags[i]))
            }
            return entries.withUnsafeBufferPointer { ents in
                pixels.withUnsafeBufferPointer { px in
                    withMessage { msg, cap in
                        cimg_encode_png(px.baseAddress, Int32(width), Int32(height), 3,
                                        ents.baseAddress, ents.count, &outData, &outSize, msg, cap)
                    }
                }
            }
        }
        guard code == CIMG_OK, let bytes = outData else {
            throw ImageError.encodeFailed(format: "PNG", message: message)
        }
        defer { cimg_free(bytes) }
        return Data(bytes: bytes, count: outSize)
    }

    /// Encodes the image as a baseline JPEG (4:2:0) with `quality` in 1...100.
    public func jpegData(quality: Int = 90) throws -> Data {
        guard (1...100).contains(quality) else {
            throw ImageError.invalidArgument("JPEG quality must be 1...100, got \(quality)")
        }
        var outData: UnsafeMutablePointer<UInt8>?
        var outSize = 0
        let (code, message) = pixels.withUnsafeBufferPointer { px in
            withMessage { msg, cap in
                cimg_encode_jpeg(px.baseAddress, Int32(width), Int32(height), Int32(quality),
                                 &outData, &outSize, msg, cap)
            }
        }
        guard code == CIMG_OK, let bytes = outData else {
            throw ImageError.encodeFailed(format: "JPEG", message: message)
        }
        defer { cimg_free(bytes) }
        return Data(bytes: bytes, count: outSize)
    }

    /// Writes the image as a PNG with text chunks (see `pngData(text:)`). The bytes go to a
    /// temporary file in the same directory, which is then renamed over `url`: a failure never
    /// leaves a half-written file and never destroys an existing one.
    public func write(to url: URL, text: [(String, String)] = []) throws {
        let data = try pngData(text: text)
        try AtomicFile.write(data, to: url)
    }

    /// Writes the image as a JPEG, atomically like `write(to:text:)`.
    public func writeJPEG(to url: URL, quality: Int = 90) throws {
        let data = try jpegData(quality: quality)
        try AtomicFile.write(data, to: url)
    }

    /// The text chunks (tEXt, zTXt, iTXt) of a PNG file as a dictionary; for a repeated key the
    /// last chunk wins. Throws for files that are not valid PNGs.
    public static func readPNGText(_ url: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try readPNGTextEntries(url) { result[key] = value }
        return result
    }

    /// The text chunks of a PNG file in file order, duplicates kept.
    public static func readPNGTextEntries(_ url: URL) throws -> [(key: String, value: String)] {
        let data = try readImageFile(url)
        return try readPNGTextEntries(data, name: url.path)
    }

    /// The text chunks of PNG bytes in file order. `name` is used in error messages. Values that
    /// are not valid in their chunk's encoding are read with U+FFFD (`MetadataField.text(path:)`
    /// reads them strictly).
    public static func readPNGTextEntries(_ data: Data, name: String = "<memory>") throws -> [(key: String, value: String)] {
        try pngTextFields(data, name: name).map { (key: $0.key, value: $0.lenientText) }
    }

    /// The text chunks of PNG bytes in file order, as bytes with their encoding.
    static func pngTextFields(_ data: Data, name: String) throws -> [MetadataField] {
        guard !data.isEmpty else { throw ImageError.emptyFile(path: name) }
        guard ImageFormat.sniff(data) == .png else {
            let hex = data.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw ImageError.corrupt(path: name, format: "PNG",
                                     message: "not a PNG file (first bytes: \(hex))")
        }
        var texts: UnsafeMutablePointer<cimg_text>?
        var count = 0
        let (code, message) = data.withUnsafeBytes { raw in
            withMessage { msg, cap in
                cimg_png_read_text(raw.bindMemory(to: UInt8.self).baseAddress, raw.count,
                                   &texts, &count, msg, cap)
            }
        }
        guard code == CIMG_OK else {
            throw decodeError(code: code, message: message, name: name, format: .png)
        }
        defer { cimg_free_text(texts, count) }
        guard let texts else { return [] }
        var fields: [MetadataField] = []
        for i in 0..<count {
            let t = texts[i]
            let key = t.key.map { TextDecoding.latin1(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) } ?? ""
            var bytes: [UInt8] = []
            if let v = t.value {
                bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(v).assumingMemoryBound(to: UInt8.self), count: t.value_len))
            }
            let utf8 = t.value_is_utf8 != 0
            fields.append(MetadataField(key: key, bytes: bytes, encoding: utf8 ? .utf8 : .latin1,
                                        location: "PNG \(utf8 ? "iTXt" : "text") chunk '\(key)'"))
        }
        return fields
    }
}

/// Reads a whole image file with clear errors (missing, directory, too large).
func readImageFile(_ url: URL) throws -> Data {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ImageError.unreadableFile(path: path, reason: "no such file")
    }
    if isDirectory.boolValue {
        throw ImageError.unreadableFile(path: path, reason: "is a directory")
    }
    if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
       size.intValue > ImageLimits.maxFileBytes {
        throw ImageError.tooLarge(
            path: path,
            message: "file is \(size.intValue) bytes, above the limit of \(ImageLimits.maxFileBytes) bytes")
    }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw ImageError.unreadableFile(path: path, reason: error.localizedDescription)
    }
}

/// Latin-1 bytes of a string, or nil when a character is outside U+0000...U+00FF.
private func latin1Bytes(_ s: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(s.unicodeScalars.count)
    for scalar in s.unicodeScalars {
        guard scalar.value <= 0xFF else { return nil }
        out.append(UInt8(scalar.value))
    }
    return out
}

/// Passes NUL-terminated copies of two arrays of byte strings as C pointers.
private func withCStringArrays<R>(_ a: [[CChar]], _ b: [[CChar]],
                                  _ body: ([UnsafePointer<CChar>], [UnsafePointer<CChar>]) -> R) -> R {
    let aCopies = a.map { bytes -> UnsafeMutablePointer<CChar> in
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        p.initialize(from: bytes, count: bytes.count)
        p[bytes.count] = 0
        return p
    }
    let bCopies = b.map { bytes -> UnsafeMutablePointer<CChar> in
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        p.initialize(from: bytes, count: bytes.count)
        p[bytes.count] = 0
        return p
    }
    defer {
        aCopies.forEach { $0.deallocate() }
        bCopies.forEach { $0.deallocate() }
    }
    return body(aCopies.map { UnsafePointer($0) }, bCopies.map { UnsafePointer($0) })
}
