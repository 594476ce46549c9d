// The generation parameters of any tool's image: one reader that tells each format by its own
// markers and reads it into A1111's form (PNGParameters), from which GenerationSpec.from makes the
// one generation configuration. What a format holds beyond that form, and Likeness cannot honour,
// comes with it as UnsupportedParameters.
//
// Markers, checked in this order (the first found is read; others present are named in a note):
//   PNG `parameters`   text: AUTOMATIC1111 (and Forge, SD.Next, Fooocus's a1111 scheme, Likeness);
//                      a JSON object: Fooocus, only with Fooocus's own marker (a `fooocus_scheme`
//                      chunk "fooocus", or "version": "Fooocus ..."). Other JSON is an error: no
//                      JSON is ever read as A1111 text.
//   PNG `invokeai_metadata` (InvokeAI 3+), `sd-metadata` (2.x), `Dream` (1.x): InvokeAIParameters.swift
//   PNG `prompt`       a ComfyUI node graph (API form): ComfyUIParameters.swift
//   PNG `Software` "NovelAI", or `Comment` JSON with `Description`: NovelAIParameters.swift
//   JPEG, WebP         EXIF UserComment, as the PNG `parameters` chunk (A1111 via piexif; Fooocus
//                      marks its JSON with MakerNote "fooocus" and Software "Fooocus v..."); EXIF
//                      Model "prompt:{...}": a ComfyUI graph (ComfyUI's WebP writer).
// Text values above `maxTextBytes` are refused before parsing.

import Foundation
import LikenessEngine
import LikenessImaging

/// The layouts Likeness reads generation parameters from.
public enum ParameterFormat: String, Sendable, Codable, CaseIterable {
    case a1111
    case fooocus
    case comfyUI = "comfyui"
    /// `invokeai_metadata`, InvokeAI 3 and later.
    case invokeAI = "invokeai"
    /// `sd-metadata`, InvokeAI 2.x.
    case invokeAISDMetadata = "invokeai-sd-metadata"
    /// `Dream`, InvokeAI 1.x.
    case invokeAIDream = "invokeai-dream"
    case novelAI = "novelai"

    /// The tool that writes the layout.
    public var tool: String {
        switch self {
        case .a1111: return "AUTOMATIC1111"
        case .fooocus: return "Fooocus"
        case .comfyUI: return "ComfyUI"
        case .invokeAI, .invokeAISDMetadata, .invokeAIDream: return "InvokeAI"
        case .novelAI: return "NovelAI"
        }
    }
}

/// Generation parameters read from an image file.
public struct ImageParameters: Sendable, Equatable {
    public var format: ParameterFormat
    public var container: MetadataContainer
    /// Where they were read: "PNG text chunk 'parameters'", "JPEG EXIF UserComment", ...
    public var location: String
    /// The program that wrote them, where the metadata says ("AUTOMATIC1111 v1.6.0", "Fooocus v2.5.5").
    public var writer: String?
    /// The reading in A1111's form: what `likeness params` prints, and what GenerationSpec reads.
    public var parameters: PNGParameters
    /// What the format holds beyond that form that Likeness cannot honour.
    public var unsupported: [UnsupportedParameter] = []
    /// How the reading was made where there was a choice (which of a graph's samplers).
    public var notes: [String] = []

    public init(format: ParameterFormat, container: MetadataContainer, location: String, writer: String? = nil,
                parameters: PNGParameters, unsupported: [UnsupportedParameter] = [], notes: [String] = []) {
        self.format = format
        self.container = container
        self.location = location
        self.writer = writer
        self.parameters = parameters
        self.unsupported = unsupported
        self.notes = notes
    }

    /// The largest text value read as parameters, in bytes.
    public static let maxTextBytes = 4 << 20

    /// One line naming the source: "ComfyUI, PNG text chunk 'prompt' (sampler KSampler (node 3))".
    public var sourceDescription: String {
        let who = writer ?? (format == .a1111 ? "AUTOMATIC1111's format (A1111 or a tool that writes it, Likeness among them; no Version given)" : format.tool)
        return "\(who), \(location)"
    }

    /// The `source` object of `likeness params --json`.
    public var sourceJSON: [String: Any] {
        var o: [String: Any] = ["format": format.rawValue, "tool": format.tool, "container": container.rawValue, "location": location]
        if let writer { o["writer"] = writer }
        if !notes.isEmpty { o["notes"] = notes }
        return o
    }

    // MARK: reading

    /// The parameters of the image at `url` (PNG, JPEG or WebP); throws a KitError naming the
    /// file and what is missing or wrong.
    public static func read(from url: URL) throws -> ImageParameters {
        let meta: ImageMetadata
        do { meta = try ImageMetadata.read(url) } catch { throw KitError("\(error)") }
        return try read(meta)
    }

