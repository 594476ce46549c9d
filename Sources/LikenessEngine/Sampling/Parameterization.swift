// The parameterization: how a noise-prediction model becomes a denoiser D(x, σ) ≈ x0 in
// variance-exploding coordinates (x = x0 + σ·ε), as k-diffusion's wrappers and diffusers'
// Euler schedulers do it:
//   model input  = x / sqrt(σ² + 1)                      (scale_model_input)
//   epsilon:  x0 = x - σ · model_output
//   v:        x0 = model_output · (-σ / sqrt(σ² + 1)) + x / (σ² + 1)
// Float32 throughout, in diffusers' order of operations. Limits: "sample" prediction is not
// offered (rejected by SchedulerConfig.resolved).

/// A k-diffusion style denoiser: `(x, σ, step index) -> x0 estimate`, x in VE coordinates.
public typealias Denoiser = (_ x: [Float], _ sigma: Float, _ step: Int) throws -> [Float]

public enum Parameterization {
    /// c_in = 1 / sqrt(σ² + 1) applied to x (diffusers `scale_model_input`).
    public static func modelInput(_ x: [Float], sigma: Float) -> [Float] {
        let scale = (sigma * sigma + 1).squareRoot()
        return x.map { $0 / scale }
    }

    /// x0 from the raw model output.
    public static func denoised(x: [Float], sigma: Float, modelOutput: [Float], prediction: PredictionType) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        switch prediction {
        case .epsilon:
            for i in out.indices { out[i] = x[i] - sigma * modelOutput[i] }
        case .vPrediction:
            let cOut = -sigma / (sigma * sigma + 1).squareRoot()
            let cSkipDivisor = sigma * sigma + 1
            for i in out.indices { out[i] = modelOutput[i] * cOut + x[i] / cSkipDivisor }
        }
        return out
    }

    /// Wraps a model `(input, timestep) -> eps or v` into a `Denoiser` for a plan's timesteps.
    public static func denoiser(
        model: @escaping (_ modelInput: [Float], _ timestep: Float) throws -> [Float],
        timesteps: [Float], prediction: PredictionType
    ) -> Denoiser {
        return { x, sigma, step in
            let output = try model(modelInput(x, sigma: sigma), timesteps[step])
            guard output.count == x.count else {
                throw SamplingError.modelOutputCountMismatch(expected: x.count, got: output.count, step: step)
            }
            return denoised(x: x, sigma: sigma, modelOutput: output, prediction: prediction)
        }
    }
}
