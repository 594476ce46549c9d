"""What background a model's first denoising step commits to for a prompt: for N noise draws, the
guided prediction of the clean latent at the first sampled timestep (text only, classifier-free
guidance against the empty prompt), read by the nearest background mean latent (each background's
training latents, pooled to 4 x 4). docs/RESULTS.md, "Short captions".

    python scripts/first_step_background.py --model runs/x2/folder --prompt "a object on the beach" \
        [--prompt ...] [--run-dir runs/toybox] [--draws 128] [--no-low-frequencies]

--no-low-frequencies removes the noise's 4 x 4 component (and rescales it to unit variance), to
ask whether the starting noise's low frequencies pick the background.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Training"))
from likeness_train import common  # noqa: E402
from likeness_train.stage_base import cached_latents, noise_scheduler  # noqa: E402


def pool(x: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x, 4).flatten(1)


def main(argv=None):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a model folder (unet, vae, text_encoder, tokenizer)")
    ap.add_argument("--prompt", action="append", required=True)
    ap.add_argument("--run-dir", default=str(ROOT / "runs" / "toybox"), help="whose scene cache gives the means")
    ap.add_argument("--draws", type=int, default=128)
    ap.add_argument("--t", type=int, default=951, help="the first sampled timestep (20 DDIM steps, leading)")
    ap.add_argument("--text-scale", type=float, default=5.0)
    ap.add_argument("--no-low-frequencies", action="store_true")
    args = ap.parse_args(argv)
    model, run_dir = Path(args.model), Path(args.run_dir)
    data = common.SceneCache(common.data_paths(run_dir)["train"])
    vae = AutoencoderKL.from_pretrained(model / "vae", torch_dtype=torch.float32).eval().requires_grad_(False)
    latents = cached_latents(vae, data, torch.device("cpu"), run_dir / "vae" / f"latents-{model.name}.pt")
    backgrounds = [m["background"] for m in data.meta]
    names = sorted(set(backgrounds))
    means = torch.stack([pool(latents[[i for i, b in enumerate(backgrounds) if b == n]]).mean(0) for n in names])
    text = CLIPTextModel.from_pretrained(model / "text_encoder", torch_dtype=torch.float32).eval()
    tok = common.load_tokenizer(model / "tokenizer")
    unet = UNet2DConditionModel.from_pretrained(model / "unet", torch_dtype=torch.float32).eval()
    a = noise_scheduler().alphas_cumprod[args.t]
    noise = torch.randn(args.draws, *latents.shape[1:], generator=torch.Generator().manual_seed(0))
    if args.no_low_frequencies:
        noise = noise - F.interpolate(F.adaptive_avg_pool2d(noise, 4), size=noise.shape[-2:], mode="nearest")
        noise = noise / noise.std()
    xt = noise * (1 - a).sqrt()  # the sampler's start: the noise at t, no signal
    with torch.no_grad():
        def states(prompt):
            return text(input_ids=common.tokenize(tok, [prompt])).last_hidden_state.expand(args.draws, -1, -1)
        e_u = unet(xt, args.t, encoder_hidden_states=states("")).sample
        for prompt in args.prompt:
            e_c = unet(xt, args.t, encoder_hidden_states=states(prompt)).sample
            eps = e_u + args.text_scale * (e_c - e_u)
            x0 = (xt - (1 - a).sqrt() * eps) / a.sqrt()
            read = collections.Counter(names[k] for k in torch.cdist(pool(x0), means).argmin(1).tolist())
            print(f"{prompt}: " + ", ".join(f"{n} {c}" for n, c in read.most_common()), flush=True)


if __name__ == "__main__":
    main()
