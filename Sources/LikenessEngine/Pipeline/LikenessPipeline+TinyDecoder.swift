// Attaching a tiny decoder (TAESD, diffusers AutoencoderTiny) to a pipeline, for `.tiny` step
// previews and `FinalDecoder.tiny`. It must fit the model's latent space: the same latent
// channels as the UNet and the same pixels per latent as the model's VAE (a decoder for another
// latent space of the same shape, e.g. taesdxl for an SD 1.x model, cannot be told apart and
// decodes to wrong colours).

import Foundation

extension LikenessPipeline {
    /// Loads the tiny decoder at `url` (folder or file, see `StandaloneTinyDecoder`) and attaches it.
    public func attachTinyDecoder(_ url: URL) throws {
        try attachTinyDecoder(StandaloneTinyDecoder.load(url), from: url)
    }

    /// Attaches `decoder`, failing when it does not fit this model's latents.
    public func attachTinyDecoder(_ decoder: AutoencoderTiny, from url: URL) throws {
        let name = url.lastPathComponent
        guard decoder.config.latent_channels == unet.config.in_channels else {
            throw CheckpointError(file: name, reason: "the tiny decoder takes \(decoder.config.latent_channels) latent channels, the UNet makes \(unet.config.in_channels); it belongs to another latent space")
        }
        guard decoder.downscaleFactor == vaeFactor else {
            throw CheckpointError(file: name, reason: "the tiny decoder upsamples latents \(decoder.downscaleFactor)x, the model's VAE \(vaeFactor)x; it belongs to another latent space")
        }
        setTinyDecoder(decoder, url: url)
    }
}
