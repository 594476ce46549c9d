// ComfyUI's metadata: the PNG text chunk `prompt` holds the executed graph in API form (the
// `workflow` chunk, the editor's layout, is not read), a JSON object of nodes by id:
//   {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler",
//          "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0],
//          "negative": ["7", 0], "latent_image": ["5", 0]}}, "6": {"class_type": "CLIPTextEncode",
//          "inputs": {"text": "a cat", "clip": ["4", 1]}}, ...}
// An input is a literal or a link [node id, output index]. ComfyUI's WebP writer puts the same
// graph in the EXIF Model field as "prompt:{...}".
//
// Reading: the sampler nodes (KSampler, KSamplerAdvanced, SamplerCustom, SamplerCustomAdvanced,
// and any node with positive, negative and latent_image inputs) are found; the one taken is the
// first pass: a sampler whose latent does not come from another sampler (the lowest id where
// several do), and the others are reported. Its positive and negative inputs are followed back
// (through conditioning nodes, depth-first, inputs in name order, at most `maxDepth` deep) to the
// text encoders' text; a cycle or a link to a node that is not there is an error, as is a
// sampler whose prompt cannot be found. Seed, steps, guidance and sampler come from the sampler
// (or for SamplerCustomAdvanced its noise, guider, sampler and sigmas nodes), following a link to
// a value node where an input is one; the model and LoRAs from its model input's chain; the size,
// or img2img and its strength, from its latent's source.

import LikenessEngine
import LikenessImaging

enum ComfyUIParameters {
    static let maxDepth = 256
    static let samplerTypes: Set<String> = ["KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"]
    /// Conditioning nodes that pass nothing of their input's text on.
    static let zeroingTypes: Set<String> = ["ConditioningZeroOut"]
    /// Inputs that never carry conditioning.
    static let notConditioning: Set<String> = ["clip", "model", "vae", "control_net", "image", "mask", "clip_vision",
                                               "clip_vision_output", "style_model", "samples", "latent", "pixels", "upscale_model"]

    struct Node {
        let id: String
        let type: String
        let inputs: [String: JSONValue]
        var label: String { "\(type) (node \(id))" }
    }

    /// The graph, with errors that name the file and the chunk.
    struct Graph {
        let nodes: [String: Node]
        let context: String

        init(_ object: [String: JSONValue], context: String) throws {
            self.context = context
            var nodes: [String: Node] = [:]
            for (id, value) in object {
                guard let o = value.object, let type = o["class_type"]?.string else {
                    throw KitError("\(context): entry '\(id)' is \(value.kind) without a class_type, not a node")
                }
                nodes[id] = Node(id: id, type: type, inputs: o["inputs"]?.object ?? [:])
            }
            guard !nodes.isEmpty else { throw KitError("\(context): the graph has no nodes") }
            self.nodes = nodes
        }

        func error(_ message: String) -> KitError { KitError("\(context): \(message)") }

        /// The node id of a link input ([id, output]), or nil for a literal.
        static func link(_ value: JSONValue?) -> String? {
            guard let a = value?.array, a.count == 2 else { return nil }
            switch a[0] {
            case .string(let s): return s
            case .int(let i): return "\(i)"
            default: return nil
            }
        }

        /// The node an input of `from` links to; a link to a node that is not there is an error.
        func node(_ id: String, linkedFrom from: Node, input: String) throws -> Node {
            guard let n = nodes[id] else {
                throw error("the \(input) input of \(from.label) links to node \(id), which is not in the graph (the graph is damaged)")
            }
            return n
        }

        func isSampler(_ n: Node) -> Bool {
            samplerTypes.contains(n.type) || (n.inputs["positive"] != nil && n.inputs["negative"] != nil && n.inputs["latent_image"] != nil)
        }

        /// Node ids in numeric order where they are numbers ("3" < "12"), then as text.
        static func ordered(_ ids: [String]) -> [String] {
            ids.sorted { (Int($0) ?? Int.max, $0) < (Int($1) ?? Int.max, $1) }
        }

        func cycleError(_ path: [String], back id: String) -> KitError {
            let loop = path.drop(while: { $0 != id }) + [id]
            return error("a cycle through nodes \(loop.joined(separator: " -> ")); a graph ComfyUI ran has none, so the file is damaged")
        }

