// Key names of the original Stable Diffusion layout (CompVis/Stability "ldm" checkpoints) mapped
// to diffusers names, following the rules of diffusers' loaders/single_file_utils.py
// (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint,
// convert_open_clip_checkpoint):
//  - UNet: input_blocks.i (i >= 1) is down block (i-1)/(L+1), layer (i-1)%(L+1) for L layers per
//    block (.0 a resnet or, as .0.op, the downsampler; .1 the transformer); middle_block.0/1/2 are
//    mid resnet 0, attention 0, resnet 1; output_blocks.i is up block i/(L+1), layer i%(L+1)
//    (.1.conv or .2.conv the upsampler). Resnet parts: in_layers.0/2 -> norm1/conv1,
//    out_layers.0/3 -> norm2/conv2, emb_layers.1 -> time_emb_proj, skip_connection -> conv_shortcut.
//  - VAE: down.i.block.j -> down_blocks.i.resnets.j, decoder up.k -> up_blocks.(n-1-k) (the
//    original counts decoder levels from the bottom), mid.block_1/2 -> mid_block.resnets.0/1,
//    mid.attn_1.{norm,q,k,v,proj_out} -> mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0}
//    with the 1x1 convolution weights read as linear weights, nin_shortcut -> conv_shortcut,
//    norm_out -> conv_norm_out.
//  - CLIP-L (SD 1.x): cond_stage_model.transformer. removed (transformers layout underneath).
//  - OpenCLIP (SD 2.x): token_embedding, positional_embedding, ln_final, resblocks.i.{ln_1, ln_2,
//    mlp.c_fc, mlp.c_proj, attn.out_proj} renamed; attn.in_proj_weight/bias split in three row
//    ranges (q, k, v). The last resblock and text_projection are not used: SD 2.x conditions on
//    the penultimate layer, so its diffusers text encoder has one layer fewer (diffusers ignores
//    resblocks.23 of the 24).

import Foundation

enum OriginalLayout {
    typealias Mapping = MappedTensorSource.Mapping

    // MARK: UNet

    /// The diffusers name of UNet key `k` (without "model.diffusion_model."), or nil when the key fits no rule.
    static func unetName(_ k: String, layersPerBlock lpb: Int) -> String? {
        let direct = [("time_embed.0.", "time_embedding.linear_1."), ("time_embed.2.", "time_embedding.linear_2."),
                      ("input_blocks.0.0.", "conv_in."), ("out.0.", "conv_norm_out."), ("out.2.", "conv_out.")]
        for (a, b) in direct where k.hasPrefix(a) { return b + k.dropFirst(a.count) }
        let parts = k.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, let i = Int(parts[1]) else {
            if parts.count >= 3, parts[0] == "middle_block", let j = Int(parts[1]) {
                let rest = parts[2...].joined(separator: ".")
                switch j {
                case 0: return "mid_block.resnets.0." + resnetRest(rest)
                case 1: return "mid_block.attentions.0." + rest
                case 2: return "mid_block.resnets.1." + resnetRest(rest)
                default: return nil
                }
            }
            return nil
        }
        let rest = parts[3...].joined(separator: ".")
        switch parts[0] {
        case "input_blocks":
            guard i >= 1 else { return nil }
            let b = (i - 1) / (lpb + 1), l = (i - 1) % (lpb + 1)
            switch parts[2] {
            case "0" where parts[3] == "op": return "down_blocks.\(b).downsamplers.0.conv." + parts[4...].joined(separator: ".")
            case "0": return "down_blocks.\(b).resnets.\(l)." + resnetRest(rest)
            case "1": return "down_blocks.\(b).attentions.\(l)." + rest
            default: return nil
            }
        case "middle_block":
            let rest = parts[2...].joined(separator: ".")
            switch i {
            case 0: return "mid_block.resnets.0." + resnetRest(rest)
            case 1: return "mid_block.attentions.0." + rest
            case 2: return "mid_block.resnets.1." + resnetRest(rest)
            default: return nil
            }
        case "output_blocks":
            let b = i / (lpb + 1), l = i % (lpb + 1)
            switch parts[2] {
            case "0": return "up_blocks.\(b).resnets.\(l)." + resnetRest(rest)
            case "1" where parts[3] == "conv", "2" where parts[3] == "conv":
                return "up_blocks.\(b).upsamplers.0.conv." + parts[4...].joined(separator: ".")
            case "1": return "up_blocks.\(b).attentions.\(l)." + rest
            default: return nil
            }
        default: return nil
        }
    }

