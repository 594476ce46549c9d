// generate --object NAME|PATH (and the object recalled by --from): gallery tokens as saved, or
// a reference image encoded now.

import Foundation
import LikenessEngine
import LikenessImaging
import LikenessKit

extension GenerateCommand {
    /// Sets the object tokens from --object (name or image) or the recalled object name; returns
    /// the label and hash written into the PNG.
    func resolveObject(recalled: (name: String, hash: String?)?, into request: inout GenerationRequest,
                       pipeline: LikenessPipeline, identity: ModelIdentity) -> (name: String, hash: String)? {
        let store = LikenessCLI.gallery(gallery)
        if let object {
            let isFile = FileManager.default.fileExists(atPath: object)
            if isFile || object.contains("/") || !ObjectName.isValid(object) {
                do {
                    let tokens = try pipeline.objectTokens(for: ReferenceImage(contentsOf: URL(fileURLWithPath: object)))
                    request.objectTokens = tokens
                    return (URL(fileURLWithPath: object).lastPathComponent, tokensHash(tokens))
                } catch { fail("\(error)") }
            }
            return fromGallery(object, store: store, identity: identity, request: &request, expectedHash: nil)
        }
        if let recalled {
            return fromGallery(recalled.name, store: store, identity: identity, request: &request, expectedHash: recalled.hash)
        }
        return nil
    }

    func fromGallery(_ name: String, store: ObjectGallery, identity: ModelIdentity,
                     request: inout GenerationRequest, expectedHash: String?) -> (name: String, hash: String) {
        do {
            let tokens = try store.tokens(named: name, for: identity)
            request.objectTokens = tokens.tensor
            if let expectedHash, expectedHash != tokens.shortHash {
                warn("object \"\(name)\" has changed since the image was made (Object hash \(expectedHash), now \(tokens.shortHash)); the image will differ")
            }
            return (name, tokens.shortHash)
        } catch let e as GalleryError {
            if case .notFound = e, from != nil, object == nil {
                fail("the image used object \"\(name)\", which is not in the gallery \(store.directory.path); pass --object NAME|PATH")
            }
            if case .notFound = e, ImageFormat(pathExtension: URL(fileURLWithPath: name).pathExtension) != nil {
                fail("\(name): no such file, and no saved object of that name in \(store.directory.path)")
            }
            fail("\(e)")
        } catch { fail("\(error)") }
    }

    func tokensHash(_ t: Tensor) -> String {
        ObjectTokens(tensor: t, modelFingerprint: nil, modelName: nil, injection: nil, sourceSHA256: nil, origin: nil).shortHash
    }
}
