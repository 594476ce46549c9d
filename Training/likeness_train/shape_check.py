"""shape-check: the quick score of a base-model arm (RESULTS.md, "the shape arms").

Two measurements on a text-only model folder (`base-folder` writes one from any base checkpoint):
- **shape-balanced oracle**: `subjects_per_shape` held-out identities of each of the 8 shapes,
  drawn from their full description ("a large red star with blue dots in the snow, at the
  center"), one image each; the probes read shape and colour. Reports shape accuracy, colour
  accuracy and the 8 x 8 shape confusion matrix (rows: asked, columns: read). A model that
  draws a round blob every time scores 1/8 here, not the 2/8 of ToyBench's subject mix.
- **word response**: for `pairs` held-out scenes, the same scene re-rendered with only the
  shape changed and with only the body colour changed. Their VAE latents differ by d_data; the
  UNet's predicted clean latents for the three captions, from the same noisy latent at
  t in `timesteps`, differ by d_model. d_model / d_data is the share of the data's difference
  that the model draws when only that word changes (1: all of it).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from . import common, probes, world
from .pipeline import LikenessPipeline


@dataclasses.dataclass
class ShapeCheckConfig:
    """Score a base model's shapes: shape-balanced oracle images and its response to the shape word."""
    model: str = ""
    probes: str = "runs/toybox/probes"
    subjects_per_shape: int = 4
    steps: int = 20
    text_scale: float = 5.0
    pairs: int = 48
    timesteps: tuple = (750, 850, 950)
    seed: int = 4242
    out: str = ""  # JSON report (default MODEL/shape_check.json)


def main(argv=None):
    cfg = common.parse_config(ShapeCheckConfig, argv)
    if not cfg.model:
        raise ValueError("--model is required (a text-only folder: `base-folder` writes one)")
    rep = run(cfg)
    print(format_report(rep))


def balanced_subjects(per_shape: int, seed: int) -> list[world.Identity]:
    rng = np.random.default_rng(seed)
    held = world.identities("heldout")
    out = []
    for shape in world.SHAPES:
        pool = [i for i in held if i.shape == shape]
        out += [pool[int(j)] for j in rng.permutation(len(pool))[:per_shape]]
    return out


def prompt_for(identity: world.Identity, k: int) -> str:
    bg = world.BACKGROUND_NAMES[k % len(world.BACKGROUND_NAMES)]
    return f"a large {identity.description()} {world.BACKGROUNDS[bg]}, at the center"


