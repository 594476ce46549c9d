// One labelled grid PNG for a multi-seed run: the images in rows (up to 4 per row), each with its
// seed written under it in a small bitmap font.

import LikenessImaging

public enum SeedGrid {
    /// The grid of `images` labelled with `seeds` (same count).
    public static func make(_ images: [RGBImage], seeds: [UInt64], columns: Int? = nil) throws -> RGBImage {
        guard !images.isEmpty, images.count == seeds.count else {
            throw KitError("a seed grid needs one seed per image (got \(images.count) images, \(seeds.count) seeds)")
        }
        let cellWidth = images.map(\.width).max() ?? 1
        let longest = seeds.map { DigitFont.measure("\($0)", scale: 1) }.max() ?? 1
        let scale = max(1, min(cellWidth / 64 + 1, cellWidth / max(1, longest)))
        let pad = 2 * scale
        let labelHeight = DigitFont.height * scale + 2 * pad
        var cells: [RGBImage] = []
        for (image, seed) in zip(images, seeds) {
            var cell = try RGBImage(width: image.width, height: image.height + labelHeight, fill: .white)
            cell.paste(image, x: 0, y: 0)
            let text = "\(seed)"
            let textWidth = DigitFont.measure(text, scale: scale)
            DigitFont.draw(text, into: &cell, x: max(0, (image.width - textWidth) / 2), y: image.height + pad,
                           scale: scale, color: .black)
            cells.append(cell)
        }
        let cols = columns ?? min(4, images.count)
        return try RGBImage.grid(cells, columns: max(1, cols), gutter: 4, background: .white)
    }
}
