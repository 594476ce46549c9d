// The layout of a model folder (docs/FORMAT.md): a diffusers StableDiffusionPipeline folder plus
// the optional object_encoder/ and preview/latent_rgb.json. Checks that the required parts exist
// before anything heavy is loaded, so a wrong path fails at once with the missing part named.

import Foundation

public enum ModelFolderError: Error, CustomStringConvertible, Equatable {
    case notAFolder(String)
    case missing(folder: String, part: String)
    case badJSON(file: String, reason: String)

    public var description: String {
        switch self {
        case .notAFolder(let p):
            return "\(p): not a model folder (expected a diffusers Stable Diffusion folder with model_index.json)"
        case .missing(let folder, let part):
            return "\(folder): missing \(part); a model folder needs model_index.json, scheduler/, text_encoder/, tokenizer/, unet/ and vae/ (docs/FORMAT.md)"
        case .badJSON(let file, let reason):
            return "\(file): \(reason)"
        }
    }
}

public struct ModelFolder: Sendable {
    public let url: URL
    /// model_index.json's component entries: name → class name.
    let classNames: [String: String]

    static let required = ["model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                           "tokenizer", "unet/config.json", "vae/config.json"]
    static let weightFiles: [(String, [String])] = [
        ("text_encoder", ["model.safetensors", "model.fp16.safetensors"]),
        ("unet", ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]),
        ("vae", ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]),
        ("object_encoder", ["model.safetensors"]),
    ]

    public init(_ url: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelFolderError.notAFolder(url.path)
        }
        for part in ModelFolder.required where !FileManager.default.fileExists(atPath: url.appendingPathComponent(part).path) {
            throw ModelFolderError.missing(folder: url.path, part: part)
        }
        self.url = url
        let indexURL = url.appendingPathComponent("model_index.json")
        guard let data = try? Data(contentsOf: indexURL),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelFolderError.badJSON(file: indexURL.path, reason: "not a JSON object")
        }
        var names: [String: String] = [:]
        for (key, value) in obj {
            if let entry = value as? [Any], entry.count == 2, let cls = entry[1] as? String { names[key] = cls }
        }
        classNames = names
    }

    public var name: String { url.standardizedFileURL.lastPathComponent }
    public var hasObjectEncoder: Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("object_encoder/config.json").path)
    }
    public var hasLatentPreview: Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("preview/latent_rgb.json").path)
    }
    public func component(_ name: String) -> URL { url.appendingPathComponent(name) }

    func className(of component: String) -> String {
        if component == "object_encoder" { return "LikenessObjectEncoder" }
        return classNames[component] ?? "?"
    }

    public func schedulerConfig() throws -> SchedulerConfig {
        try SchedulerConfig(contentsOf: url.appendingPathComponent("scheduler/scheduler_config.json"))
    }
}
