// InvokeAI's three PNG layouts:
// - `invokeai_metadata` (3.0 and later): a JSON object: positive_prompt, negative_prompt, seed,
//   steps, cfg_scale, scheduler ("euler", "dpmpp_2m_k": a "_k" suffix means Karras sigmas), width,
//   height, model ({model_name, base_model, model_type} in 3.x, {key, hash, name, base, type}
//   later), loras ([{lora: {model_name}, weight}] in 3.x, [{model: {name}, weight}] later),
//   generation_mode ("txt2img", "img2img", ...), strength (img2img), rand_device, app_version, ...
// - `sd-metadata` (2.x): {model_weights, model_hash, app_id, app_version, image: {prompt:
//   [{prompt, weight}], steps, cfg_scale, seed, width, height, sampler ("k_lms", "k_euler_a",
//   "ddim"), type ("txt2img", "img2img"), strength, threshold, perlin, seamless, hires_fix,
//   variations, postprocessing}}
// - `Dream` (1.x): the command line: "PROMPT" -s STEPS -S SEED -W WIDTH -H HEIGHT -C CFG -A SAMPLER
//   (-I INIT_IMAGE -f STRENGTH for img2img).
// In 1.x and 2.x prompts, text in [square brackets] is the negative prompt.

import LikenessEngine
import LikenessImaging

enum InvokeAIParameters {
    static func read(metadata object: [String: JSONValue], field: MetadataField, meta: ImageMetadata) throws -> ImageParameters {
        var f = JSONFields(object)
        f.prompt = f.take("positive_prompt")?.pairText ?? ""
        f.negative = f.take("negative_prompt")?.pairText ?? ""
        f.pair("steps", as: "Steps")
        if var scheduler = f.take("scheduler")?.pairText {
            let karras = scheduler.hasSuffix("_k")
            if karras { scheduler.removeLast(2) }
            f.sampler(scheduler, schedule: karras ? "karras" : nil)
        }
        f.pair("cfg_scale", as: "CFG scale")
        f.pair("seed", as: "Seed")
        if let w = f.take("width")?.pairText, let h = f.take("height")?.pairText { f.add("Size", "\(w)x\(h)") }
        if let model = f.take("model") {
            let o = model.object
            f.add("Model", (o?["model_name"] ?? o?["name"])?.pairText ?? model.string)
            f.add("Model hash", o?["hash"]?.pairText)
        }
        var loras: [LoRAWeight] = []
        for item in f.take("loras")?.array ?? [] {
            let ref = item.object?["lora"] ?? item.object?["model"]
            if let name = (ref?.object?["model_name"] ?? ref?.object?["name"])?.pairText {
                loras.append(LoRAWeight(name: name, weight: item.object?["weight"]?.number.map(Float.init)))
            }
        }
        if !loras.isEmpty { f.add("Lora weights", GenerationSpec.loraText(loras)) }
        let mode = f.take("generation_mode")?.pairText ?? ""
        if mode.contains("img2img") {
            f.pair("strength", as: "Denoising strength")
        } else if mode.contains("inpaint") || mode.contains("outpaint") {
            f.unsupported.append(UnsupportedParameter(key: "generation_mode", value: mode, reason: "inpainting is not supported"))
        }
        f.report("rand_device", unless: .string("cpu"), UnsupportedReason.noiseSource)
        f.report("cfg_rescale_multiplier", UnsupportedReason.cfgRescale)
        f.report("clip_skip", UnsupportedReason.clipSkip)
        for key in ["seamless_x", "seamless_y"] { f.report(key, UnsupportedReason.seamless) }
        f.report("vae", UnsupportedReason.vae)
        for key in ["positive_style_prompt", "negative_style_prompt"] { f.report(key, "SDXL style prompts are not supported") }
        f.report("hrf_enabled", UnsupportedReason.hires)
        f.report("controlnets", UnsupportedReason.controlNet)
        f.report("ipAdapters", "IP-Adapter is not supported")
        f.report("t2iAdapters", "T2I-Adapter is not supported")
        for key in object.keys.sorted() where key.hasPrefix("refiner_") {
            f.report(key, UnsupportedReason.refiner)
        }
        for key in object.keys.sorted() where key.hasPrefix("hrf_") { f.skip(key) }
        let version = f.take("app_version")?.pairText
        f.skip("strength", "init_image", "_invokeai", "regions", "canvas_v2_metadata")
        f.reportRest()
        return ImageParameters(format: .invokeAI, container: meta.container, location: field.location,
                               writer: version.map { "InvokeAI \($0)" },
                               parameters: PNGParameters(prompt: f.prompt, negativePrompt: f.negative, pairs: f.pairs), unsupported: f.unsupported)
    }

