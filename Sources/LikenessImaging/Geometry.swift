// Cropping and composition. Pure pixel copies, no resampling.
// centerCroppedSquare() places the crop like torchvision.transforms.functional.center_crop:
// offset = round((size - side) / 2) with round-half-to-even.

extension RGBImage {
    /// The sub-image at (`x`, `y`) of size `width` x `height`. Throws when the rectangle is
    /// empty or leaves the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) throws -> RGBImage {
        guard w > 0, h > 0, x >= 0, y >= 0, x <= width - w, y <= height - h else {
            throw ImageError.invalidArgument(
                "crop rectangle (x \(x), y \(y), \(w) x \(h)) is empty or outside the \(width) x \(height) image")
        }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for row in 0..<h {
            let s = ((y + row) * width + x) * 3
            out.replaceSubrange(row * w * 3..<(row + 1) * w * 3, with: pixels[s..<s + w * 3])
        }
        return RGBImage(validatedWidth: w, height: h, pixels: out)
    }

    /// The largest centred square (side = min(width, height)).
    public func centerCroppedSquare() -> RGBImage {
        let side = min(width, height)
        let x = Int((Double(width - side) / 2).rounded(.toNearestOrEven))
        let y = Int((Double(height - side) / 2).rounded(.toNearestOrEven))
        // The rectangle is inside the image by construction.
        return (try? cropped(x: x, y: y, width: side, height: side)) ?? self
    }

    /// Copies `image` into this one with its top-left corner at (`x`, `y`); parts outside are
    /// clipped.
    public mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        let x0 = max(x, 0), y0 = max(y, 0)
        let x1 = min(x + image.width, width), y1 = min(y + image.height, height)
        guard x0 < x1, y0 < y1 else { return }
        let n = (x1 - x0) * 3
        for row in y0..<y1 {
            let s = ((row - y) * image.width + (x0 - x)) * 3
            let d = (row * width + x0) * 3
            pixels.replaceSubrange(d..<d + n, with: image.pixels[s..<s + n])
        }
    }

    /// Images side by side, left to right, `gutter` pixels of `background` between them; each
    /// image is centred vertically in the tallest one's height.
    public static func hconcat(_ images: [RGBImage], gutter: Int = 4, background: RGB = .white) throws -> RGBImage {
        try grid(images, columns: max(images.count, 1), gutter: gutter, background: background)
    }

    /// Images in rows of `columns` cells, left to right then top to bottom. Every cell has the
    /// largest width and height among the images; each image is centred in its cell; cells are
    /// `gutter` pixels apart; empty cells and gaps are `background`. There is no outer margin.
    public static func grid(_ images: [RGBImage], columns: Int, gutter: Int = 4, background: RGB = .white) throws -> RGBImage {
        guard !images.isEmpty else { throw ImageError.invalidArgument("grid needs at least one image") }
        guard columns > 0 else { throw ImageError.invalidArgument("grid columns must be positive, got \(columns)") }
        guard gutter >= 0 else { throw ImageError.invalidArgument("grid gutter must be >= 0, got \(gutter)") }
        let cols = min(columns, images.count)
        let rows = (images.count + cols - 1) / cols
        let cellW = images.map(\.width).max() ?? 1
        let cellH = images.map(\.height).max() ?? 1
        let totalW = cols * cellW + (cols - 1) * gutter
        let totalH = rows * cellH + (rows - 1) * gutter
        guard totalW <= ImageLimits.maxDimension, totalH <= ImageLimits.maxDimension else {
            throw ImageError.invalidArgument(
                "grid of \(images.count) images would be \(totalW) x \(totalH), above the limit "
                    + "\(ImageLimits.maxDimension) x \(ImageLimits.maxDimension)")
        }
        var canvas = try RGBImage(width: totalW, height: totalH, fill: background)
        for (i, image) in images.enumerated() {
            let col = i % cols, row = i / cols
            let x = col * (cellW + gutter) + (cellW - image.width) / 2
            let y = row * (cellH + gutter) + (cellH - image.height) / 2
            canvas.paste(image, x: x, y: y)
        }
        return canvas
    }
}
