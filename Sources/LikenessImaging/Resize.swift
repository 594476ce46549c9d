// Resampling of RGBImage.
// `.bilinear` matches torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
//   antialias=False) on float input, then rounds to uint8 (half away from zero). Like that
//   torch mode it does not low-pass filter, so large downscales alias: use `.area` for them.
// `.area` integrates each output pixel's footprint exactly (box filter with fractional
//   coverage). For integer factors this equals torch "area" mode / adaptive_avg_pool2d; for
//   other factors torch uses whole-pixel windows and differs.
// `.nearest` matches torch mode="nearest" (src = floor(dst * in / out)).
// None of these is PIL's BICUBIC; pixel values differ from PIL-resized images.

/// Resampling filter for `RGBImage.resized(width:height:filter:)`.
public enum ResizeFilter: Sendable, Equatable {
    case bilinear
    case area
    case nearest
    /// `.area` when the image shrinks along both axes, else `.bilinear`.
    case automatic
}

extension RGBImage {
    /// The image resampled to `width` x `height` (aspect not kept; see `fitted(maxWidth:maxHeight:)`).
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResizeFilter = .automatic) throws -> RGBImage {
        guard newWidth > 0, newHeight > 0, newWidth <= ImageLimits.maxDimension,
              newHeight <= ImageLimits.maxDimension
        else {
            throw ImageError.invalidArgument(
                "resize target must be 1...\(ImageLimits.maxDimension) per side, got \(newWidth) x \(newHeight)")
        }
        if newWidth == width && newHeight == height { return self }
        var mode = filter
        if mode == .automatic {
            mode = (newWidth <= width && newHeight <= height) ? .area : .bilinear
        }
        switch mode {
        case .nearest: return resizeNearest(newWidth, newHeight)
        case .area: return resizeSeparable(newWidth, newHeight, areaTaps)
        default: return resizeSeparable(newWidth, newHeight, bilinearTaps)
        }
    }

    /// The largest size with this image's aspect ratio that fits in `maxWidth` x `maxHeight`
    /// (at least 1 x 1), rounding to the nearest pixel.
    public static func fittedSize(width: Int, height: Int, maxWidth: Int, maxHeight: Int) -> (width: Int, height: Int) {
        let scale = min(Double(max(maxWidth, 1)) / Double(width), Double(max(maxHeight, 1)) / Double(height))
        let w = min(max(1, Int((Double(width) * scale).rounded())), max(maxWidth, 1))
        let h = min(max(1, Int((Double(height) * scale).rounded())), max(maxHeight, 1))
        return (w, h)
    }

    /// The image scaled to fit `maxWidth` x `maxHeight`, keeping the aspect ratio.
    public func fitted(maxWidth: Int, maxHeight: Int, filter: ResizeFilter = .automatic) throws -> RGBImage {
        let size = RGBImage.fittedSize(width: width, height: height, maxWidth: maxWidth, maxHeight: maxHeight)
        return try resized(width: size.width, height: size.height, filter: filter)
    }

    private func resizeNearest(_ ow: Int, _ oh: Int) -> RGBImage {
        let sx = Float(width) / Float(ow), sy = Float(height) / Float(oh)
        let xs = (0..<ow).map { min(Int((Float($0) * sx).rounded(.down)), width - 1) }
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        for y in 0..<oh {
            let syi = min(Int((Float(y) * sy).rounded(.down)), height - 1)
            for x in 0..<ow {
                let s = (syi * width + xs[x]) * 3, d = (y * ow + x) * 3
                out[d] = pixels[s]
                out[d + 1] = pixels[s + 1]
                out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(validatedWidth: ow, height: oh, pixels: out)
    }

    /// Taps for one axis: for each output index, the (source index, weight) pairs.
    private typealias Taps = (_ inSize: Int, _ outSize: Int) -> [[(Int, Float)]]

    private func resizeSeparable(_ ow: Int, _ oh: Int, _ taps: Taps) -> RGBImage {
        let tx = taps(width, ow)
        let ty = taps(height, oh)
        // Horizontal pass into floats [H, ow, 3], then vertical pass.
        var mid = [Float](repeating: 0, count: height * ow * 3)
        pixels.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let srow = y * width * 3, drow = y * ow * 3
                    for x in 0..<ow {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (i, w) in tx[x] {
                            let s = srow + i * 3
                            r += w * Float(src[s])
                            g += w * Float(src[s + 1])
                            b += w * Float(src[s + 2])
                        }
                        let d = drow + x * 3
                        dst[d] = r
                        dst[d + 1] = g
                        dst[d + 2] = b
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        for c in 0..<3 {
                            var v: Float = 0
                            for (j, w) in ty[y] { v += w * src[(j * ow + x) * 3 + c] }
                            dst[(y * ow + x) * 3 + c] = UInt8(min(max(v.rounded(), 0), 255))
                        }
                    }
                }
            }
        }
        return RGBImage(validatedWidth: ow, height: oh, pixels: out)
    }
}

/// torch upsample_bilinear2d, align_corners=False: src = max(scale * (dst + 0.5) - 0.5, 0).
private func bilinearTaps(_ inSize: Int, _ outSize: Int) -> [[(Int, Float)]] {
    let scale = Float(inSize) / Float(outSize)
    return (0..<outSize).map { d in
        let src = max(scale * (Float(d) + 0.5) - 0.5, 0)
        let i0 = min(Int(src), inSize - 1)
        let offset = i0 < inSize - 1 ? 1 : 0
        let l1 = min(max(src - Float(i0), 0), 1)
        let l0 = 1 - l1
        return offset == 0 ? [(i0, Float(1))] : [(i0, l0), (i0 + offset, l1)]
    }
}

/// Exact box integration: output pixel d covers source interval [d * s, (d + 1) * s).
private func areaTaps(_ inSize: Int, _ outSize: Int) -> [[(Int, Float)]] {
    let s = Double(inSize) / Double(outSize)
    return (0..<outSize).map { d in
        let a = Double(d) * s, b = Double(d + 1) * s
        var taps: [(Int, Float)] = []
        var i = Int(a.rounded(.down))
        while Double(i) < b && i < inSize {
            let overlap = min(b, Double(i + 1)) - max(a, Double(i))
            if overlap > 1e-12 { taps.append((i, Float(overlap / s))) }
            i += 1
        }
        if taps.isEmpty { taps.append((min(Int(a), inSize - 1), 1)) }
        return taps
    }
}
