"""Can the vision tower learn shape at all? Trains the Toybox CLIP vision tower alone, from scratch, on the
cached scenes with only the shape head's loss (or every attribute head's; with --dense, also the clip
stage's per-patch mask and shape targets, `--mask-weight 1 --patch-shape-weight 1
--vision-shape-weight 4`) and prints the shape head's accuracy on its own training batches; at the
end, the tower report's linear probe on the pooled output (1,200 renders of training identities to
fit, 400 held-out to test) (docs/RESULTS.md, "The towers").

    cd Training && python ../scripts/vision_shape_diag.py --run-dir ../runs/t3 --patch 8 --heads shape
    cd Training && python ../scripts/vision_shape_diag.py --run-dir ../runs/e6 --patch 4 --heads all --dense --steps 600
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Training"))
from likeness_train import common, models, stage_clip, towers  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run-dir", default="../runs/t3")
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--heads", choices=["shape", "all"], default="shape")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=0, help="linear learning-rate warm-up steps")
    p.add_argument("--layers", type=int, default=0, help="transformer layers (0: the model's)")
    p.add_argument("--dense", action="store_true", help="add the per-patch mask and shape targets (shape head x4)")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop training after this much wall time")
    a = p.parse_args()
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    cfg = models.clip_vision_config()
    cfg["patch_size"] = a.patch
    if a.layers:
        cfg["num_hidden_layers"] = a.layers
    vision = CLIPVisionModel(CLIPVisionConfig(**cfg))
    heads = stage_clip.AttributeHeads(cfg["hidden_size"], cfg["hidden_size"], a.patch)
    data = common.SceneCache(Path(a.run_dir) / "data" / "train.npz")
    scenes = [towers.scene_of(data.ident_keys[data.ident[i]], data.meta[i]) for i in range(len(data))]
    params = list(vision.parameters()) + list(heads.vision.parameters())
    if a.dense:
        params += list(heads.mask.parameters()) + list(heads.patch_shape.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / a.warmup) if a.warmup else 1.0)
    gen = torch.Generator().manual_seed(0)
    t0, accs = time.time(), []
    for step in range(1, a.steps + 1):
        idx = torch.randint(len(data), (128,), generator=gen).numpy()
        labels = stage_clip.batch_labels([scenes[i] for i in idx], True)
        out = vision(pixel_values=data.image_tensor(idx))
        pooled = out.pooler_output
        names = ["shape"] if a.heads == "shape" else list(labels)
        loss = sum(F.cross_entropy(heads.vision[n](pooled), labels[n]) * (4 if a.dense and n == "shape" else 1)
                   for n in names)
        if a.dense:
            masks = data.mask_tensor(idx)[:, 0]
            patches = out.last_hidden_state[:, 1:]
            loss = loss + heads.mask_loss(patches, masks, a.patch) + heads.patch_shape_loss(patches, masks, a.patch,
                                                                                          labels["shape"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        accs.append(float((heads.vision["shape"](pooled).argmax(1) == labels["shape"]).float().mean()))
        if step % 50 == 0:
            print(f"patch {a.patch} heads {a.heads}{' dense' if a.dense else ''} step {step} shape accuracy on "
                  f"training batches {np.mean(accs[-50:]):.3f} ({time.time() - t0:.0f}s)", flush=True)
        if a.max_minutes and time.time() - t0 > 60 * a.max_minutes:
            break
    vision.eval()
    fit_x, fit_s = towers.render_scenes(1200, 0, "train")
    test_x, test_s = towers.render_scenes(400, 1, "heldout")
    probe = towers.probe_attributes(towers.pooled_vision(vision, fit_x), fit_s, towers.pooled_vision(vision, test_x),
                                    test_s, ("shape", "color", "pattern", "pattern_color"))
    print(f"patch {a.patch} after {step} steps of 128 ({time.time() - t0:.0f}s): held-out linear probe on the pooled "
          f"output: " + ", ".join(f"{k} {v:.3f}" for k, v in probe.items()), flush=True)


if __name__ == "__main__":
    main()
