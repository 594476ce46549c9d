// A VAE given apart from the model (`--vae`), as users download them:
//  - a single .safetensors file in the original layout (encoder.down.*, decoder.up.*, mid.attn_1
//    with 1x1 convolution weights; optionally under first_stage_model. or vae., as a VAE cut out
//    of a checkpoint), mapped as for single-file checkpoints (OriginalLayout.vaeName);
//  - a single .safetensors file in diffusers layout (encoder.down_blocks.*), without a config;
//  - a diffusers AutoencoderKL folder (config.json + weights), or a model folder's vae/.
// For files the config comes from the shapes: channels per level, layers per block, latent and
// image channels, mid-block attention; GroupNorm 32 and scaling 0.18215 as the SD 1.x/2.x VAEs.
// EMA copies (model_ema.*) and training-only loss.* tensors are ignored; any other tensor that
// fits no part is an error naming it.

import Foundation

public enum StandaloneVAE {
    /// Loads the VAE at `url` (file or folder), failing with the file and tensor named; its
    /// convolutions and linear layers are held at `precision`.
    public static func load(_ url: URL, precision: ComputePrecision = .fp32) throws -> AutoencoderKL {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CheckpointError(file: url.path, reason: "no such VAE file or folder")
        }
        if isDir.boolValue {
            let nested = url.appendingPathComponent("vae")
            if FileManager.default.fileExists(atPath: nested.appendingPathComponent("config.json").path) {
                return try AutoencoderKL(folder: nested, precision: precision)
            }
            return try AutoencoderKL(folder: url, precision: precision)
        }
        let name = url.lastPathComponent
        try SingleFileCheckpoint.refuseNonSafetensors(url)
        let file = try SafeTensorsFile(url: url, displayName: name)
        func fail(_ reason: String) -> CheckpointError { CheckpointError(file: name, reason: reason) }
        let keys = file.names.filter { !$0.hasPrefix("model_ema.") }
        if keys.contains(where: { $0.hasPrefix("model.diffusion_model.") }) {
            throw fail("a whole model checkpoint, not a VAE; pass it with --model (its own VAE is used without --vae)")
        }
        let prefix = ["first_stage_model.", "vae."].first { p in keys.contains { $0.hasPrefix(p) } } ?? ""
        let inner = keys.filter { $0.hasPrefix(prefix) && !$0.hasPrefix(prefix + "loss.") }
        let source: MappedTensorSource
        let config: AutoencoderKLConfig
        if inner.contains(where: { $0.hasPrefix(prefix + "encoder.down.") }) {
            let (map, c, unmapped) = try SingleFileCheckpoint.vaeLayout(keys: inner, prefix: prefix, file: file, fail: fail)
            let stray = unmapped + keys.filter { !$0.hasPrefix(prefix) }
            if !stray.isEmpty { throw fail("\(stray.count) tensor(s) fit no part of a VAE: \(stray.sorted().prefix(8).joined(separator: ", "))") }
            source = MappedTensorSource(file: file, displayName: "\(name) (VAE, original layout)", mappings: map)
            config = c
        } else if inner.contains(where: { $0.hasPrefix(prefix + "encoder.down_blocks.") }) {
            config = try diffusersConfig(file: file, prefix: prefix, fail: fail)
            var map: [String: MappedTensorSource.Mapping] = [:]
            for k in keys { map[String(k.dropFirst(prefix.count))] = .init(k) }
            source = MappedTensorSource(file: file, displayName: "\(name) (VAE, diffusers layout)", mappings: map)
        } else {
            throw fail("not a VAE (no encoder.down.* or encoder.down_blocks.* tensors; first keys: \(keys.prefix(3).joined(separator: ", ")))")
        }
        let store = WeightStore(source: source)
        store.precision = precision
        let vae = try AutoencoderKL(config: config, weights: store, configFile: "\(name) (VAE)")
        try store.finish()
        return vae
    }

    /// The AutoencoderKL config of a diffusers-layout VAE file, from its shapes.
    static func diffusersConfig(file: SafeTensorsFile, prefix: String, fail: (String) -> CheckpointError) throws -> AutoencoderKLConfig {
        func shape(_ k: String) -> [Int]? { file.entries[prefix + k]?.shape }
        func indices(_ head: String) -> Set<Int> {
            Set(file.names.compactMap { k -> Int? in
                guard k.hasPrefix(prefix + head) else { return nil }
                return Int(k.dropFirst((prefix + head).count).split(separator: ".").first ?? "")
            })
        }
        let levels = indices("encoder.down_blocks.")
        guard !levels.isEmpty, levels == Set(0..<levels.count) else { throw fail("encoder.down_blocks.* are not numbered 0..n-1") }
        var channels: [Int] = []
        for i in 0..<levels.count {
            guard let s = shape("encoder.down_blocks.\(i).resnets.0.conv1.weight") else {
                throw fail("missing tensor \(prefix)encoder.down_blocks.\(i).resnets.0.conv1.weight")
            }
            channels.append(s[0])
        }
        return try AutoencoderKLConfig(inferredFrom: shape, channels: channels,
                                       layersPerBlock: indices("encoder.down_blocks.0.resnets.").count,
                                       midAttention: file.names.contains { $0.hasPrefix(prefix + "encoder.mid_block.attentions.0.") },
                                       missing: { fail("missing tensor \(prefix)encoder.conv_in.weight or decoder.conv_in / conv_out") })
    }
}
