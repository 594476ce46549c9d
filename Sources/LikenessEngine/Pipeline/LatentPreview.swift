// preview/latent_rgb.json (docs/FORMAT.md): a 3 x (C+1) linear map from sampler-space latents to
// RGB in [0, 1] at latent resolution, so each step can show a preview without the VAE decoder.

import Foundation

public struct LatentPreview: Sendable {
    /// [3][C+1]
    public let weights: [[Float]]

    public init(weights: [[Float]], channels: Int) throws {
        guard weights.count == 3, weights.allSatisfy({ $0.count == channels + 1 }) else {
            throw ConfigError(file: "preview/latent_rgb.json", field: "weights",
                              reason: "needs 3 rows of \(channels + 1) numbers (latent channels + bias)")
        }
        self.weights = weights
    }

    public init(url: URL, channels: Int) throws {
        struct File: Decodable { let weights: [[Float]] }
        do {
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
            try self.init(weights: file.weights, channels: channels)
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(file: "preview/latent_rgb.json", reason: "cannot read it: \(error.localizedDescription)")
        }
    }

    /// latents [C * h * w] (one image, sampler space) → RGB8 h x w.
    public func render(latents: [Float], channels c: Int, height h: Int, width w: Int) -> RGBPixels {
        let plane = h * w
        var bytes = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            for o in 0..<3 {
                var v = weights[o][c]
                for k in 0..<c { v += weights[o][k] * latents[k * plane + i] }
                bytes[i * 3 + o] = UInt8(min(max(v, 0), 1) * 255 + 0.5)
            }
        }
        return RGBPixels(width: w, height: h, bytes: bytes)
    }
}
