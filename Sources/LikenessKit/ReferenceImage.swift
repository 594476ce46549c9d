// A reference image for the object encoder: read, checked (format, size limits), decoded
// (CMYK JPEGs are converted to RGB by LikenessImaging's decoder), centre-cropped square and
// resized to the encoder's input size as CHW floats in [0, 1] (the kit's preprocessing: the
// encoder applies its own mean/std).

import Foundation
import LikenessEngine
import LikenessImaging

public enum ReferenceImageError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case notAnImage(path: String, firstBytes: String)
    case tooSmall(path: String, width: Int, height: Int, minimum: Int)
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    case fileTooLarge(path: String, bytes: Int, limit: Int)
    case undecodable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read the reference image: \(reason)"
        case let .notAnImage(path, firstBytes):
            return "\(path): not a PNG or JPEG image (first bytes: \(firstBytes)); give a PNG or JPEG reference"
        case let .tooSmall(path, w, h, minimum):
            return "\(path): the reference is \(w)x\(h) pixels, too small; it must be at least \(minimum)x\(minimum) pixels"
        case let .tooLarge(path, w, h, limit):
            return "\(path): the reference is \(w)x\(h) pixels, above the limit of \(limit) pixels per side; downscale it first"
        case let .fileTooLarge(path, bytes, limit):
            return "\(path): the reference file is \(bytes) bytes, above the limit of \(limit) bytes; downscale or recompress it"
        case let .undecodable(path, reason):
            return "\(path): the reference image is damaged: \(reason)"
        }
    }
}

public struct ReferenceImage: Sendable {
    /// Smallest accepted width or height.
    public static let minimumSide = 16
    /// Largest accepted width or height, checked from the header before decoding.
    public static let maximumSide = 8192
    public static let maximumFileBytes = 128 << 20

    /// The decoded image as given (before cropping), RGB.
    public let image: RGBImage
    /// SHA-256 of the file's bytes.
    public let sha256: String
    public let path: String

    /// Reads and checks the file at `url`.
    public init(contentsOf url: URL) throws {
        let path = url.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ReferenceImageError.unreadable(path: path, reason: "no such file")
        }
        guard !isDir.boolValue else { throw ReferenceImageError.unreadable(path: path, reason: "is a directory") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
           size.intValue > Self.maximumFileBytes {
            throw ReferenceImageError.fileTooLarge(path: path, bytes: size.intValue, limit: Self.maximumFileBytes)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ReferenceImageError.unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, name: path)
    }

    /// Checks and decodes image bytes; `name` is used in messages.
    public init(data: Data, name: String) throws {
        guard !data.isEmpty else { throw ReferenceImageError.unreadable(path: name, reason: "the file is empty") }
        guard ImageFormat.sniff(data) != nil else {
            let hex = data.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw ReferenceImageError.notAnImage(path: name, firstBytes: hex)
        }
        if let header = ImageHeader.read(data) {
            if header.width > Self.maximumSide || header.height > Self.maximumSide {
                throw ReferenceImageError.tooLarge(path: name, width: header.width, height: header.height, limit: Self.maximumSide)
            }
            if header.width < Self.minimumSide || header.height < Self.minimumSide {
                throw ReferenceImageError.tooSmall(path: name, width: header.width, height: header.height, minimum: Self.minimumSide)
            }
        }
        let decoded: RGBImage
        do { decoded = try RGBImage.decode(data, name: name) } catch let e as ImageError {
            throw ReferenceImageError.undecodable(path: name, reason: Self.reason(e))
        }
        // A header the sniffing above could not read is checked again on the decoded size.
        if decoded.width < Self.minimumSide || decoded.height < Self.minimumSide {
            throw ReferenceImageError.tooSmall(path: name, width: decoded.width, height: decoded.height, minimum: Self.minimumSide)
        }
        image = decoded
        sha256 = SHA256.hash(data)
        path = name
    }

    /// The encoder input: the centred square resized to `size`, [1, 3, size, size] in [0, 1].
    public func encoderPixels(size: Int) throws -> Tensor {
        var square = image.centerCroppedSquare()
        if square.width != size { square = try square.resized(width: size, height: size, filter: .automatic) }
        guard let t = Tensor(shape: [1, 3, size, size], storage: square.toCHWFloats(range: .zeroToOne)) else {
            throw KitError("\(path): could not convert the reference to a [1, 3, \(size), \(size)] tensor")
        }
        return t
    }

    /// A square thumbnail of `side` pixels.
    public func thumbnail(side: Int = 64) throws -> RGBImage {
        let square = image.centerCroppedSquare()
        return square.width == side ? square : try square.resized(width: side, height: side, filter: .automatic)
    }

    /// The decoder's message without the path it repeats.
    private static func reason(_ e: ImageError) -> String {
        switch e {
        case let .corrupt(_, _, message): return message
        case let .tooLarge(_, message): return message
        default: return e.description
        }
    }
}

extension LikenessPipeline {
    /// The object tokens of `reference`: its centred square at the encoder's input size, one
    /// encoder pass ([1, K, D]). The one way from a reference image to tokens, for the gallery,
    /// `likeness encode` and `generate --object PATH`.
    public func objectTokens(for reference: ReferenceImage) throws -> Tensor {
        guard let size = objectImageSize else { throw GenerationError.noObjectEncoder(model: modelURL.path) }
        return try encodeObject(pixels: reference.encoderPixels(size: size))
    }
}
