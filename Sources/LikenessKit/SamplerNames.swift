// Sampler names as A1111 writes them, and back.

import LikenessEngine

public enum SamplerNames {
    /// The A1111 name for `kind` with resolved Karras sigmas (only DPM++ 2M carries Karras in its name;
    /// Euler with Karras is written `Euler` plus `Karras: true`, as A1111 1.9+ writes `Schedule type`).
    public static func a1111Name(_ kind: SamplerKind, karras: Bool) -> String {
        switch kind {
        case .ddim: return "DDIM"
        case .euler: return "Euler"
        case .eulerAncestral: return "Euler a"
        case .dpmpp2m: return karras ? "DPM++ 2M Karras" : "DPM++ 2M"
        case .lcm: return "LCM"
        }
    }

    /// The sampler for an A1111 name and whether the name implies Karras sigmas; nil for names
    /// Likeness does not implement. Case-insensitive; our CLI names are accepted too.
    public static func parse(_ name: String) -> (kind: SamplerKind, karras: Bool?)? {
        switch name.trimmingCharacters(in: .whitespaces).lowercased() {
        case "ddim": return (.ddim, nil)
        case "euler": return (.euler, nil)
        case "euler a", "euler-a", "euler_a": return (.eulerAncestral, nil)
        case "dpm++ 2m", "dpmpp-2m", "dpmpp_2m": return (.dpmpp2m, nil)
        case "dpm++ 2m karras": return (.dpmpp2m, true)
        case "lcm": return (.lcm, nil)
        default: return nil
        }
    }

    /// The A1111 name for another tool's name of a sampler Likeness has: ComfyUI and Fooocus
    /// (`euler_ancestral`), InvokeAI (`euler_a`, 2.x `k_euler_a`), NovelAI (`k_euler_ancestral`).
    /// nil for any other sampler (its own name is then reported as it is).
    public static func a1111Name(tool name: String) -> String? {
        var n = name.trimmingCharacters(in: .whitespaces).lowercased()
        if n.hasPrefix("k_") { n.removeFirst(2) }
        switch n {
        case "ddim": return "DDIM"
        case "euler": return "Euler"
        case "euler_ancestral", "euler_a": return "Euler a"
        case "dpmpp_2m": return "DPM++ 2M"
        case "lcm": return "LCM"
        default: return nil
        }
    }

    /// Names Likeness understands, for messages.
    public static let known = ["DDIM", "Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "LCM"]
}
