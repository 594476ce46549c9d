"""Where a Likeness model's object encoder loses an attribute on its way to the UNet: linear probes
(towers.linear_probe; 1,200 renders of training identities to fit, 400 of held-out identities to
test, as the tower report) on three readouts of the same reference images, in the order the
conditioning is built:
- pooled: the model's own vision tower, pooled output (what the projection reads);
- object tokens: the projection's K tokens side by side (what enters the text encoder at <obj>);
- context at <obj>: the text encoder's final states at the K slots of "a <obj> on the beach" (what
  the UNet's cross-attention reads for the object).
An attribute that reads well in the first and badly in the second is lost in the projection; well in
the third and badly in the images (ToyBench), between the conditioning and the pixels.

--response measures that last step: for pairs of scenes that differ in one attribute only (32 held-out
pairs per attribute, large objects), how far the UNet's predicted clean latent moves (RMS over the
latent, t = 800 and 900, the same noisy latent for both) when the pair's object tokens are swapped
(references: the two renders; prompt: the scene's caption with <obj>), when the caption's words are
swapped (the full captions, no tokens), and how far the two renders' latents are apart in the data.

    python scripts/token_probe_diag.py Models/toybox [runs/t12/model ...] [--response] [--out R.json]

docs/RESULTS.md cites what it measured."""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import models, probes, sources, towers  # noqa: E402
from likeness_train.pipeline import LikenessPipeline  # noqa: E402

ATTRS = ("shape", "color", "pattern", "pattern_color")
PROMPT = "a <obj> on the beach"


@torch.no_grad()
def readouts(pipe: LikenessPipeline, x: torch.Tensor, batch: int = 200) -> dict:
    enc = pipe.object_encoder
    out = {"pooled": [], "object tokens": [], "context at <obj>": []}
    injection = enc.cfg.injection
    slot = getattr(enc, "slot_embedding", None)
    k = enc.cfg.num_tokens
    _, start = models.slot_ids(pipe.tokenizer, PROMPT, enc.cfg.placeholder_token, k,
                               getattr(pipe.text_encoder, "text_model", pipe.text_encoder)
                               .embeddings.position_embedding.weight.shape[0])
    for s in range(0, len(x), batch):
        images = x[s:s + batch]
        pooled = enc.vision_model(pixel_values=enc.preprocess(images)).pooler_output
        tokens = enc.projection(pooled)
        states = models.encode_prompts(pipe.text_encoder, pipe.tokenizer, [PROMPT] * len(images), tokens,
                                       injection, slot, enc.cfg.placeholder_token)
        out["pooled"].append(pooled)
        out["object tokens"].append(tokens.flatten(1))
        out["context at <obj>"].append(states[:, start:start + k].flatten(1))
    return {name: torch.cat(v) for name, v in out.items()}


@torch.no_grad()
def response(pipe: LikenessPipeline, attribute: str, pairs: int = 32, seed: int = 5) -> dict:
    import numpy as np
    from diffusers import DDPMScheduler

    from likeness_train import world

    rng = np.random.default_rng(seed)
    sched = DDPMScheduler.from_config(pipe.scheduler_config)
    acp, kind = sched.alphas_cumprod, sched.config.prediction_type
    sf = pipe.vae.config.scaling_factor
    enc = pipe.object_encoder
    moved = {"tokens": [], "words": [], "data": []}
    done = 0
    while done < pairs:
        a = world.sample_scene(world.sample_identity(rng, "heldout"), rng)
        a = towers.edit(a, "size", "large")
        edits = towers.one_attribute_edits(a, attribute)
        if not edits:
            continue
        b = edits[int(rng.integers(len(edits)))]
        imgs = probes.to_input([world.render(sc)[0] for sc in (a, b)])
        z = pipe.vae.encode(imgs).latent_dist.mean * sf
        tokens = enc(imgs)
        ctx_tok = models.encode_prompts(pipe.text_encoder, pipe.tokenizer,
                                        [world.caption(a, placeholder=enc.cfg.placeholder_token)] * 2, tokens,
                                        enc.cfg.injection, getattr(enc, "slot_embedding", None),
                                        enc.cfg.placeholder_token)
        ctx_words = models.encode_prompts(pipe.text_encoder, pipe.tokenizer, [world.caption(a), world.caption(b)],
                                          None)
        g = torch.Generator().manual_seed(done)
        noise = torch.randn(z[:1].shape, generator=g)
        for t in (800, 900):
            al = acp[t]
            xt = (al.sqrt() * z[:1] + (1 - al).sqrt() * noise).expand(2, -1, -1, -1)
            for name, ctx in (("tokens", ctx_tok), ("words", ctx_words)):
                x0 = sources.predicted_x0(kind, xt, pipe.unet(xt, t, encoder_hidden_states=ctx).sample, al)
                moved[name].append((x0[0] - x0[1]).pow(2).mean().sqrt().item())
        moved["data"].append((z[0] - z[1]).pow(2).mean().sqrt().item())
        done += 1
    return {k: float(np.mean(v)) for k, v in moved.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--fit", type=int, default=1200)
    ap.add_argument("--test", type=int, default=400)
    ap.add_argument("--response", action="store_true", help="also the UNet's response to tokens and words")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    torch.manual_seed(0)
    fit_x, fit_scenes = towers.render_scenes(args.fit, 11, "train")
    test_x, test_scenes = towers.render_scenes(args.test, 12, "heldout")
    result = {}
    for folder in args.models:
        pipe = LikenessPipeline.from_folder(Path(folder))
        fit, test = readouts(pipe, fit_x), readouts(pipe, test_x)
        result[folder] = {name: towers.probe_attributes(fit[name], fit_scenes, test[name], test_scenes, ATTRS)
                          for name in fit}
        print(f"{folder}:")
        print(f"  {'readout':18s}" + "".join(f"{a:>15s}" for a in ATTRS))
        for name, probe in result[folder].items():
            print(f"  {name:18s}" + "".join(f"{probe[a]:15.3f}" for a in ATTRS), flush=True)
        if args.response:
            print(f"  {'x0 moves by (RMS)':18s}{'tokens':>10s}{'words':>10s}{'data':>10s}{'tokens/words':>14s}")
            for attribute in ("shape", "color", "pattern"):
                r = response(pipe, attribute)
                result[folder][f"response {attribute}"] = r
                print(f"  {attribute:18s}{r['tokens']:10.3f}{r['words']:10.3f}{r['data']:10.3f}"
                      f"{r['tokens'] / r['words']:14.2f}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