        /// Follows a chain of single links from `start` through the inputs `next` names, calling
        /// `visit` on each node until it returns false; a cycle is an error.
        func walk(from start: Node, input: String, next: (Node) -> String?, _ visit: (Node) throws -> Bool) throws {
            var seen: [String] = [start.id]
            var from = start, inputName = input
            var id = Graph.link(start.inputs[input])
            while let current = id {
                if seen.contains(current) { throw cycleError(seen, back: current) }
                let n = try node(current, linkedFrom: from, input: inputName)
                seen.append(current)
                guard try visit(n), let nextInput = next(n) else { return }
                from = n
                inputName = nextInput
                id = Graph.link(n.inputs[nextInput])
            }
        }

        /// The sampler whose result `sampler`'s latent is made from, if any.
        func upstreamSampler(of sampler: Node) throws -> Node? {
            var found: Node?
            try walk(from: sampler, input: "latent_image", next: latentInput) { n in
                if isSampler(n) { found = n; return false }
                return true
            }
            return found
        }

        /// The input a latent-processing node takes its latent from.
        func latentInput(_ n: Node) -> String? {
            n.inputs.keys.sorted().first { k in (k.contains("latent") || k.contains("samples")) && Graph.link(n.inputs[k]) != nil }
        }

        /// A scalar input, following links to value nodes (primitive, seed and number nodes).
        func scalar(_ n: Node, _ name: String) throws -> JSONValue? {
            var current = n, input = name
            var seen: [String] = [n.id]
            while true {
                guard let value = current.inputs[input] else { return nil }
                guard let target = Graph.link(value) else { return value }
                if seen.contains(target) { throw cycleError(seen, back: target) }
                let next = try node(target, linkedFrom: current, input: input)
                seen.append(target)
                let literals = next.inputs.filter { Graph.link($0.value) == nil }
                guard let key = [input, "value", "seed", "noise_seed", "int", "float", "number"].first(where: { next.inputs[$0] != nil })
                        ?? (literals.count == 1 ? literals.first?.key : nil) else { return nil }
                current = next
                input = key
            }
        }

        /// A text input's string, following links to string-producing nodes.
        func string(_ n: Node, _ name: String, path: [String] = []) throws -> String? {
            guard let value = n.inputs[name] else { return nil }
            if let s = value.string { return s }
            guard let target = Graph.link(value) else { return nil }
            let path = path + [n.id]
            if path.contains(target) { throw cycleError(path, back: target) }
            guard path.count < maxDepth else { throw error("the text of \(n.label) comes through more than \(maxDepth) nodes") }
            let t = try node(target, linkedFrom: n, input: name)
            guard let key = ["text", "string", "value", "prompt", "text_g"].first(where: { t.inputs[$0] != nil }),
                  let s = try string(t, key, path: path) else {
                throw error("the text of \(n.label) comes from \(t.label), whose output Likeness cannot read")
            }
            return s
        }

        /// The prompt texts the conditioning input `role` ("positive", "negative", "conditioning")
        /// of `n` comes from, depth-first, with the node each came from.
        func texts(_ n: Node, _ role: String) throws -> [(id: String, text: String)] {
            var out: [(id: String, text: String)] = []
            var done: Set<String> = []
            func visit(_ id: String, from: Node, input: String, path: [String]) throws {
                if path.contains(id) { throw cycleError(path, back: id) }
                guard !done.contains(id) else { return }
                guard path.count < maxDepth else {
                    throw error("the \(role) conditioning of \(n.label) goes through more than \(maxDepth) nodes")
                }
                let node = try node(id, linkedFrom: from, input: input)
                done.insert(id)
                if zeroingTypes.contains(node.type) { return }
                if let key = ["text", "text_g", "prompt"].first(where: { node.inputs[$0] != nil }) {
                    if let text = try string(node, key) { out.append((id, text)) }
                    return
                }
                let links = node.inputs.keys.sorted().filter { Graph.link(node.inputs[$0]) != nil }
                let next: [String]
                if links.contains(role) { next = [role] } else {
                    let named = links.filter { $0.hasPrefix("conditioning") }
                    next = named.isEmpty ? links.filter { !notConditioning.contains($0) } : named
                }
                for input in next {
                    if let target = Graph.link(node.inputs[input]) { try visit(target, from: node, input: input, path: path + [id]) }
                }
            }
            if let target = Graph.link(n.inputs[role]) { try visit(target, from: n, input: role, path: [n.id]) }
            return out
        }
    }

