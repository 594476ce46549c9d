import ArgumentParser
import Foundation
import LikenessKit

struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "Print a PNG's generation parameters (A1111 `parameters` chunk) and what Likeness cannot honour.")

    @Argument(help: "A PNG written by Likeness, AUTOMATIC1111 or a compatible tool.") var image: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let parameters: PNGParameters
        do { parameters = try PNGParameters.read(from: URL(fileURLWithPath: image)) } catch { fail("\(error)") }
        let (spec, unsupported) = GenerationSpec.from(parameters)
        if json {
            var o = spec.jsonObject
            o["parameters"] = parameters.pairs.map { ["key": $0.key, "value": $0.value] }
            o["unsupported"] = unsupported.map { ["key": $0.key, "value": $0.value, "reason": $0.reason] }
            do {
                let data = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } catch { fail("cannot write JSON: \(error)") }
            return
        }
        print(parameters.text)
        if !unsupported.isEmpty {
            print("\nLikeness cannot honour:")
            for item in unsupported { print("  \(item)") }
        }
    }
}
