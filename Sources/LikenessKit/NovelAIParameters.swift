// NovelAI's PNG text chunks: Title ("AI generated image"), Description (the prompt), Software
// ("NovelAI"), Source (the model and its hash, "Stable Diffusion XL C1E1DE52"), Comment (a JSON
// object: prompt, uc (the negative prompt), steps, scale, seed, width, height, sampler
// ("k_euler_ancestral", "k_dpmpp_2m", "ddim", ...), noise_schedule ("native", "karras", ...),
// strength and noise (img2img requests), sm/sm_dyn (SMEA), cfg_rescale, uncond_scale,
// request_type, signed_hash, and more flags). The prompt is Comment's `prompt` where present, else
// Description. The alpha-channel ("stealth") copy of the metadata is not read.

import Foundation
import LikenessEngine
import LikenessImaging

enum NovelAIParameters {
    /// Keys that carry no setting (or one read elsewhere).
    static let informational = [
        "prompt", "uc", "request_type", "signed_hash", "version", "n_samples", "hide_debug_overlay", "legacy", "legacy_v3_extend",
        "legacy_uc", "params_version", "extra_noise_seed", "dynamic_thresholding_percentile", "dynamic_thresholding_mimic_scale",
        "controlnet_strength", "cfg_sched_eligibility", "uncond_per_vibe", "wonky_vibe_correlation", "deliberate_euler_ancestral_bug",
        "prefer_brownian", "explike_fine_detail", "minimize_sigma_inf", "use_coords", "v4_negative_prompt", "strength", "noise",
        "reference_information_extracted_multiple", "reference_strength_multiple", "skip_cfg_below_sigma", "color_correct",
        "add_original_image", "image", "mask",
    ]

    static func read(_ meta: ImageMetadata) throws -> ImageParameters {
        guard let comment = meta.png("Comment") else {
            throw KitError("\(meta.path): the PNG says NovelAI (Software) but has no 'Comment' chunk, where NovelAI keeps its settings")
        }
        var f = JSONFields(try ImageParameters.jsonObject(comment, meta, expected: "NovelAI's Comment"))
        let description = try meta.png("Description").map { try ImageParameters.text($0, meta) }
        f.prompt = f.take("prompt")?.pairText ?? description ?? ""
        f.negative = f.take("uc")?.pairText ?? ""
        f.pair("steps", as: "Steps")
        f.sampler(f.take("sampler")?.pairText, schedule: f.take("noise_schedule")?.pairText)
        f.pair("scale", as: "CFG scale")
        f.pair("seed", as: "Seed")
        if let w = f.take("width")?.pairText, let h = f.take("height")?.pairText { f.add("Size", "\(w)x\(h)") }
        if let source = meta.png("Source")?.lenientText.trimmingCharacters(in: .whitespaces), !source.isEmpty {
            // "NAME HASH": a trailing word of hex digits is the model hash.
            if let space = source.lastIndex(of: " "), source[source.index(after: space)...].allSatisfy(\.isHexDigit) {
                f.add("Model", String(source[..<space]))
                f.add("Model hash", String(source[source.index(after: space)...]))
            } else {
                f.add("Model", source)
            }
        }
        let request = f.object["request_type"]?.pairText ?? ""
        if request.lowercased().contains("img2img") {
            f.pair("strength", as: "Denoising strength")
            f.report("noise", "the extra img2img noise is not supported")
        }
        for key in ["sm", "sm_dyn"] { f.report(key, UnsupportedReason.smea) }
        f.report("uncond_scale", unless: .int(1), "a scaled negative prompt is not supported")
        f.report("cfg_rescale", UnsupportedReason.cfgRescale)
        f.report("dynamic_thresholding", "dynamic thresholding is not supported")
        f.report("skip_cfg_above_sigma", "variety boost (guidance skipped at high noise) is not supported")
        f.report("controlnet_model", UnsupportedReason.controlNet)
        for key in ["lora_unet_weights", "lora_clip_weights"] { f.report(key, UnsupportedReason.lora) }
        if let chars = f.take("v4_prompt")?.object?["caption"]?.object?["char_captions"], !chars.isBlank {
            f.unsupported.append(UnsupportedParameter(key: "v4_prompt", value: chars.jsonText, reason: "character prompts are not supported"))
        }
        for key in informational { f.skip(key) }
        f.reportRest()
        let software = meta.png("Software")?.lenientText
        return ImageParameters(format: .novelAI, container: meta.container, location: comment.location + " (with Description, Source)",
                               writer: software, parameters: PNGParameters(prompt: f.prompt, negativePrompt: f.negative, pairs: f.pairs),
                               unsupported: f.unsupported)
    }
}
