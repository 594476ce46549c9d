// The init image of an image-to-image generation, for the CLI (`--init`) and the studio: read and
// checked as a reference image is (ReferenceImage), then brought to the generation's size as
// AUTOMATIC1111's default resize mode "Just resize" does: stretched to width x height whatever
// its aspect (resampled by area when shrinking, bilinearly when growing; A1111 uses Lanczos, so
// pixels differ slightly), and said so.

import Foundation
import LikenessEngine
import LikenessImaging

public struct InitImage: Sendable {
    public let image: RGBImage
    /// The file's name (or the label given), for messages.
    public let name: String

    public init(image: RGBImage, name: String) {
        self.image = image
        self.name = name
    }

    /// Reads and checks a PNG or JPEG file.
    public init(contentsOf url: URL) throws {
        let reference = try ReferenceImage(contentsOf: url)
        image = reference.image
        name = url.lastPathComponent
    }

    /// The note to show when the image is not `width` x `height` (nil when it is).
    public func resizeNote(width: Int, height: Int) -> String? {
        guard image.width != width || image.height != height else { return nil }
        let aspect = image.width * height != image.height * width ? ", aspect not kept" : ""
        return "init image \(name) is \(image.width)x\(image.height); resized to \(width)x\(height) (stretched as A1111's \"Just resize\"\(aspect))"
    }

    /// The engine's init image: [1, 3, height, width] in [-1, 1] (diffusers' VaeImageProcessor:
    /// x / 255 * 2 - 1), after resizing as `resizeNote` says.
    public func pixels(width: Int, height: Int) throws -> Tensor {
        let sized = try image.resized(width: width, height: height, filter: .automatic)
        guard let t = Tensor(shape: [1, 3, height, width], storage: sized.toCHWFloats(range: .minusOneToOne)) else {
            throw KitError("\(name): could not convert the init image to a [1, 3, \(height), \(width)] tensor")
        }
        return t
    }
}
