"""Does a vision tower read shape from the object's outline, or from which training identity it is?
The clip stage trains on a fixed scene cache (2,513 training identities x 8 scenes), where an
identity's colour, pattern and pattern colour name its shape. This compares the stage's own trained
heads (pooled shape head and per-patch shape head, from the run's state.pt) and a fresh linear probe
on three sets of images:
- cache: images of the training cache itself (seen in training);
- new scenes, training identities: fresh renders of training identities;
- held-out identities: fresh renders of identities no stage trains on (what the tower report tests).

    python scripts/vision_memorization_diag.py runs/tv6/clip/state.pt

docs/RESULTS.md cites what it measured."""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import common, models, stage_clip, towers  # noqa: E402


@torch.no_grad()
def head_reads(model, heads, x, masks, patch):
    """shape predictions of the pooled head and of the coverage-weighted per-patch head"""
    pooled, patchwise = [], []
    for s in range(0, len(x), 200):
        o = model.vision_model(pixel_values=x[s:s + 200])
        pooled.append(heads.vision["shape"](o.pooler_output).argmax(1))
        cover = F.avg_pool2d(masks[s:s + 200, None], patch).flatten(1)
        logp = F.log_softmax(heads.patch_shape(o.last_hidden_state[:, 1:]), -1)
        patchwise.append((logp * cover[..., None]).sum(1).argmax(1))
    return torch.cat(pooled), torch.cat(patchwise)


def main():
    from transformers import CLIPModel

    state = torch.load(sys.argv[1], map_location="cpu", weights_only=False)["modules"]
    cache = common.SceneCache(Path(sys.argv[2]) if len(sys.argv) > 2 else
                              Path(__file__).resolve().parent.parent / "runs/e6/data/train.npz")
    tok_len = state["model"]["text_model.embeddings.token_embedding.weight"].shape[0]
    pos = state["model"]["text_model.embeddings.position_embedding.weight"].shape[0]
    cfg = models.clip_config(tok_len, pos)
    model = CLIPModel(cfg).eval()
    model.load_state_dict(state["model"])
    patch = cfg.vision_config.patch_size
    heads = stage_clip.AttributeHeads(cfg.vision_config.hidden_size, cfg.text_config.hidden_size, patch)
    heads.load_state_dict(state["heads"])
    rng = np.random.default_rng(5)
    idx = rng.choice(len(cache), 400, replace=False)
    sets = {"cache": (cache.image_tensor(idx), cache.mask_tensor(idx)[:, 0],
                      [towers.scene_of(cache.ident_keys[cache.ident[i]], cache.meta[i]) for i in idx])}
    sets["new scenes, training identities"] = towers.render_scenes(400, 2, "train", masks=True)
    sets["held-out identities"] = towers.render_scenes(400, 1, "heldout", masks=True)
    fx, fs = towers.render_scenes(1200, 0, "train")
    fit = towers.pooled_vision(model.vision_model, fx)
    print("| images | pooled shape head | per-patch shape head | linear probe (pooled) |")
    print("|---|---|---|---|")
    for name, (x, m, sc) in sets.items():
        y = torch.tensor([towers._image_label(s, "shape") for s in sc])
        p, q = head_reads(model, heads, x, m, patch)
        probe = towers.probe_attributes(fit, fs, towers.pooled_vision(model.vision_model, x), sc, ["shape"])["shape"]
        print(f"| {name} | {(p == y).float().mean():.3f} | {(q == y).float().mean():.3f} | {probe:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
