"""Where a vision tower keeps the object's attributes: linear probes (towers.linear_probe, 1,200
renders of training identities to fit, 400 of held-out ones to test, as the tower report) on four
readouts of the same tower:
- pooled: the pooled output (what the object encoder's projection reads today);
- patch mean: the mean of the last layer's patch states;
- object patches: the mean of the patch states weighted by the share of each 8x8 patch the object
  covers (its render mask), i.e. what an attention pooling that found the object could read;
- patch grid: all patch states side by side (64 x 128 features; an upper reading for any pooling).

    python scripts/vision_readout_diag.py Training/checkpoints/clip-toybox4/vision_model [more folders]

docs/RESULTS.md cites what it measured."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import towers  # noqa: E402

ATTRS = ("shape", "color", "pattern", "pattern_color")


@torch.no_grad()
def readouts(vision, x, masks, patch: int):
    out = {"pooled": [], "patch mean": [], "object patches": [], "patch grid": []}
    for s in range(0, len(x), 200):
        o = vision(pixel_values=x[s:s + 200])
        states = o.last_hidden_state[:, 1:]  # [B, P, D]
        cover = F.avg_pool2d(masks[s:s + 200, None], patch).flatten(1)  # [B, P] share of each patch
        w = cover / cover.sum(1, keepdim=True).clamp_min(1e-6)
        out["pooled"].append(o.pooler_output)
        out["patch mean"].append(states.mean(1))
        out["object patches"].append((states * w[..., None]).sum(1))
        out["patch grid"].append(states.flatten(1))
    return {k: torch.cat(v) for k, v in out.items()}


def main():
    from transformers import CLIPVisionModel

    torch.manual_seed(0)
    fx, fm, fs = towers.render_scenes(1200, 0, "train", masks=True)
    tx, tm, ts = towers.render_scenes(400, 1, "heldout", masks=True)
    for folder in sys.argv[1:]:
        vision = CLIPVisionModel.from_pretrained(folder).eval()
        patch = vision.config.patch_size
        fr, tr = readouts(vision, fx, fm, patch), readouts(vision, tx, tm, patch)
        print(f"{folder}")
        print("| readout | " + " | ".join(ATTRS) + " |")
        print("|---|" + "---|" * len(ATTRS))
        for name in fr:
            accs = towers.probe_attributes(fr[name], fs, tr[name], ts, ATTRS)
            print(f"| {name} | " + " | ".join(f"{accs[a]:.3f}" for a in ATTRS) + " |", flush=True)


if __name__ == "__main__":
    main()