    static func read(graph object: [String: JSONValue], field: MetadataField, meta: ImageMetadata) throws -> ImageParameters {
        let graph = try Graph(object, context: "\(meta.path): ComfyUI graph in the \(field.location)")
        let samplers = Graph.ordered(Array(graph.nodes.keys)).compactMap { graph.nodes[$0] }.filter(graph.isSampler)
        guard !samplers.isEmpty else {
            let types = Set(graph.nodes.values.map(\.type)).sorted().prefix(12)
            throw graph.error("no sampler node (KSampler, KSamplerAdvanced, SamplerCustom, SamplerCustomAdvanced); "
                + "its nodes: \(types.joined(separator: ", "))")
        }
        var upstream: [String: Node] = [:]
        for s in samplers { upstream[s.id] = try graph.upstreamSampler(of: s) }
        let firstPasses = samplers.filter { upstream[$0.id] == nil }
        guard let sampler = firstPasses.first else {
            throw graph.error("every sampler starts from another sampler's result (a cycle)")
        }
        var f = JSONFields([:])
        var notes: [String] = []
        if samplers.count > 1 {
            notes.append("the graph has \(samplers.count) samplers (\(samplers.map(\.label).joined(separator: ", "))); read \(sampler.label), "
                + (firstPasses.count == 1 ? "the first pass" : "the first of \(firstPasses.count) independent ones"))
        }
        for other in samplers where other.id != sampler.id {
            let reason = upstream[other.id] == nil
                ? "another generation in the same graph; Likeness reads \(sampler.label)"
                : "a further pass over \(upstream[other.id]?.label ?? "another sampler")'s result (hires fix, refiner) is not supported; Likeness makes the first pass only"
            f.unsupported.append(UnsupportedParameter(key: "Sampler node \(other.id)", value: other.type, reason: reason))
        }

        try readSampler(sampler, graph: graph, into: &f)
        let location = "\(field.location) (sampler \(sampler.label))"
        return ImageParameters(format: .comfyUI, container: meta.container, location: location, writer: nil,
                               parameters: PNGParameters(prompt: f.prompt, negativePrompt: f.negative, pairs: f.pairs),
                               unsupported: f.unsupported, notes: notes)
    }