    /// The parameters in already read metadata.
    public static func read(_ meta: ImageMetadata) throws -> ImageParameters {
        switch meta.container {
        case .png: return try readPNG(meta)
        case .jpeg, .webp: return try readEXIF(meta)
        }
    }

    /// A field's text, strictly decoded and within the size limit.
    static func text(_ field: MetadataField, _ meta: ImageMetadata) throws -> String {
        guard field.bytes.count <= maxTextBytes else {
            throw KitError("\(meta.path): the \(field.location) holds \(field.bytes.count) bytes; Likeness reads generation "
                + "parameters of up to \(maxTextBytes) bytes (\(maxTextBytes >> 20) MiB)")
        }
        do { return try field.text(path: meta.path) } catch { throw KitError("\(error)") }
    }

    /// A field's JSON object; throws naming the field when it is not JSON or not an object.
    static func jsonObject(_ field: MetadataField, _ meta: ImageMetadata, expected: String) throws -> [String: JSONValue] {
        let text = try text(field, meta)
        guard let json = JSONValue.parse(text) else {
            throw KitError("\(meta.path): the \(field.location) is not valid JSON; \(expected) is JSON")
        }
        guard let o = json.object else {
            throw KitError("\(meta.path): the \(field.location) holds JSON that is \(json.kind), not an object; \(expected) is a JSON object")
        }
        return o
    }

    private static func readPNG(_ meta: ImageMetadata) throws -> ImageParameters {
        let markers: [(key: String, format: String)] = [
            ("parameters", "A1111/Fooocus 'parameters'"), ("invokeai_metadata", "InvokeAI"), ("sd-metadata", "InvokeAI 2"),
            ("Dream", "InvokeAI 1"), ("prompt", "ComfyUI graph"), ("Comment", "NovelAI"),
        ]
        let found = markers.filter { $0.key == "Comment" ? isNovelAI(meta) : meta.png($0.key) != nil }
        var result: ImageParameters
        let readKey: String
        if let field = meta.png("parameters") {
            let scheme = meta.png("fooocus_scheme")?.lenientText
            result = try readParametersText(text(field, meta), field: field, meta: meta, fooocusScheme: scheme, software: nil)
            readKey = field.key
        } else if let field = meta.png("invokeai_metadata") {
            result = try InvokeAIParameters.read(metadata: jsonObject(field, meta, expected: "InvokeAI's metadata"), field: field, meta: meta)
            readKey = field.key
        } else if let field = meta.png("sd-metadata") {
            result = try InvokeAIParameters.read(sdMetadata: jsonObject(field, meta, expected: "InvokeAI's sd-metadata"), field: field, meta: meta)
            readKey = field.key
        } else if let field = meta.png("Dream") {
            result = try InvokeAIParameters.read(dream: text(field, meta), field: field, meta: meta)
            readKey = field.key
        } else if let field = meta.png("prompt") {
            result = try ComfyUIParameters.read(graph: jsonObject(field, meta, expected: "a ComfyUI graph"), field: field, meta: meta)
            readKey = field.key
        } else if isNovelAI(meta) {
            result = try NovelAIParameters.read(meta)
            readKey = "Comment"
        } else if meta.png("workflow") != nil {
            throw KitError("\(meta.path): the PNG has a ComfyUI 'workflow' chunk but no 'prompt' chunk; Likeness reads "
                + "the executed graph in 'prompt' (save the image from ComfyUI with its metadata)")
        } else {
            let keys = meta.pngText.map(\.key)
            throw KitError("\(meta.path): the PNG has no generation parameters: no '\(PNGParameters.chunkKey)' text chunk "
                + "(A1111, Fooocus), nor ComfyUI's, InvokeAI's or NovelAI's"
                + (keys.isEmpty ? " (it has no text chunks)" : " (its text chunks: \(keys.joined(separator: ", ")))"))
        }
        let others = found.filter { $0.key != readKey }.map(\.format)
        if !others.isEmpty {
            result.notes.append("the image also carries \(others.joined(separator: ", ")) metadata; read the '\(readKey)' chunk")
        }
        return result
    }

    private static func readEXIF(_ meta: ImageMetadata) throws -> ImageParameters {
        let kind = meta.container.rawValue
        guard meta.hasEXIF else {
            throw KitError("\(meta.path): the \(kind) has no EXIF data, so no generation parameters "
                + "(A1111 and Fooocus write theirs into the EXIF UserComment)")
        }
        if let field = meta.exif("UserComment") {
            return try readParametersText(text(field, meta), field: field, meta: meta,
                                          fooocusScheme: meta.exif("MakerNote")?.lenientText, software: meta.exif("Software")?.lenientText)
        }
        if let field = meta.exif("Model"), field.lenientText.hasPrefix("prompt:") {
            let json = String(try text(field, meta).dropFirst("prompt:".count))
            guard let graph = JSONValue.parse(json) else {
                throw KitError("\(meta.path): the \(field.location) starts with 'prompt:' (ComfyUI) but the rest is not valid JSON")
            }
            guard let o = graph.object else {
                throw KitError("\(meta.path): the \(field.location) holds JSON that is \(graph.kind), not an object; a ComfyUI graph is a JSON object")
            }
            return try ComfyUIParameters.read(graph: o, field: field, meta: meta)
        }
        let names = meta.exif.map(\.key)
        throw KitError("\(meta.path): the \(kind)'s EXIF has no UserComment, so no generation parameters"
            + (names.isEmpty ? "" : " (its text fields: \(names.joined(separator: ", ")))"))
    }

