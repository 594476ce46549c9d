// generate's files: OUT.png, OUT-SEED.png per seed, OUT-grid.png, or numbered files in the
// outputs folder; each with the A1111 `parameters` chunk.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

extension GenerateCommand {
    func writeImages(_ result: GenerationResult, identity: ModelIdentity, object: (name: String, hash: String)?,
                     prompt: String, loraHashes: [String], tinyDecoder: String? = nil) {
        let many = result.images.count > 1 || seeds != nil
        let store = OutputStore(directory: outputs.map { URL(fileURLWithPath: $0) } ?? LikenessPaths().outputs)
        var images: [RGBImage] = []
        var firstParameters: PNGParameters?
        for generated in result.images {
            var spec = GenerationSpec(request: result.request, seed: generated.seed, width: generated.pixels.width,
                                      height: generated.pixels.height, karras: result.karras, model: identity,
                                      object: object?.name, objectHash: object?.hash,
                                      latents: latentsIn.map { URL(fileURLWithPath: $0).lastPathComponent },
                                      tinyDecoder: tinyDecoder)
            // The prompt as written (LoRA tags included) and A1111's Lora hashes.
            spec.prompt = prompt
            if !loraHashes.isEmpty { spec.extra.append(ParameterPair("Lora hashes", loraHashes.joined(separator: ", "))) }
            let parameters = spec.parameters
            if firstParameters == nil { firstParameters = parameters }
            do {
                let image = try RGBImage(width: generated.pixels.width, height: generated.pixels.height, pixels: generated.pixels.bytes)
                images.append(image)
                let url: URL
                if let output {
                    url = many ? Self.sibling(of: output, suffix: "\(generated.seed)") : URL(fileURLWithPath: output)
                    try image.write(to: url, parameters: parameters)
                } else {
                    url = try store.save(image, parameters: parameters, label: "\(generated.seed)")
                }
                print("wrote \(url.path) (seed \(generated.seed), \(image.width)x\(image.height), \(String(format: "%.1f", result.elapsed)) s)")
            } catch { fail("\(error)") }
        }
        // The grid carries the first seed's parameters, as A1111's grids do.
        if grid, let firstParameters {
            do {
                let gridImage = try SeedGrid.make(images, seeds: result.images.map(\.seed))
                let url: URL
                if let output {
                    url = Self.sibling(of: output, suffix: "grid")
                    try gridImage.write(to: url, parameters: firstParameters)
                } else {
                    url = try store.save(gridImage, parameters: firstParameters, label: "grid")
                }
                print("wrote \(url.path) (grid of \(images.count) seeds)")
            } catch { fail("\(error)") }
        }
    }

    /// OUT.png → OUT-SUFFIX.png.
    static func sibling(of output: String, suffix: String) -> URL {
        let url = URL(fileURLWithPath: output)
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-\(suffix).png")
    }
}