    /// Reads the sampler's settings, prompts, model and latent into pairs.
    private static func readSampler(_ s: Node, graph: Graph, into f: inout JSONFields) throws {
        func unsupported(_ key: String, _ value: String, _ reason: String) {
            f.unsupported.append(UnsupportedParameter(key: key, value: value, reason: reason))
        }
        var seed: JSONValue?, steps: JSONValue?, cfg: JSONValue?, denoise: JSONValue?
        var samplerName: String?, scheduler: String?
        var conditioning: (node: Node, positive: String, negative: String?)? = (s, "positive", "negative")
        var modelFrom: Node = s

        /// SamplerCustom(Advanced): the sampler and sigmas nodes.
        func readSamplerAndSigmas() throws {
            if let id = Graph.link(s.inputs["sampler"]) {
                let n = try graph.node(id, linkedFrom: s, input: "sampler")
                samplerName = try graph.scalar(n, "sampler_name")?.pairText
                if samplerName == nil { unsupported("sampler", n.type, "a sampler node Likeness does not read") }
            }
            if let id = Graph.link(s.inputs["sigmas"]) {
                let n = try graph.node(id, linkedFrom: s, input: "sigmas")
                steps = try graph.scalar(n, "steps")
                denoise = try graph.scalar(n, "denoise")
                switch n.type {
                case "BasicScheduler": scheduler = try graph.scalar(n, "scheduler")?.pairText
                case "KarrasScheduler": scheduler = "karras"
                default: unsupported("sigmas", n.type, "a sigma schedule Likeness does not have; it spaces steps as the model's scheduler does")
                }
            }
        }

        switch s.type {
        case "SamplerCustomAdvanced":
            if let id = Graph.link(s.inputs["noise"]) {
                let n = try graph.node(id, linkedFrom: s, input: "noise")
                if n.type == "DisableNoise" { unsupported("noise", n.type, UnsupportedReason.noNoise) }
                seed = try graph.scalar(n, "noise_seed")
            }
            conditioning = nil
            if let id = Graph.link(s.inputs["guider"]) {
                let g = try graph.node(id, linkedFrom: s, input: "guider")
                modelFrom = g
                cfg = try graph.scalar(g, "cfg")
                if g.inputs["positive"] != nil {
                    conditioning = (g, "positive", "negative")
                } else if g.inputs["conditioning"] != nil {
                    conditioning = (g, "conditioning", nil)
                    if cfg == nil { cfg = .int(1) }
                }
                if !["CFGGuider", "BasicGuider"].contains(g.type) {
                    unsupported("guider", g.type, "a guider Likeness does not have; read as classifier-free guidance")
                }
            }
            try readSamplerAndSigmas()
        case "SamplerCustom":
            seed = try graph.scalar(s, "noise_seed")
            cfg = try graph.scalar(s, "cfg")
            if s.inputs["add_noise"] == .bool(false) { unsupported("add_noise", "false", UnsupportedReason.noNoise) }
            try readSamplerAndSigmas()
        default:
            seed = try graph.scalar(s, "seed") ?? graph.scalar(s, "noise_seed")
            steps = try graph.scalar(s, "steps")
            cfg = try graph.scalar(s, "cfg")
            denoise = try graph.scalar(s, "denoise")
            samplerName = try graph.scalar(s, "sampler_name")?.pairText
            scheduler = try graph.scalar(s, "scheduler")?.pairText
            if s.type == "KSamplerAdvanced" {
                if let add = try graph.scalar(s, "add_noise")?.pairText, add == "disable" {
                    unsupported("add_noise", add, UnsupportedReason.noNoise)
                }
                if let start = try graph.scalar(s, "start_at_step")?.number, start > 0 {
                    unsupported("start_at_step", JSONValue.double(start).jsonText, "starting part-way through the steps is not supported")
                }
                if let end = try graph.scalar(s, "end_at_step")?.number, let total = steps?.number, end < total {
                    unsupported("end_at_step", JSONValue.double(end).jsonText,
                                "the sampler stops before the last step (another sampler finishes); Likeness runs all \(JSONValue.double(total).jsonText)")
                }
            }
        }

        // Prompts.
        guard let conditioning else {
            throw graph.error("\(s.label) has no guider with positive and negative inputs; Likeness cannot find its prompt")
        }
        let positive = try graph.texts(conditioning.node, conditioning.positive)
        guard let first = positive.first else {
            throw graph.error("no text encoder was found behind the \(conditioning.positive) input of \(conditioning.node.label)")
        }
        f.prompt = first.text
        if positive.count > 1 {
            unsupported("positive prompt", positive.dropFirst().map(\.text).joined(separator: " | "),
                        "the conditioning combines \(positive.count) texts (nodes \(positive.map(\.id).joined(separator: ", "))); Likeness reads node \(first.id)'s")
        }
        if let role = conditioning.negative {
            let negative = try graph.texts(conditioning.node, role)
            f.negative = negative.first?.text ?? ""
            if negative.count > 1 {
                unsupported("negative prompt", negative.dropFirst().map(\.text).joined(separator: " | "),
                            "the conditioning combines \(negative.count) texts (nodes \(negative.map(\.id).joined(separator: ", "))); Likeness reads node \(negative[0].id)'s")
            }
        }

        f.add("Steps", steps?.pairText)
        f.sampler(samplerName, schedule: scheduler)
        f.add("CFG scale", cfg?.pairText)
        f.add("Seed", seed?.pairText)

        // Latent source: the size, or img2img.
        var img2img = false
        try graph.walk(from: s, input: "latent_image", next: graph.latentInput) { n in
            if n.inputs["pixels"] != nil {
                img2img = true
                return false
            }
            if let w = try graph.scalar(n, "width"), let h = try graph.scalar(n, "height"), n.inputs["samples"] == nil {
                f.add("Size", "\(w.pairText ?? "?")x\(h.pairText ?? "?")")
                return false
            }
            return true
        }
        if img2img {
            f.add("Denoising strength", denoise?.pairText ?? "1")
        } else if let d = denoise?.number, d < 1 {
            unsupported("denoise", denoise?.pairText ?? "", "a partial denoise of an empty latent is not supported")
        }

        // Model and LoRAs.
        var loras: [LoRAWeight] = []
        try graph.walk(from: modelFrom, input: "model", next: { _ in "model" }) { n in
            for key in ["ckpt_name", "unet_name"] {
                if let name = try graph.scalar(n, key)?.pairText {
                    f.add("Model", ImageParameters.modelName(name))
                    return false
                }
            }
            if n.type.hasPrefix("LoraLoader"), let name = try graph.scalar(n, "lora_name")?.pairText {
                loras.insert(LoRAWeight(name: ImageParameters.modelName(name),
                                        weight: try graph.scalar(n, "strength_model")?.number.map(Float.init)), at: 0)
            } else {
                unsupported("model node \(n.id)", n.type, "a model patch Likeness does not have; the image differs")
            }
            return true
        }
        if !loras.isEmpty { f.add("Lora weights", GenerationSpec.loraText(loras)) }
    }
}
