// Where `--decoder tiny` and the studio look for a tiny decoder (TAESD, a diffusers
// AutoencoderTiny folder): a folder named `taesd` beside the model (next to the model folder or
// the single file), then `$XDG_DATA_HOME/likeness/decoders/taesd`. The first that has a
// config.json wins.

import Foundation

public enum TinyDecoderSearch {
    /// The folder name looked for.
    public static let folderName = "taesd"

    /// The places looked at, in order, for a model at `model` (folder or file).
    public static func candidates(model: URL, paths: LikenessPaths = LikenessPaths()) -> [URL] {
        [model.standardizedFileURL.deletingLastPathComponent().appendingPathComponent(folderName),
         paths.decoders.appendingPathComponent(folderName)]
    }

    /// The first candidate holding a config.json, or nil.
    public static func find(model: URL, paths: LikenessPaths = LikenessPaths()) -> URL? {
        candidates(model: model, paths: paths).first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path)
        }
    }

    /// What to say when none is found.
    public static func notFound(model: URL, paths: LikenessPaths = LikenessPaths()) -> String {
        "no tiny decoder found (looked for an AutoencoderTiny folder at "
            + candidates(model: model, paths: paths).map(\.path).joined(separator: " and ")
            + "); put a diffusers AutoencoderTiny folder (config.json + diffusion_pytorch_model.safetensors) named \(folderName) there, or pass --decoder PATH"
    }
}
