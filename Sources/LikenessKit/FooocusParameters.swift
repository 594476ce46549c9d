// Fooocus's JSON metadata scheme (modules/meta_parser.py, FooocusMetadataParser): one JSON object
// in the PNG `parameters` chunk (beside a `fooocus_scheme` chunk "fooocus") or the EXIF
// UserComment (beside MakerNote "fooocus" and Software "Fooocus v..."), keys sorted:
//   prompt, negative_prompt        what the user typed
//   full_prompt, full_negative_prompt  lists: the texts after styles and Fooocus's prompt expansion
//   steps, guidance_scale, seed (a string), resolution "(width, height)", sampler, scheduler
//   base_model, base_model_hash, refiner_model, refiner_switch, vae
//   loras [[name, weight, hash], ...] (older versions: lora_combined_N "name : weight")
//   styles "['Fooocus V2', ...]", performance, sharpness, adm_guidance, adaptive_cfg, ...
//   metadata_scheme, version "Fooocus v2.5.5", created_by
// The prompt read is `prompt` (as Fooocus's own "load parameters" does); styles and the expansion
// are reported, with the full prompt they made.

import LikenessEngine
import LikenessImaging

enum FooocusParameters {
    static func read(_ object: [String: JSONValue], field: MetadataField, meta: ImageMetadata, writer: String?) -> ImageParameters {
        var f = JSONFields(object)
        let prompt = f.take("prompt")?.pairText ?? ""
        let negative = f.take("negative_prompt")?.pairText ?? ""
        f.pair("steps", as: "Steps")
        f.sampler(f.take("sampler")?.pairText, schedule: f.take("scheduler")?.pairText)
        f.pair("guidance_scale", as: "CFG scale")
        f.pair("seed", as: "Seed")
        if let resolution = f.take("resolution")?.pairText {
            let numbers = resolution.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            f.add("Size", numbers.count == 2 ? "\(numbers[0])x\(numbers[1])" : resolution)
        }
        if let model = f.take("base_model")?.pairText { f.add("Model", ImageParameters.modelName(model)) }
        f.pair("base_model_hash", as: "Model hash")
        var loras: [LoRAWeight] = []
        for item in f.take("loras")?.array ?? [] {
            if let a = item.array, let name = a.first?.pairText {
                loras.append(LoRAWeight(name: name, weight: a.count > 1 ? a[1].number.map(Float.init) : nil))
            }
        }
        for key in object.keys.sorted() where key.hasPrefix("lora_combined_") {
            guard let text = f.take(key)?.pairText, text != "None" else { continue }
            let parts = text.components(separatedBy: " : ")
            // "name : weight", or "enabled : name : weight" (later 2.x).
            guard parts.count == 2 || (parts.count == 3 && parts[0] == "True") else { continue }
            let name = ImageParameters.modelName(parts[parts.count - 2])
            if name != "None" { loras.append(LoRAWeight(name: name, weight: Float(parts[parts.count - 1].trimmingCharacters(in: .whitespaces)))) }
        }
        if !loras.isEmpty { f.add("Lora weights", GenerationSpec.loraText(loras)) }
        if let version = f.take("version")?.pairText { f.add("Version", version) }

        let fullPrompt = f.take("full_prompt")?.array?.compactMap(\.pairText).joined(separator: ", ")
        if let styles = f.take("styles"), !styles.isBlank, styles.pairText != "[]" {
            f.unsupported.append(UnsupportedParameter(
                key: "styles", value: styles.pairText ?? "",
                reason: "Fooocus's styles and prompt expansion are not in Likeness; the prompt is read as typed"
                    + (fullPrompt.map { $0.isEmpty ? "" : " (Fooocus's full prompt: \($0))" } ?? "")))
        }
        f.report("sharpness", "Fooocus's sharpness filter is not in Likeness")
        if let adaptive = object["adaptive_cfg"]?.number, let cfg = object["guidance_scale"]?.number, cfg > adaptive {
            f.report("adaptive_cfg", "Fooocus's CFG mimicking (guidance above it is toned down) is not in Likeness")
        }
        f.report("adm_guidance", "Fooocus's ADM guidance is not in Likeness")
        f.report("refiner_model", UnsupportedReason.refiner)
        f.report("vae", unless: .string("Default (model)"), UnsupportedReason.vae)
        f.report("freeu", "FreeU is not supported")
        f.report("clip_skip", unless: .int(1), UnsupportedReason.clipSkip)
        f.report("overwrite_switch", UnsupportedReason.notAdjustable)
        f.skip("full_negative_prompt", "metadata_scheme", "performance", "created_by", "base_model_hash", "refiner_model_hash",
               "refiner_switch", "refiner_swap_method", "adaptive_cfg", "image_number")
        f.reportRest()
        let parameters = PNGParameters(prompt: prompt, negativePrompt: negative, pairs: f.pairs)
        return ImageParameters(format: .fooocus, container: meta.container, location: field.location,
                               writer: writer, parameters: parameters, unsupported: f.unsupported)
    }
}
