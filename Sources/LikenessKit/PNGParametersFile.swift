// Reading and writing the `parameters` chunk of PNG files. Reading any tool's image (JPEG, WebP,
// Fooocus, ComfyUI, InvokeAI, NovelAI): ImageParameters.swift.

import Foundation
import LikenessImaging

extension PNGParameters {
    /// The `parameters` chunk of the PNG at `url`; throws naming the file when it is not a valid
    /// PNG or has no such chunk.
    public static func read(from url: URL) throws -> PNGParameters {
        let text: [String: String]
        do { text = try RGBImage.readPNGText(url) } catch { throw KitError("\(error)") }
        guard let value = text[chunkKey] else {
            let keys = text.keys.sorted()
            throw KitError("\(url.path): the PNG has no '\(chunkKey)' text chunk"
                + (keys.isEmpty ? " (it has no text chunks)" : " (its text chunks: \(keys.joined(separator: ", ")))"))
        }
        return parse(value)
    }
}

extension RGBImage {
    /// Writes the image as a PNG carrying `parameters`, atomically.
    public func write(to url: URL, parameters: PNGParameters) throws {
        try write(to: url, text: [(PNGParameters.chunkKey, parameters.text)])
    }
}
