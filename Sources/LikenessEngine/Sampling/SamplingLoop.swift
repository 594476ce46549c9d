// The sampling loop the pipeline calls. Matches diffusers' StableDiffusionPipeline denoising
// loop for one latent batch (without guidance, which belongs in the caller's model closure):
//   latents = torch.randn(shape, generator=g) * init_noise_sigma
//   for t in scheduler.timesteps:
//       out = model(scheduler.scale_model_input(latents, t), t)
//       latents = scheduler.step(out, t, latents, generator=g).prev_sample
// with DDIMScheduler (eta 0), EulerDiscreteScheduler, EulerAncestralDiscreteScheduler or
// DPMSolverMultistepScheduler as chosen by `SamplingPlan.kind`.
//
// Contract:
//  - `model(modelInput, timestep)` receives the scaled latents (diffusers' scale_model_input
//    output, flat, same count as the latents) and the timestep value diffusers passes to the
//    UNet at that step (integral for ddim / dpmpp-2m, possibly fractional for euler with
//    "linspace" spacing or Karras sigmas). It returns the raw model output (ε or v, per the
//    plan's prediction type), same count. Classifier-free guidance and any conditioning live
//    inside it.
//  - `onStep` is called after every step with the latents in diffusers' representation (what
//    `scheduler.step(...).prev_sample` holds) and the x0 prediction used by that step (diffusers'
//    pred_original_sample; for dpmpp-2m the converted model output). It may throw to stop — use
//    `GenerationCancelled` or the caller's own error; the error propagates unchanged.
//  - The ancestral sampler draws its per-step noise from `generator`, continuing the stream the
//    initial latents came from, like diffusers with a single torch.Generator.
//  - The result is the final latents in diffusers' representation (ready for the VAE after
//    dividing by the VAE's scaling factor).
//  - Several seeds in one batch (`generators` with N entries, latents N equal blocks): every
//    sampler is elementwise, and the ancestral sampler's per-step noise is drawn block by block,
//    each from its own generator, as diffusers does with a list of generators. So each block
//    follows exactly the path its seed takes alone.
//  - lcm draws its per-step noise the same way (diffusers LCMScheduler.step with the generator).
// Image-to-image runs a plan sliced by `SamplingPlan.starting(at:)` from latents noised by
// `SamplingPlan.noised` (ImageToImage.swift); the loop itself is the same.

/// The model's ε or v for scaled latents at a timestep.
public typealias ModelFunction = (_ modelInput: [Float], _ timestep: Float) throws -> [Float]

/// Initial latents: `torch.randn(count, generator=g) * init_noise_sigma`.
public func initialLatents(plan: SamplingPlan, count: Int, generator: inout TorchGenerator) -> [Float] {
    let noise = generator.randn(count)
    return plan.initNoiseSigma == 1 ? noise : noise.map { $0 * plan.initNoiseSigma }
}

/// Runs the plan from diffusers-style initial latents (see `initialLatents`), one seed.
public func runSampling(plan: SamplingPlan, latents initial: [Float], generator: inout TorchGenerator,
                        model: @escaping ModelFunction,
                        onStep: ((StepEvent) throws -> Void)? = nil) throws -> [Float] {
    var generators = [generator]
    defer { generator = generators[0] }
    return try runSampling(plan: plan, latents: initial, generators: &generators, model: model, onStep: onStep)
}

/// Runs the plan over N seeds at once: `initial` holds N equal blocks, block n drawn from (and
/// continued with) `generators[n]`.
public func runSampling(plan: SamplingPlan, latents initial: [Float], generators: inout [TorchGenerator],
                        model: @escaping ModelFunction,
                        onStep: ((StepEvent) throws -> Void)? = nil) throws -> [Float] {
    let blocks = generators.count
    guard blocks > 0, initial.count % blocks == 0 else {
        throw SamplingError.latentCountMismatch(expected: blocks * max(1, initial.count / max(blocks, 1)), got: initial.count)
    }
    guard plan.stepCount > 0 else { return initial }
    let sigmas = plan.sigmas
    // Into VE coordinates.
    var x = initial
    if plan.latentScaling == .variancePreserving {
        let scale = (sigmas[0] * sigmas[0] + 1).squareRoot()
        for i in x.indices { x[i] *= scale }
    }
    let denoiser = Parameterization.denoiser(model: model, timesteps: plan.timesteps, prediction: plan.predictionType)
    let toDiffusers: ([Float], Float) -> [Float] = { values, sigma in
        guard plan.latentScaling == .variancePreserving else { return values }
        let scale = (sigma * sigma + 1).squareRoot()
        return values.map { $0 / scale }
    }
    let report: SamplerCallback? = onStep.map { onStep in
        { step in
            try onStep(StepEvent(step: step.index + 1, total: step.count, timestep: plan.timesteps[step.index],
                                 latents: toDiffusers(step.x, step.sigma), denoised: step.denoised))
        }
    }
    // Per-step noise of the ancestral samplers: block by block, each seed from its own generator.
    func drawNoise(_ count: Int) -> [Float] {
        let per = count / blocks
        var out = [Float](); out.reserveCapacity(count)
        for b in 0..<blocks { out += generators[b].randn(per) }
        return out
    }
    let result: [Float]
    switch plan.kind {
    case .euler:
        result = try EulerSampler.sample(denoiser: denoiser, x: x, sigmas: sigmas, callback: report)
    case .eulerAncestral:
        result = try EulerAncestralSampler.sample(denoiser: denoiser, x: x, sigmas: sigmas, noise: drawNoise, callback: report)
    case .lcm:
        guard let scalings = plan.consistency else { throw SamplingError.invalidSchedule("LCM plan without its scalings") }
        result = try LCMSampler.sample(denoiser: denoiser, x: x, sigmas: sigmas, scalings: scalings,
                                       clip: plan.settings.clipSampleRange.map { Float($0) }, noise: drawNoise, callback: report)
    case .ddim:
        result = try DDIMSampler.sample(denoiser: denoiser, x: x, sigmas: sigmas, targets: plan.ddimTargets ?? Array(sigmas.dropFirst()),
                                        clip: plan.settings.clipSampleRange.map { Float($0) }, callback: report)
    case .dpmpp2m:
        result = try DPMSolverSampler.sample(denoiser: denoiser, x: x, sigmas: sigmas,
                                             firstOrderFinalStep: plan.firstOrderFinalStep, callback: report)
    }
    return toDiffusers(result, plan.landingSigma(afterStep: plan.stepCount - 1))
}
