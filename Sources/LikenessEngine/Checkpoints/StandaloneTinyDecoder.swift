// A tiny decoder (diffusers AutoencoderTiny, TAESD) given as users download them:
//  - a diffusers AutoencoderTiny folder (config.json + diffusion_pytorch_model.safetensors),
//    e.g. the `taesd` / `taesdxl` folders;
//  - a single .safetensors file in diffusers layout (decoder.layers.*, encoder.* ignored);
//  - a single .safetensors file in the original TAESD layout (taesd_decoder.safetensors: the
//    decoder's nn.Sequential alone, `N.weight` / `N.conv.K.weight`, where index 0 is the Clamp
//    module, so N is diffusers' decoder.layers index + 1).
// For files the config comes from the shapes (latent and image channels, width, blocks per stage);
// scaling_factor 1.0 and shift_factor 0 as the released TAESD decoders. Any tensor that fits no
// part of the decoder is an error naming it.

import Foundation

public enum StandaloneTinyDecoder {
    /// Loads the tiny decoder at `url` (file or folder), failing with the file and tensor named.
    public static func load(_ url: URL) throws -> AutoencoderTiny {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CheckpointError(file: url.path, reason: "no such tiny decoder file or folder")
        }
        if isDir.boolValue {
            let config = url.appendingPathComponent("config.json")
            if let data = try? Data(contentsOf: config),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let cls = object["_class_name"] as? String, cls != "AutoencoderTiny" {
                throw CheckpointError(file: url.lastPathComponent + "/config.json",
                                      reason: "is a \(cls), not an AutoencoderTiny (TAESD) folder\(cls == "AutoencoderKL" ? "; pass a full VAE with --vae" : "")")
            }
            return try AutoencoderTiny(folder: url)
        }
        let name = url.lastPathComponent
        try SingleFileCheckpoint.refuseNonSafetensors(url)
        let file = try SafeTensorsFile(url: url, displayName: name)
        func fail(_ reason: String) -> CheckpointError { CheckpointError(file: name, reason: reason) }
        var map: [String: MappedTensorSource.Mapping] = [:]
        let layout: String
        if file.names.contains(where: { $0.hasPrefix("decoder.layers.") }) {
            for k in file.names { map[k] = .init(k) }
            layout = "diffusers layout"
        } else if file.names.contains(where: { $0.hasPrefix("decoder.up") || $0.hasPrefix("decoder.conv_in") }) {
            throw fail("a full VAE (AutoencoderKL), not a tiny decoder; pass it with --vae")
        } else if file.names.contains("0.weight") {
            throw fail("looks like a TAESD encoder (its first layer is 0.*; the decoder's starts at 1.* after the clamp); pass the decoder file, e.g. taesd_decoder.safetensors")
        } else {
            for k in file.names {
                let parts = k.split(separator: ".", maxSplits: 1)
                guard parts.count == 2, let index = Int(parts[0]), index >= 1 else {
                    throw fail("not a tiny decoder: tensor '\(k)' is neither decoder.layers.* nor the original TAESD decoder's N.*")
                }
                map["decoder.layers.\(index - 1).\(parts[1])"] = .init(k)
            }
            layout = "original TAESD layout"
        }
        let source = MappedTensorSource(file: file, displayName: "\(name) (tiny decoder, \(layout))", mappings: map)
        let config = try configFromShapes(source, fail: fail)
        let store = WeightStore(source: source)
        let decoder = try AutoencoderTiny(config: config, weights: store, configFile: "\(name) (tiny decoder)")
        try store.finish()
        return decoder
    }

    /// The decoder's config read off the shapes of `decoder.layers.*`.
    static func configFromShapes(_ source: TensorSource, fail: (String) -> CheckpointError) throws -> AutoencoderTinyConfig {
        func shape(_ i: Int, _ rest: String) -> [Int]? { source.shape(of: "decoder.layers.\(i).\(rest)") }
        guard let first = shape(0, "weight"), first.count == 4 else {
            throw fail("not a tiny decoder: no first convolution (decoder.layers.0.weight, or 1.weight in the original layout)")
        }
        let last = source.names.compactMap { k -> Int? in
            guard k.hasPrefix("decoder.layers.") else { return nil }
            return Int(k.dropFirst("decoder.layers.".count).split(separator: ".").first ?? "")
        }.max() ?? 0
        var c = AutoencoderTinyConfig()
        c.latent_channels = first[1]
        var blocks: [Int] = [], count = 0
        var i = 2
        while i <= last {
            if shape(i, "conv.0.weight") != nil {
                count += 1
            } else if let conv = shape(i, "weight"), conv.count == 4 {
                blocks.append(count)
                count = 0
                if shape(i, "bias") != nil { c.out_channels = conv[0]; break }
            }
            i += 1
        }
        guard !blocks.isEmpty else { throw fail("not a tiny decoder: no stage convolutions after decoder.layers.0") }
        c.num_decoder_blocks = blocks
        c.decoder_block_out_channels = blocks.map { _ in first[0] }
        return c
    }
}
