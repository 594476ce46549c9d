// A standalone VAE in the PNG parameters as A1111 writes it (`VAE hash`, `VAE` after the model),
// read back by recall, and reported when the VAE used now differs.

import Foundation
import XCTest
import LikenessEngine
@testable import LikenessKit

final class VAEParametersTests: XCTestCase {
    func model(vae: VAEIdentity?) -> ModelIdentity {
        var m = ModelIdentity(name: "sd15", folder: URL(fileURLWithPath: "/m/sd15.safetensors"), fingerprint: String(repeating: "a", count: 64),
                              tokenCount: nil, hiddenSize: 768, injection: nil)
        m.vae = vae
        return m
    }

    let ftMSE = VAEIdentity(name: "vae-ft-mse-840000-ema-pruned.safetensors", url: URL(fileURLWithPath: "/v/vae.safetensors"),
                            fingerprint: "c6a580b13a" + String(repeating: "0", count: 54))

    func testWrittenAndReadBack() throws {
        var request = GenerationRequest(prompt: "a cat")
        request.steps = 20
        let spec = GenerationSpec(request: request, seed: 5, width: 512, height: 512, karras: false, model: model(vae: ftMSE))
        let text = spec.parameters.text
        XCTAssertTrue(text.contains("Model hash: aaaaaaaaaa, Model: sd15, VAE hash: c6a580b13a, VAE: vae-ft-mse-840000-ema-pruned.safetensors"), text)
        let (read, unsupported) = GenerationSpec.from(PNGParameters.parse(text))
        XCTAssertEqual(unsupported, [])
        XCTAssertEqual(read.vae, "vae-ft-mse-840000-ema-pruned.safetensors")
        XCTAssertEqual(read.vaeHash, "c6a580b13a")
        XCTAssertEqual(read.mismatches(model: model(vae: ftMSE)), [])
        XCTAssertEqual(read.settingValues.vae, nil, "the VAE is a record of what was used, not a setting")

        let own = read.mismatches(model: model(vae: nil))
        XCTAssertEqual(own.map(\.key), ["VAE"])
        XCTAssertTrue(own[0].reason.contains("--vae"), own[0].reason)
        var other = ftMSE
        other.fingerprint = String(repeating: "b", count: 64)
        XCTAssertEqual(read.mismatches(model: model(vae: other)).map(\.key), ["VAE hash"])
        other.name = "kl-f8-anime2.safetensors"
        XCTAssertEqual(read.mismatches(model: model(vae: other)).map(\.key), ["VAE"])

        // Without a VAE nothing is written, and an image made with the model's own VAE recalled with one is reported.
        let plain = GenerationSpec(request: request, seed: 5, width: 512, height: 512, karras: false, model: model(vae: nil))
        XCTAssertFalse(plain.parameters.text.contains("VAE"), plain.parameters.text)
        XCTAssertEqual(plain.mismatches(model: model(vae: ftMSE)).map(\.key), ["VAE"])
    }

    func testIdentityHashesTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("likeness-vaeid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("my.vae.safetensors")
        try Data("abc".utf8).write(to: file)
        let id = try VAEIdentity(url: file)
        XCTAssertEqual(id.name, "my.vae.safetensors")
        XCTAssertEqual(id.fingerprint, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(id.shortHash, "ba7816bf8f")
        XCTAssertThrowsError(try VAEIdentity(url: dir.appendingPathComponent("none")))
    }
}
