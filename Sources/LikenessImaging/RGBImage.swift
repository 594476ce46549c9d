import Foundation

/// One 8-bit RGB colour.
public struct RGB: Equatable, Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
}

/// An 8-bit RGB image: `pixels` holds `width * height * 3` bytes, interleaved R, G, B, rows from
/// top to bottom, no padding.
///
/// There is no alpha channel. Decoders composite transparent images on white
/// (`out = (c * a + 255 * (255 - a) + 127) / 255`, integer), the way a viewer shows them on a
/// white page; see `RGBImage.decode(_:name:)`.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, RGB interleaved, row-major.
    public internal(set) var pixels: [UInt8]

    /// Wraps existing pixels. Throws when a side is not positive or the count is not
    /// `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw ImageError.invalidArgument("image size must be positive, got \(width) x \(height)")
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= Int.max / 3, pixels.count == count * 3 else {
            throw ImageError.invalidArgument(
                "pixel buffer for a \(width) x \(height) RGB image must have \(width) * \(height) * 3 "
                    + "bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour. Throws when a side is not positive or the image would
    /// exceed `ImageLimits`.
    public init(width: Int, height: Int, fill: RGB = .black) throws {
        guard width > 0, height > 0 else {
            throw ImageError.invalidArgument("image size must be positive, got \(width) x \(height)")
        }
        guard width <= ImageLimits.maxDimension, height <= ImageLimits.maxDimension else {
            throw ImageError.invalidArgument(
                "image size \(width) x \(height) exceeds limit \(ImageLimits.maxDimension) x "
                    + "\(ImageLimits.maxDimension)")
        }
        var p = [UInt8](repeating: 0, count: width * height * 3)
        if fill != .black {
            for i in 0..<(width * height) {
                p[3 * i] = fill.r
                p[3 * i + 1] = fill.g
                p[3 * i + 2] = fill.b
            }
        }
        self.width = width
        self.height = height
        self.pixels = p
    }

    /// Internal initializer for sizes already validated by the caller.
    init(validatedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The colour at column `x`, row `y` (0-based, from the top left). Out-of-range coordinates
    /// trap, as for arrays.
    public subscript(x: Int, y: Int) -> RGB {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) out of range")
            let i = (y * width + x) * 3
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) out of range")
            let i = (y * width + x) * 3
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }

    /// Direct mutable access to the pixel bytes (count fixed at `width * height * 3`).
    public mutating func withUnsafeMutablePixels<R>(_ body: (UnsafeMutableBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try pixels.withUnsafeMutableBufferPointer { try body($0) }
    }
}
