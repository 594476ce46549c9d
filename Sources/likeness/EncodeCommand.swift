import ArgumentParser
import Foundation
import LikenessEngine
import LikenessKit

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode a reference image once and save the object in the gallery (one encoder pass).")

    @Option(help: "The reference image (PNG or JPEG).")
    var image: String
    @Option(help: "The object's name (1-64 characters; no '/', no '..', not starting with '.').")
    var name: String
    @Option(help: "A model folder with an object_encoder/.")
    var model: String = "Models/toybox"
    @Option(help: "The object gallery (default: $XDG_DATA_HOME/likeness/objects).")
    var gallery: String?

    func run() throws {
        do { try ObjectName.validate(name) } catch { fail("\(error)") }
        let reference: ReferenceImage
        do { reference = try ReferenceImage(contentsOf: URL(fileURLWithPath: image)) } catch { fail("\(error)") }
        let pipeline = loadPipeline(model)
        guard pipeline.objectImageSize != nil else {
            fail("\(GenerationError.noObjectEncoder(model: pipeline.modelURL.path))")
        }
        let identity: ModelIdentity
        do { identity = try ModelIdentity(folder: pipeline.modelURL, cache: FingerprintCache()) } catch { fail("\(error)") }
        do {
            let start = DispatchTime.now().uptimeNanoseconds
            let tokens = try pipeline.objectTokens(for: reference)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let store = LikenessCLI.gallery(gallery)
            let (object, replaced) = try store.save(name: name, tokens: tokens, reference: reference, model: identity)
            print("encoded \(name) in \(String(format: "%.1f", ms)) ms (\(object.tokenCount) tokens x \(object.hiddenSize), one encoder pass)")
            print("\(replaced ? "replaced" : "saved") \(object.folder.path)")
        } catch { fail("\(error)") }
    }
}
