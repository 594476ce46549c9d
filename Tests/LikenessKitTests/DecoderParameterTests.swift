// `Decoder: NAME` in the PNG parameters: written when the tiny decoder decoded the final image,
// read back, applied to a request (FinalDecoder.tiny), kept out of the studio's setting values.

import Foundation
import LikenessEngine
import XCTest
@testable import LikenessKit

final class DecoderParameterTests: XCTestCase {
    func testTinyDecoderIsRecordedReadAndApplied() throws {
        var request = GenerationRequest(prompt: "a cat")
        request.decoder = .tiny
        let spec = GenerationSpec(request: request, seed: 3, width: 64, height: 64, karras: false, model: nil, tinyDecoder: "taesd")
        XCTAssertEqual(spec.decoder, "taesd")
        let text = spec.parameters.text
        XCTAssertTrue(text.contains("Decoder: taesd"), text)
        let (back, unsupported) = GenerationSpec.from(PNGParameters.parse(text))
        XCTAssertTrue(unsupported.isEmpty, "\(unsupported)")
        XCTAssertEqual(back.decoder, "taesd")
        var again = GenerationRequest(prompt: "")
        back.apply(to: &again)
        XCTAssertEqual(again.decoder, .tiny)
        XCTAssertNil(back.settingValues.decoder)
        XCTAssertEqual(back.jsonObject["decoder"] as? String, "taesd")
    }

    func testTheFullDecoderIsNotRecorded() throws {
        let spec = GenerationSpec(request: GenerationRequest(prompt: "a cat"), seed: 3, width: 64, height: 64, karras: false,
                                  model: nil, tinyDecoder: "taesd")
        XCTAssertNil(spec.decoder)
        XCTAssertFalse(spec.parameters.text.contains("Decoder"))
        var request = GenerationRequest(prompt: "")
        GenerationSpec.from(PNGParameters.parse(spec.parameters.text)).spec.apply(to: &request)
        XCTAssertEqual(request.decoder, .full)
    }
}