    static func read(sdMetadata object: [String: JSONValue], field: MetadataField, meta: ImageMetadata) throws -> ImageParameters {
        guard let image = object["image"]?.object else {
            throw KitError("\(meta.path): the \(field.location) has no \"image\" object; InvokeAI 2's sd-metadata keeps the settings there")
        }
        var top = JSONFields(object)
        var f = JSONFields(image)
        switch f.take("prompt") {
        case .string(let s)?:
            (f.prompt, f.negative) = splitNegative(s)
        case .array(let items)?:
            let texts = items.compactMap { $0.object?["prompt"]?.pairText ?? $0.string }
            if let first = texts.first { (f.prompt, f.negative) = splitNegative(first) }
            if texts.count > 1 {
                f.unsupported.append(UnsupportedParameter(key: "prompt", value: texts.dropFirst().joined(separator: " | "),
                                                          reason: "a blend of \(texts.count) weighted prompts is not supported; Likeness reads the first"))
            }
        default: break
        }
        f.pair("steps", as: "Steps")
        f.sampler(f.take("sampler")?.pairText, schedule: nil)
        f.pair("cfg_scale", as: "CFG scale")
        f.pair("seed", as: "Seed")
        if let w = f.take("width")?.pairText, let h = f.take("height")?.pairText { f.add("Size", "\(w)x\(h)") }
        f.add("Model", top.take("model_weights")?.pairText)
        f.add("Model hash", top.take("model_hash")?.pairText)
        let type = f.take("type")?.pairText ?? ""
        if type == "img2img" { f.pair("strength", as: "Denoising strength") }
        else if !type.isEmpty && type != "txt2img" {
            f.unsupported.append(UnsupportedParameter(key: "type", value: type, reason: "only text-to-image is supported"))
        }
        f.report("threshold", UnsupportedReason.notAdjustable)
        f.report("perlin", "Perlin noise is not supported")
        f.report("seamless", UnsupportedReason.seamless)
        f.report("hires_fix", UnsupportedReason.hires)
        f.report("variations", UnsupportedReason.variationSeeds)
        f.report("postprocessing", "post-processing is not supported")
        f.skip("strength", "init_image_path", "fit", "init_mask")
        f.reportRest()
        let version = top.take("app_version")?.pairText
        top.skip("model", "app_id", "image")
        top.reportRest()
        return ImageParameters(format: .invokeAISDMetadata, container: meta.container, location: field.location,
                               writer: version.map { "InvokeAI \($0)" },
                               parameters: PNGParameters(prompt: f.prompt, negativePrompt: f.negative, pairs: f.pairs),
                               unsupported: f.unsupported + top.unsupported)
    }

    static func read(dream text: String, field: MetadataField, meta: ImageMetadata) throws -> ImageParameters {
        let (quoted, options) = try dreamCommand(text, field: field, meta: meta)
        var f = JSONFields([:])
        (f.prompt, f.negative) = splitNegative(quoted)
        var values: [String: String] = [:]
        for (flag, value) in options { values[flag] = value }
        f.add("Steps", values["-s"])
        f.sampler(values["-A"], schedule: nil)
        f.add("CFG scale", values["-C"])
        f.add("Seed", values["-S"])
        if let w = values["-W"], let h = values["-H"] { f.add("Size", "\(w)x\(h)") }
        if values["-I"] != nil { f.add("Denoising strength", values["-f"] ?? "0.75") }
        for (flag, value) in options where !["-s", "-A", "-C", "-S", "-W", "-H", "-I", "-f"].contains(flag) {
            f.unsupported.append(UnsupportedParameter(key: flag, value: value, reason: "a Dream option Likeness does not have"))
        }
        return ImageParameters(format: .invokeAIDream, container: meta.container, location: field.location, writer: "InvokeAI 1.x (Dream)",
                               parameters: PNGParameters(prompt: f.prompt, negativePrompt: f.negative, pairs: f.pairs), unsupported: f.unsupported)
    }

    /// The quoted prompt (with `\"` unescaped) and the options after it, in order.
    static func dreamCommand(_ text: String, field: MetadataField, meta: ImageMetadata) throws -> (String, [(String, String)]) {
        let chars = Array(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard chars.first == "\"" else {
            throw KitError("\(meta.path): the \(field.location) does not start with a quoted prompt, as InvokeAI's Dream line does")
        }
        var prompt = "", i = 1, closed = false
        while i < chars.count {
            if chars[i] == "\\", i + 1 < chars.count, chars[i + 1] == "\"" { prompt.append("\""); i += 2; continue }
            if chars[i] == "\"" { closed = true; i += 1; break }
            prompt.append(chars[i])
            i += 1
        }
        guard closed else { throw KitError("\(meta.path): the \(field.location) has an unterminated quoted prompt") }
        let tokens = String(chars[i...]).split(whereSeparator: \.isWhitespace).map(String.init)
        var options: [(String, String)] = []
        var k = 0
        while k < tokens.count {
            let flag = tokens[k]
            if k + 1 < tokens.count, !tokens[k + 1].hasPrefix("-") || Double(tokens[k + 1]) != nil {
                options.append((flag, tokens[k + 1]))
                k += 2
            } else {
                options.append((flag, ""))
                k += 1
            }
        }
        return (prompt, options)
    }

    /// InvokeAI 1.x/2.x prompts: `[bracketed]` parts are the negative prompt. Both parts are joined
    /// with ", " and trimmed of spaces and commas.
    static func splitNegative(_ text: String) -> (prompt: String, negative: String) {
        var positive: [String] = [], negative: [String] = []
        var current = "", depth = 0
        func flush(_ into: inout [String]) {
            let t = current.trimmingCharacters(in: .init(charactersIn: " ,\n\t"))
            if !t.isEmpty { into.append(t) }
            current = ""
        }
        for c in text {
            if c == "[" {
                if depth == 0 { flush(&positive) } else { current.append(c) }
                depth += 1
            } else if c == "]", depth > 0 {
                depth -= 1
                if depth == 0 { flush(&negative) } else { current.append(c) }
            } else {
                current.append(c)
            }
        }
        if depth > 0 { flush(&negative) } else { flush(&positive) }
        return (positive.joined(separator: ", "), negative.joined(separator: ", "))
    }
}
