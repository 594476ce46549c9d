// Conversion between 8-bit RGB and float CHW tensors.
// Matches diffusers' image processing: to floats `p / 255` (float32), and for [-1, 1]
// `2 * (p / 255) - 1` (VaeImageProcessor.normalize); from floats `(x / 2 + 0.5).clamp(0, 1)`
// for [-1, 1], then `round(x * 255)` with round-half-to-even as numpy does
// (VaeImageProcessor.numpy_to_pil). Limits: NaN maps to 0; values outside the range are clamped.

/// Value range of a float image.
public enum PixelRange: Sendable, Equatable {
    /// 0 is black, 1 is full intensity (CLIP-style inputs before mean/std normalization).
    case zeroToOne
    /// -1 is black, 1 is full intensity (VAE inputs and outputs).
    case minusOneToOne
}

extension RGBImage {
    /// The image as floats in CHW layout: `[3, height, width]`, channel R first.
    public func toCHWFloats(range: PixelRange) -> [Float] {
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    for c in 0..<3 {
                        let v = Float(src[3 * i + c]) / 255
                        dst[c * plane + i] = range == .minusOneToOne ? 2 * v - 1 : v
                    }
                }
            }
        }
        return out  // [3, H, W]
    }

    /// Builds an image from floats in CHW layout `[3, height, width]`, clamping to `range`.
    /// Throws when the count is not `3 * width * height` or a side is not positive.
    public init(chw: [Float], width: Int, height: Int, range: PixelRange) throws {
        guard width > 0, height > 0, width <= ImageLimits.maxDimension,
              height <= ImageLimits.maxDimension
        else {
            throw ImageError.invalidArgument(
                "image size must be 1...\(ImageLimits.maxDimension) per side, got \(width) x \(height)")
        }
        let plane = width * height
        guard chw.count == 3 * plane else {
            throw ImageError.invalidArgument(
                "CHW float buffer for a \(width) x \(height) image must have 3 * \(height) * \(width) = "
                    + "\(3 * plane) values, got \(chw.count)")
        }
        var pixels = [UInt8](repeating: 0, count: 3 * plane)
        chw.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for i in 0..<plane {
                        var v = src[c * plane + i]  // [3, H, W]
                        if range == .minusOneToOne { v = v / 2 + 0.5 }
                        if !(v > 0) { v = 0 }  // also catches NaN
                        if v > 1 { v = 1 }
                        dst[3 * i + c] = UInt8((v * 255).rounded(.toNearestOrEven))
                    }
                }
            }
        }
        self.init(validatedWidth: width, height: height, pixels: pixels)
    }
}
