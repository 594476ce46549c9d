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

    python scripts/token_probe_diag.py Models/toybox [runs/t11/model ...] [--out R.json]

docs/RESULTS.md cites what it measured."""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import models, towers  # noqa: E402
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--fit", type=int, default=1200)
    ap.add_argument("--test", type=int, default=400)
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
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
