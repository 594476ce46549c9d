import Foundation

/// Every error LikenessImaging throws. Messages name the file (or `<memory>` for in-memory data),
/// the format, and what went wrong, so they can be shown to a user as they are.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file could not be read (missing, a directory, permission denied, ...).
    case unreadableFile(path: String, reason: String)
    /// The file or buffer holds no bytes.
    case emptyFile(path: String)
    /// The bytes are neither PNG nor JPEG. `firstBytes` is a short hex dump of the start.
    case unknownFormat(path: String, firstBytes: String)
    /// The data looked like `format` but could not be decoded (corrupt, truncated, CRC error).
    case corrupt(path: String, format: String, message: String)
    /// The image is larger than the decoder's limits (see `ImageLimits`).
    case tooLarge(path: String, message: String)
    /// Encoding failed (bad text key, unsupported size, out of memory).
    case encodeFailed(format: String, message: String)
    /// Writing the file failed; any existing file at `path` was left untouched.
    case writeFailed(path: String, reason: String)
    /// A caller passed an impossible value (negative size, wrong pixel count, ...).
    case invalidArgument(String)
    /// The metadata of an image (PNG text, EXIF) is damaged or cannot be decoded; `message`
    /// names the field and the problem.
    case badMetadata(path: String, message: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "\(path): cannot read image file: \(reason)"
        case let .emptyFile(path):
            return "\(path): file is empty, expected a PNG or JPEG image"
        case let .unknownFormat(path, firstBytes):
            return "\(path): unknown image format (first bytes: \(firstBytes)); "
                + "only PNG and JPEG are supported, convert the image to PNG"
        case let .corrupt(path, _, message):
            // CImageIO messages already name the format ("PNG: IHDR: CRC error",
            // "JPEG: Premature end of JPEG file", "truncated PNG data: ...").
            return "\(path): cannot decode image: \(message)"
        case let .tooLarge(path, message):
            return "\(path): \(message)"
        case let .encodeFailed(format, message):
            return "cannot encode \(format): \(message)"
        case let .writeFailed(path, reason):
            return "\(path): cannot write file: \(reason) (any existing file was left unchanged)"
        case let .invalidArgument(message):
            return message
        case let .badMetadata(path, message):
            return "\(path): \(message)"
        }
    }

    public var errorDescription: String? { description }
}

/// Decoder limits (mirrors CImageIO's CIMG_MAX_DIMENSION / CIMG_MAX_BYTES).
public enum ImageLimits {
    /// Largest width or height a decoder accepts, in pixels.
    public static let maxDimension = 16384
    /// Largest decoded pixel buffer, in bytes.
    public static let maxBytes = 1 << 30
    /// Largest file `RGBImage(contentsOf:)` reads, in bytes.
    public static let maxFileBytes = 512 << 20
}