    /// NovelAI's marker: Software "NovelAI", or a Description beside a Comment that is a JSON object
    /// with NovelAI's keys (`uc`, `scale`); a Comment of another program's is not taken for one.
    static func isNovelAI(_ meta: ImageMetadata) -> Bool {
        if meta.png("Software")?.lenientText.lowercased().hasPrefix("novelai") == true { return true }
        guard meta.png("Description") != nil, let comment = meta.png("Comment"), comment.bytes.count <= maxTextBytes,
              let o = JSONValue.parseIfJSON(comment.lenientText)?.object else { return false }
        return o["uc"] != nil || o["scale"] != nil
    }

    /// A `parameters` chunk or UserComment: A1111 text, or Fooocus JSON with Fooocus's marker.
    /// The PNG chunk's name marks A1111 text, so text without a parameters line is all prompt (as
    /// A1111 reads it); a UserComment is any program's, so there the parameters line is required.
    private static func readParametersText(_ text: String, field: MetadataField, meta: ImageMetadata,
                                           fooocusScheme: String?, software: String?) throws -> ImageParameters {
        let schemeIsFooocus = fooocusScheme?.trimmingCharacters(in: .whitespaces).lowercased() == "fooocus"
        let fooocusSoftware = software.flatMap { $0.lowercased().hasPrefix("fooocus") ? $0 : nil }
        if let json = JSONValue.parseIfJSON(text) {
            guard let object = json.object else {
                throw KitError("\(meta.path): the \(field.location) holds JSON that is \(json.kind), not an object: "
                    + "neither A1111 text nor Fooocus's JSON object")
            }
            let version = object["version"]?.string
            guard schemeIsFooocus || fooocusSoftware != nil || version?.lowercased().hasPrefix("fooocus") == true else {
                throw KitError("\(meta.path): the \(field.location) holds a JSON object, not A1111 text, without Fooocus's marker "
                    + "(a 'fooocus_scheme' chunk or MakerNote 'fooocus', or \"version\": \"Fooocus ...\"); Likeness does not guess its layout")
            }
            return FooocusParameters.read(object, field: field, meta: meta, writer: version ?? fooocusSoftware)
        }
        if schemeIsFooocus {
            throw KitError("\(meta.path): Fooocus's marker says its JSON scheme, but the \(field.location) is not JSON")
        }
        let parameters = PNGParameters.parse(text)
        if field.key == "UserComment", parameters.pairs.isEmpty {
            let shown = text.count > 60 ? String(text.prefix(60)) + "..." : text
            throw KitError("\(meta.path): the \(field.location) holds text without A1111's parameters line (\"Steps: ..., Seed: ...\"), "
                + "so no generation parameters: \(text.isEmpty ? "it is empty" : SafeTensorsWriter.jsonString(shown))")
        }
        var writer = parameters["Version"].map(a1111Writer)
        if writer == nil, let fooocusSoftware { writer = fooocusSoftware }
        return ImageParameters(format: .a1111, container: meta.container, location: field.location,
                               writer: writer, parameters: parameters)
    }

    /// The program an A1111 `Version` value names.
    static func a1111Writer(_ version: String) -> String {
        let v = version.trimmingCharacters(in: .whitespaces)
        if v.lowercased().hasPrefix("fooocus") || v.lowercased().hasPrefix("comfyui") { return v }
        if v.hasPrefix("f"), v.dropFirst().first?.isNumber == true { return "Forge \(v)" }
        if v.hasPrefix("v"), v.dropFirst().first?.isNumber == true { return "AUTOMATIC1111 \(v)" }
        return "AUTOMATIC1111 format, Version \(v)"
    }

    /// A model file's name as A1111 writes it: no folders, no extension.
    static func modelName(_ file: String) -> String {
        var name = file.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? file
        for ext in [".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft"] where name.lowercased().hasSuffix(ext) {
            name = String(name.dropLast(ext.count))
        }
        return name
    }
}

extension GenerationSpec {
    /// The spec an image's parameters describe, and everything in them Likeness cannot honour.
    public static func from(_ image: ImageParameters) -> (spec: GenerationSpec, unsupported: [UnsupportedParameter]) {
        let (spec, unsupported) = from(image.parameters)
        return (spec, unsupported + image.unsupported)
    }
}
