// What a model folder holds, read from its configs and safetensors headers alone (no weights
// are converted): components, parameter counts, stored dtypes, tokenizer kind, scheduler.
// Used by `likeness info` and the studio's model pane.

import Foundation

/// One component folder of a model (unet, vae, text_encoder, object_encoder).
public struct ComponentInfo: Sendable, Equatable {
    public var name: String
    /// `_class_name` from the component's config.json, or the model_index.json entry.
    public var className: String
    public var weightFile: String
    public var parameterCount: Int
    /// Stored dtype name → number of tensors with it, e.g. ["F16": 120].
    public var dtypes: [String: Int]
}

public struct ModelInfo: Sendable {
    public var folder: URL
    public var components: [ComponentInfo]
    public var tokenizerKind: String
    public var modelMaxLength: Int
    public var scheduler: SchedulerConfig
    public var hasObjectEncoder: Bool
    public var hasLatentPreview: Bool

    /// Reads the folder; throws `ModelFolderError` naming the missing or unreadable part.
    public static func inspect(folder: URL) throws -> ModelInfo {
        let layout = try ModelFolder(folder)
        var components: [ComponentInfo] = []
        for (name, candidates) in ModelFolder.weightFiles {
            let dir = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: dir.path) else { continue }
            guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }) else {
                throw ModelFolderError.missing(folder: folder.path, part: "\(name)/\(candidates[0])")
            }
            let st = try SafeTensorsFile(url: dir.appendingPathComponent(file), displayName: "\(name)/\(file)")
            var dtypes: [String: Int] = [:]
            var params = 0
            for entry in st.entries.values {
                dtypes[entry.dtype.name, default: 0] += 1
                params += entry.shape.reduce(1, *)
            }
            components.append(ComponentInfo(name: name, className: layout.className(of: name), weightFile: file,
                                            parameterCount: params, dtypes: dtypes))
        }
        let tokenizer = try loadTokenizer(folder: folder.appendingPathComponent("tokenizer"))
        var kind = String(describing: type(of: tokenizer))
        if let pt = tokenizer as? PipelineTokenizer {
            switch pt.model {
            case .bpe: kind = "BPE"
            case .wordLevel: kind = "WordLevel"
            }
        }
        return ModelInfo(folder: folder, components: components, tokenizerKind: kind,
                         modelMaxLength: tokenizer.modelMaxLength, scheduler: try layout.schedulerConfig(),
                         hasObjectEncoder: layout.hasObjectEncoder, hasLatentPreview: layout.hasLatentPreview)
    }
}
