"""Textual Inversion, the optimisation baseline of ToyBench (Gal et al. 2022, adapted to our slots).

Everything in the model folder stays frozen; only K input embeddings are learned, put at the
placeholder's K slots exactly as the object encoder's tokens are (models.encode_prompts, injection
"input_embedding"), so the learned tokens drop into the reference pipeline unchanged. The loss is
the stage-3/4 denoising loss (epsilon MSE, t uniform over the 1000 training steps, DDPM schedule)
on the single reference image, augmented: `views` random crops (share `min_crop`..1 of the side,
resized back) with random horizontal flips, encoded once by the VAE. Prompts are neutral templates
(the user gives only an image): "a photo of <obj>", "a picture of <obj>", "a <obj>".
The K tokens start at the input embedding of the folder's null word (`object`) plus small noise
(identical starts would stay identical).

Deviation from the paper's setup: one image instead of 3-5, and the UNet and text encoder are the
model folder's (tuned jointly with the encoder), so TI and the encoder share the same generator.

    python -m likeness_train textual-inversion --model Models/toybox --image ref.png --out ti.safetensors
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import common, models

TEMPLATES = ["a photo of <obj>", "a picture of <obj>", "a <obj>"]


@dataclasses.dataclass
class TIConfig:
    """Learn K object tokens for one reference image by textual inversion."""
    model: str = "Models/toybox"
    image: str = ""
    out: str = ""  # tokens .safetensors (a .json with steps and seconds goes beside it)
    steps: int = 150
    lr: float = 5e-3
    batch_size: int = 8
    views: int = 16
    min_crop: float = 0.85
    init_noise: float = 0.01
    templates: list = dataclasses.field(default_factory=lambda: list(TEMPLATES))
    seed: int = 0


def main(argv=None):
    from .pipeline import LikenessPipeline

    cfg = common.parse_config(TIConfig, argv)
    if not cfg.image or not cfg.out:
        raise ValueError("textual-inversion needs --image (the reference PNG) and --out (the tokens file)")
    if not Path(cfg.image).exists():
        raise FileNotFoundError(f"reference image {cfg.image} not found")
    if not Path(cfg.model).is_dir():
        raise FileNotFoundError(f"model folder {cfg.model} not found")
    pipe = LikenessPipeline.from_folder(cfg.model)
    tokens, info = invert(pipe, Image.open(cfg.image).convert("RGB"), cfg, log_every=25)
    save_tokens(Path(cfg.out), tokens, info)
    print(f"wrote {cfg.out}: {cfg.steps} steps in {info['seconds']:.1f}s, final loss {info['loss']:.4f}", flush=True)


def views(image: Image.Image, n: int, min_crop: float, rng: np.random.Generator) -> torch.Tensor:
    """n augmented views [n, 3, S, S] in [-1, 1]: view 0 is the image itself, the rest random crops
    (square, side share min_crop..1) resized back, each flipped horizontally with probability 1/2."""
    s = image.size[0]
    out = []
    for i in range(n):
        im = image
        if i > 0:
            side = int(round(s * rng.uniform(min_crop, 1.0)))
            x0, y0 = int(rng.integers(0, s - side + 1)), int(rng.integers(0, s - side + 1))
            im = image.crop((x0, y0, x0 + side, y0 + side)).resize((s, s), Image.BILINEAR)
            if rng.random() < 0.5:
                im = im.transpose(Image.FLIP_LEFT_RIGHT)
        out.append(torch.from_numpy(np.asarray(im, np.float32) / 127.5 - 1).permute(2, 0, 1))
    return torch.stack(out)


def initial_tokens(pipe, k: int, word: str, noise: float, gen: torch.Generator) -> torch.Tensor:
    tm = getattr(pipe.text_encoder, "text_model", pipe.text_encoder)
    ids = pipe.tokenizer(word, add_special_tokens=False)["input_ids"]
    if len(ids) != 1 or ids[0] == pipe.tokenizer.unk_token_id:
        raise ValueError(f"initial word {word!r} is not one known token of {pipe.folder}/tokenizer")
    emb = tm.embeddings.token_embedding.weight[ids[0]].detach().float()  # [D]
    base = emb.expand(k, -1).clone()
    return (base + noise * emb.norm() / emb.numel() ** 0.5 * torch.randn(base.shape, generator=gen))[None]


def invert(pipe, image: Image.Image, cfg: TIConfig, log_every: int = 0) -> tuple[torch.Tensor, dict]:
    """-> learned tokens [1, K, D] and {"steps", "seconds", "loss", "initial_loss"}.
    The pipeline's modules are left frozen and unchanged."""
    from .stage_base import noise_scheduler

    enc = pipe.object_encoder
    if enc is None:
        raise ValueError(f"{pipe.folder} has no object_encoder/: textual inversion takes K and the null word from it")
    if enc.cfg.injection != "input_embedding":
        raise ValueError(f"{pipe.folder} injects object tokens at {enc.cfg.injection!r}; textual inversion learns "
                         f"input embeddings and needs injection 'input_embedding'")
    if not cfg.templates or any(models.split_placeholder(t, enc.cfg.placeholder_token) is None for t in cfg.templates):
        raise ValueError(f"every TI template must contain {enc.cfg.placeholder_token}: {cfg.templates}")
    t0 = time.time()
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    unet, text, vae = pipe.unet, pipe.text_encoder, pipe.vae
    dtype = unet.dtype
    flags = [(m, [p.requires_grad for p in m.parameters()], m.training) for m in (unet, text, vae)]
    for m, _, _ in flags:
        m.requires_grad_(False).eval()
    try:
        with torch.no_grad():
            x = views(image.convert("RGB"), cfg.views, cfg.min_crop, rng).to(dtype)
            lat = vae.encode(x).latent_dist.mode() * vae.config.scaling_factor  # [V, 4, h, w]
        tokens = initial_tokens(pipe, enc.cfg.num_tokens, enc.cfg.null_word, cfg.init_noise, gen)
        tokens = tokens.to(dtype).requires_grad_(True)
        opt = torch.optim.AdamW([tokens], lr=cfg.lr, weight_decay=0.0)
        sched = noise_scheduler()
        acp = sched.alphas_cumprod.to(dtype)
        losses = []
        for step in range(cfg.steps):
            b = cfg.batch_size
            vi = torch.randint(len(lat), (b,), generator=gen)
            ti = torch.randint(len(cfg.templates), (b,), generator=gen)
            prompts = [cfg.templates[int(i)] for i in ti]
            x0 = lat[vi]
            noise = torch.randn(x0.shape, generator=gen).to(dtype)
            t = torch.randint(0, sched.config.num_train_timesteps, (b,), generator=gen)
            a = acp[t].view(-1, 1, 1, 1)
            xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
            cond = models.encode_prompts(text, pipe.tokenizer, prompts, tokens.expand(b, -1, -1), "input_embedding",
                                         None, enc.cfg.placeholder_token)
            loss = F.mse_loss(unet(xt, t, encoder_hidden_states=cond).sample.float(), noise.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if log_every and ((step + 1) % log_every == 0 or step + 1 == cfg.steps):
                print(f"TI step {step + 1}/{cfg.steps} loss {np.mean(losses[-log_every:]):.4f}", flush=True)
    finally:
        for m, req, training in flags:
            for p, r in zip(m.parameters(), req):
                p.requires_grad_(r)
            m.train(training)
    window = max(1, min(25, len(losses) // 4)) if losses else 1
    info = {"steps": cfg.steps, "seconds": time.time() - t0,
            "loss": float(np.mean(losses[-window:])) if losses else float("nan"),
            "initial_loss": float(np.mean(losses[:window])) if losses else float("nan"),
            "lr": cfg.lr, "batch_size": cfg.batch_size, "views": cfg.views, "templates": list(cfg.templates)}
    return tokens.detach()[:1], info


def save_tokens(path: Path, tokens: torch.Tensor, info: dict):
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.safetensors")
    save_file({"object_tokens": tokens.float().contiguous()}, str(tmp))
    os.replace(tmp, path)
    meta = path.with_suffix(".json")
    t = meta.with_name(meta.name + ".tmp")
    t.write_text(json.dumps(info, indent=2))
    os.replace(t, meta)


if __name__ == "__main__":
    main()
