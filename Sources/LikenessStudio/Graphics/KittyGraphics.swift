// Kitty's graphics protocol (kitty, ghostty, WezTerm): the support query, and an RGB image sent
// as 24-bit pixels (f=24) in base64 chunks of at most 4096 bytes (m=1 on all but the last),
// displayed at the cursor over `columns` x `rows` cells (c, r), quiet (q=2), with an id so it
// can be deleted (a=d,d=I) or replaced. The studio uses it only where detection saw an OK reply.

import Foundation
import LikenessImaging

public enum KittyGraphics {
    /// `ESC _ G i=31,s=1,v=1,a=q,t=d,f=24;AAAA ESC \`: terminals with the protocol answer "OK".
    public static let query: [UInt8] = Array("\u{1b}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1b}\\".utf8)

    /// Transmit-and-display sequence for `image` scaled by the terminal into columns x rows cells.
    public static func display(_ image: RGBImage, columns: Int, rows: Int, id: Int) -> [UInt8] {
        let payload = Array(Data(image.pixels).base64EncodedString().utf8)
        var out: [UInt8] = []
        var offset = 0
        var first = true
        repeat {
            let end = min(payload.count, offset + 4096)
            let more = end < payload.count ? 1 : 0
            let keys = first
                ? "a=T,f=24,s=\(image.width),v=\(image.height),c=\(max(1, columns)),r=\(max(1, rows)),i=\(id),q=2,m=\(more)"
                : "m=\(more)"
            out += Array("\u{1b}_G\(keys);".utf8) + payload[offset..<end] + [0x1B, UInt8(ascii: "\\")]
            offset = end
            first = false
        } while offset < payload.count
        return out
    }

    /// Deletes the image with `id` and frees its data.
    public static func delete(id: Int) -> [UInt8] { Array("\u{1b}_Ga=d,d=I,i=\(id),q=2\u{1b}\\".utf8) }

    /// Deletes every image on the screen and frees their data.
    public static let deleteAll: [UInt8] = Array("\u{1b}_Ga=d,d=A,q=2\u{1b}\\".utf8)

    /// Transmit-and-display of a PNG (f=100) at its own pixel size, at the cursor, which stays
    /// where it is (C=1); chunks of at most 4096 base64 bytes.
    public static func displayPNG(_ png: Data, id: Int) -> [UInt8] {
        let payload = Array(png.base64EncodedString().utf8)
        var out: [UInt8] = []
        var offset = 0
        repeat {
            let end = min(payload.count, offset + 4096)
            let more = end < payload.count ? 1 : 0
            let keys = offset == 0 ? "a=T,f=100,i=\(id),q=2,C=1,m=\(more)" : "m=\(more)"
            out += Array("\u{1b}_G\(keys);".utf8) + payload[offset..<end] + [0x1B, UInt8(ascii: "\\")]
            offset = end
        } while offset < payload.count
        return out
    }

    /// The cells an image takes when shown at its own pixel size scaled to fit `rect` (aspect kept,
    /// centred), and that pixel size.
    public static func geometry(imageWidth: Int, imageHeight: Int, in rect: Rect, cellWidth: Int,
                                cellHeight: Int) -> (rect: Rect, pixelWidth: Int, pixelHeight: Int)? {
        guard imageWidth > 0, imageHeight > 0, rect.width > 0, rect.height > 0, cellWidth > 0, cellHeight > 0,
              cellWidth <= 1000, cellHeight <= 1000 else { return nil }
        let size = RGBImage.fittedSize(width: imageWidth, height: imageHeight,
                                       maxWidth: min(rect.width * cellWidth, ImageLimits.maxDimension),
                                       maxHeight: min(rect.height * cellHeight, ImageLimits.maxDimension))
        let cols = (size.width + cellWidth - 1) / cellWidth, rows = (size.height + cellHeight - 1) / cellHeight
        let r = Rect(x: rect.x + (rect.width - cols) / 2, y: rect.y + (rect.height - rows) / 2, width: cols, height: rows)
        return (r, size.width, size.height)
    }

    /// What shows `image` fitted into `rect` with image id `id`: the cursor move to the fitted
    /// rectangle's first cell, and the PNG, scaled here (nearest neighbour when it grows, so
    /// pixels stay sharp) rather than by the terminal.
    public static func placement(_ image: RGBImage, in rect: Rect, cellWidth: Int, cellHeight: Int,
                                 id: Int) -> (cursor: [UInt8], image: [UInt8])? {
        guard let g = geometry(imageWidth: image.width, imageHeight: image.height, in: rect, cellWidth: cellWidth,
                               cellHeight: cellHeight),
              let img = ImageLayer.scaled(image, g.pixelWidth, g.pixelHeight, .area),
              let png = try? img.pngData() else { return nil }
        return (Array("\u{1b}[\(g.rect.y + 1);\(g.rect.x + 1)H".utf8), displayPNG(png, id: id))
    }
}
