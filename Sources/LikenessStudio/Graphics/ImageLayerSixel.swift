// Sixel output for an image fitted to a pane: where it goes (the cells it covers, centred) and
// its bytes from LikenessImaging's encoder (libsixel, or its pure-Swift fallback). The pixel
// height is kept within whole six-pixel bands of the pane, so the image never reaches past the
// pane's last row (a sixel touching the screen's bottom line would scroll the terminal).

import Foundation
import LikenessImaging

public struct SixelPlacement: Equatable, Sendable {
    /// Cells the image covers: write the bytes with the cursor at (rect.x, rect.y), 0-based.
    public var rect: Rect
    public var pixelWidth: Int
    public var pixelHeight: Int
    public var bytes: [UInt8]
}

extension ImageLayer {
    /// Pixel size and covered cells for an image in `columns` x `rows` cells of `cellWidth` x
    /// `cellHeight` pixels, centred in `rect` (its size is columns x rows).
    public static func sixelGeometry(imageWidth: Int, imageHeight: Int, in rect: Rect, cellWidth: Int,
                                     cellHeight: Int) -> (rect: Rect, pixelWidth: Int, pixelHeight: Int)? {
        guard imageWidth > 0, imageHeight > 0, rect.width > 0, rect.height > 0, cellWidth > 0, cellHeight > 0,
              cellWidth <= 1000, cellHeight <= 1000 else { return nil }
        let maxH = rect.height * cellHeight / 6 * 6
        guard maxH >= 6 else { return nil }
        let size = RGBImage.fittedSize(width: imageWidth, height: imageHeight, maxWidth: min(rect.width * cellWidth, ImageLimits.maxDimension),
                                       maxHeight: min(maxH, ImageLimits.maxDimension / 6 * 6))
        let cols = (size.width + cellWidth - 1) / cellWidth
        let rows = ((size.height + 5) / 6 * 6 + cellHeight - 1) / cellHeight
        let r = Rect(x: rect.x + (rect.width - cols) / 2, y: rect.y + (rect.height - rows) / 2, width: cols, height: rows)
        return (r, size.width, size.height)
    }

    /// Sixel bytes for `image` fitted to `columns` x `rows` cells of `cellWidth` x `cellHeight`
    /// pixels (aspect kept, never past the box).
    public static func sixel(_ image: RGBImage, columns: Int, rows: Int, cellWidth: Int, cellHeight: Int,
                             filter: Filter = .area, colors: Int = 256) throws -> [UInt8] {
        try sixelPlacement(image, in: Rect(x: 0, y: 0, width: columns, height: rows), cellWidth: cellWidth,
                           cellHeight: cellHeight, filter: filter, colors: colors).bytes
    }

    /// The sixel for `image` centred in `rect`, with the cells it covers.
    public static func sixelPlacement(_ image: RGBImage, in rect: Rect, cellWidth: Int, cellHeight: Int,
                                      filter: Filter = .area, colors: Int = 256) throws -> SixelPlacement {
        guard let g = sixelGeometry(imageWidth: image.width, imageHeight: image.height, in: rect, cellWidth: cellWidth,
                                    cellHeight: cellHeight) else {
            throw ImageError.invalidArgument(
                "no room for a sixel image: \(rect.width) x \(rect.height) cells of \(cellWidth) x \(cellHeight) pixels")
        }
        guard let img = scaled(image, g.pixelWidth, g.pixelHeight, filter) else {
            throw ImageError.invalidArgument("cannot scale the image to \(g.pixelWidth) x \(g.pixelHeight)")
        }
        // One pixel per "cell" so the encoder keeps the size chosen here.
        let bytes = try TerminalRender.sixel(img, maxColumns: img.width, maxRows: img.height, cellWidth: 1, cellHeight: 1,
                                             colors: colors)
        return SixelPlacement(rect: g.rect, pixelWidth: img.width, pixelHeight: img.height, bytes: bytes)
    }
}
