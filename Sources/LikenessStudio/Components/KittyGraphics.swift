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
}