    private static func resnetRest(_ rest: String) -> String {
        let renames = [("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("out_layers.0.", "norm2."),
                       ("out_layers.3.", "conv2."), ("emb_layers.1.", "time_emb_proj."), ("skip_connection.", "conv_shortcut.")]
        for (a, b) in renames where rest.hasPrefix(a) { return b + rest.dropFirst(a.count) }
        return rest
    }

    // MARK: VAE

    /// The diffusers name and read transform of VAE key `k` (without its prefix), or nil when the key fits no rule.
    static func vaeName(_ k: String, upBlocks n: Int, shape: [Int]) -> (String, TensorTransform)? {
        let direct = [("encoder.norm_out.", "encoder.conv_norm_out."), ("decoder.norm_out.", "decoder.conv_norm_out."),
                      ("encoder.conv_in.", "encoder.conv_in."), ("encoder.conv_out.", "encoder.conv_out."),
                      ("decoder.conv_in.", "decoder.conv_in."), ("decoder.conv_out.", "decoder.conv_out."),
                      ("quant_conv.", "quant_conv."), ("post_quant_conv.", "post_quant_conv.")]
        for (a, b) in direct where k.hasPrefix(a) { return (b + k.dropFirst(a.count), .identity) }
        let parts = k.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0] == "encoder" || parts[0] == "decoder" else { return nil }
        let side = parts[0]
        func resnet(_ rest: ArraySlice<String>) -> String {
            let r = rest.joined(separator: ".")
            return r.hasPrefix("nin_shortcut.") ? "conv_shortcut." + r.dropFirst("nin_shortcut.".count) : r
        }
        switch parts[1] {
        case "down" where side == "encoder", "up" where side == "decoder":
            guard let i = Int(parts[2]), parts.count >= 5 else { return nil }
            let target = side == "encoder" ? "encoder.down_blocks.\(i)" : "decoder.up_blocks.\(n - 1 - i)"
            guard side == "encoder" || (0..<n).contains(i) else { return nil }
            switch parts[3] {
            case "block":
                guard parts.count >= 6, Int(parts[4]) != nil else { return nil }
                return ("\(target).resnets.\(parts[4])." + resnet(parts[5...]), .identity)
            case "downsample" where side == "encoder", "upsample" where side == "decoder":
                guard parts[4] == "conv", parts.count == 6 else { return nil }
                let sampler = side == "encoder" ? "downsamplers" : "upsamplers"
                return ("\(target).\(sampler).0.conv.\(parts[5])", .identity)
            default: return nil
            }
        case "mid":
            switch parts[2] {
            case "block_1": return ("\(side).mid_block.resnets.0." + resnet(parts[3...]), .identity)
            case "block_2": return ("\(side).mid_block.resnets.1." + resnet(parts[3...]), .identity)
            case "attn_1":
                guard parts.count == 5 else { return nil }
                let names = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]
                guard let name = names[parts[3]] else { return nil }
                // diffusers: 1x1 convolution weights [O, I, 1, 1] (or [O, I, 1]) become linear weights [O, I].
                let transform: TensorTransform = parts[4] == "weight" && shape.count > 2 && name != "group_norm"
                    ? .reshape(Array(shape.prefix(2))) : .identity
                return ("\(side).mid_block.attentions.0.\(name).\(parts[4])", transform)
            default: return nil
            }
        default: return nil
        }
    }

    // MARK: OpenCLIP

    /// The diffusers names and transforms of OpenCLIP key `k` (without "cond_stage_model.model."):
    /// one entry, three for a fused in_proj, none for a key that is not used. Nil when the key fits no rule.
    static func openCLIPNames(_ k: String, hidden: Int, lastBlock: Int) -> [(String, TensorTransform)]? {
        switch k {
        case "token_embedding.weight": return [("text_model.embeddings.token_embedding.weight", .identity)]
        case "positional_embedding": return [("text_model.embeddings.position_embedding.weight", .identity)]
        case "ln_final.weight": return [("text_model.final_layer_norm.weight", .identity)]
        case "ln_final.bias": return [("text_model.final_layer_norm.bias", .identity)]
        case "text_projection", "logit_scale", "attn_mask": return []
        default: break
        }
        let parts = k.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5, parts[0] == "transformer", parts[1] == "resblocks", let i = Int(parts[2]) else { return nil }
        if i == lastBlock { return [] }
        let layer = "text_model.encoder.layers.\(i)."
        let rest = parts[3...].joined(separator: ".")
        switch rest {
        case "attn.in_proj_weight", "attn.in_proj_bias":
            let kind = rest.hasSuffix("weight") ? "weight" : "bias"
            return ["q_proj", "k_proj", "v_proj"].enumerated().map { j, proj in
                ("\(layer)self_attn.\(proj).\(kind)", .rows((j * hidden)..<((j + 1) * hidden)))
            }
        default:
            let renames = [("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("mlp.c_fc.", "mlp.fc1."),
                           ("mlp.c_proj.", "mlp.fc2."), ("attn.out_proj.", "self_attn.out_proj.")]
            for (a, b) in renames where rest.hasPrefix(a) { return [(layer + b + rest.dropFirst(a.count), .identity)] }
            return nil
        }
    }
}
