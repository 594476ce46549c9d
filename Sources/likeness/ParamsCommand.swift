import ArgumentParser
import Foundation
import LikenessKit

struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "Print an image's generation parameters, what Likeness cannot honour, and which tool wrote them.",
        discussion: """
        Reads PNG, JPEG and WebP files from AUTOMATIC1111 (and tools writing its format), Fooocus, \
        ComfyUI, InvokeAI and NovelAI, and prints them in A1111's format.
        """)

    @Argument(help: "An image written by Likeness, AUTOMATIC1111, Fooocus, ComfyUI, InvokeAI or NovelAI (PNG, JPEG or WebP).") var image: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let read: ImageParameters
        do { read = try ImageParameters.read(from: URL(fileURLWithPath: image)) } catch { fail("\(error)") }
        let (spec, unsupported) = GenerationSpec.from(read)
        if json {
            var o = spec.jsonObject
            o["parameters"] = read.parameters.pairs.map { ["key": $0.key, "value": $0.value] }
            o["unsupported"] = unsupported.map { ["key": $0.key, "value": $0.value, "reason": $0.reason] }
            o["source"] = read.sourceJSON
            do {
                let data = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } catch { fail("cannot write JSON: \(error)") }
            return
        }
        print(read.parameters.text)
        if !unsupported.isEmpty {
            print("\nLikeness cannot honour:")
            for item in unsupported { print("  \(item)") }
        }
        print("\nWritten by: \(read.sourceDescription)")
        for note in read.notes { print("Note: \(note)") }
    }
}