@torch.no_grad()
def word_response(pipe: LikenessPipeline, n: int, timesteps, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    held = world.identities("heldout")
    sched = pipe.scheduler("ddim")
    alphas = sched.alphas_cumprod
    scenes = {"base": [], "shape": [], "color": []}
    for _ in range(n):
        ident = held[int(rng.integers(len(held)))]
        sc = world.sample_scene(ident, rng, companion=None, size="large")
        shape = [s for s in world.SHAPES if s != ident.shape][int(rng.integers(len(world.SHAPES) - 1))]
        colors = [c for c in world.COLOR_NAMES if c not in (ident.color, ident.pattern_color)]
        color = colors[int(rng.integers(len(colors)))]
        scenes["base"].append(sc)
        scenes["shape"].append(dataclasses.replace(sc, identity=dataclasses.replace(ident, shape=shape)))
        scenes["color"].append(dataclasses.replace(sc, identity=dataclasses.replace(ident, color=color)))
    lat, cond = {}, {}
    for k, scs in scenes.items():
        x = torch.from_numpy(np.stack([np.asarray(world.render(s)[0]) for s in scs])).float().div(127.5).sub(1)
        x = x.permute(0, 3, 1, 2).to(pipe.vae.dtype)
        lat[k] = pipe.vae.encode(x).latent_dist.mode() * pipe.vae.config.scaling_factor
        cond[k] = pipe.encode_prompt([world.caption(s) for s in scs], None)
    out = {}
    for k in ("shape", "color"):
        d_data = (lat[k] - lat["base"]).flatten(1).norm(dim=1)
        ratios, d_models = [], []
        for t in timesteps:
            a = alphas[t].to(lat["base"].dtype)
            noise = torch.randn(lat["base"].shape, generator=gen).to(lat["base"].dtype)
            xt = a.sqrt() * lat["base"] + (1 - a).sqrt() * noise
            tt = torch.full((n,), t)
            x0 = {}
            for c in ("base", k):
                eps = pipe.unet(xt, tt, encoder_hidden_states=cond[c]).sample
                x0[c] = (xt - (1 - a).sqrt() * eps) / a.sqrt()
            d_model = (x0[k] - x0["base"]).flatten(1).norm(dim=1)
            d_models.append(float(d_model.mean()))
            ratios.append(float((d_model / d_data.clamp(min=1e-6)).mean()))
        out[k] = {"d_data": float(d_data.mean()), "d_model": float(np.mean(d_models)), "ratio": float(np.mean(ratios))}
    return out


def run(cfg: ShapeCheckConfig) -> dict:
    pipe = LikenessPipeline.from_folder(cfg.model)
    pr = probes.Probes.load(cfg.probes)
    idents = balanced_subjects(cfg.subjects_per_shape, cfg.seed)
    images = [pipe(prompt_for(ident, k), steps=cfg.steps, text_scale=cfg.text_scale, seed=cfg.seed + k)
              for k, ident in enumerate(idents)]
    reads = pr.read(images)
    conf = np.zeros((len(world.SHAPES), len(world.SHAPES)), int)
    color_hits = []
    for ident, r in zip(idents, reads):
        conf[world.SHAPES.index(ident.shape), world.SHAPES.index(r["shape"])] += 1
        want = probes.identity_attributes(ident)
        color_hits.append(r["color"] == want["color"])
    rep = {"model": cfg.model, "shape_accuracy": float(np.trace(conf) / conf.sum()),
           "color_accuracy": float(np.mean(color_hits)), "confusion": conf.tolist(), "shapes": list(world.SHAPES),
           "response": word_response(pipe, cfg.pairs, cfg.timesteps, cfg.seed + 1)}
    out = Path(cfg.out) if cfg.out else Path(cfg.model) / "shape_check.json"
    out.write_text(json.dumps(rep, indent=2))
    _grid(images, Path(str(out.with_suffix("")) + "_grid.png"), per_row=cfg.subjects_per_shape)
    return rep


def _grid(images, path: Path, per_row: int):
    from PIL import Image
    s = world.SIZE
    rows = (len(images) + per_row - 1) // per_row
    canvas = Image.new("RGB", (per_row * (s + 2), rows * (s + 2)), (255, 255, 255))
    for i, im in enumerate(images):
        canvas.paste(im, ((i % per_row) * (s + 2), (i // per_row) * (s + 2)))
    canvas.resize((canvas.width * 2, canvas.height * 2), Image.NEAREST).save(path)


def format_report(rep: dict) -> str:
    r = rep["response"]
    lines = [f"shape check of {rep['model']}",
             f"shape accuracy {rep['shape_accuracy']:.3f}  colour accuracy {rep['color_accuracy']:.3f}",
             f"word response (model / data): shape {r['shape']['ratio']:.3f} ({r['shape']['d_model']:.2f} / "
             f"{r['shape']['d_data']:.2f}), colour {r['color']['ratio']:.3f} ({r['color']['d_model']:.2f} / "
             f"{r['color']['d_data']:.2f})",
             "confusion (rows asked, columns read): " + " ".join(s[:4] for s in rep["shapes"])]
    for s, row in zip(rep["shapes"], rep["confusion"]):
        lines.append(f"  {s:<8} " + " ".join(f"{v:>4}" for v in row))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
