"""Does a base UNet denoise its training images better than new ones? The base stage draws every
batch from one fixed scene cache (20,104 images); if the UNet has learned those images rather than
the world, its denoising loss is lower on them than on new scenes. Same noise and timesteps for
every set (epsilon MSE, no weighting), 512 images each:
- cache: images of the training cache (seen in training);
- new scenes, training identities: fresh renders of training identities;
- held-out identities: fresh renders of identities no stage trains on.

    cd Training && python ../scripts/base_memorization_diag.py --run-dir ../runs/e6 --unet checkpoints/base-t5/unet

docs/RESULTS.md cites what it measured."""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import common, stage_base, towers, world  # noqa: E402

TIMESTEPS = (50, 200, 400, 600, 800, 950)


@torch.no_grad()
def losses(unet, vae, text, tok, x, captions, noise, sched) -> list[float]:
    lat = []
    for s in range(0, len(x), 128):
        lat.append(vae.encode(x[s:s + 128]).latent_dist.mode() * vae.config.scaling_factor)
    x0 = torch.cat(lat)
    cond = stage_base.encode_texts(text, tok, captions, "cpu")
    out = []
    for t in TIMESTEPS:
        err = 0.0
        for s in range(0, len(x0), 64):
            tt = torch.full((len(x0[s:s + 64]),), t)
            xt = sched.add_noise(x0[s:s + 64], noise[s:s + 64], tt)
            pred = unet(xt, tt, encoder_hidden_states=cond[s:s + 64]).sample
            err += F.mse_loss(pred, noise[s:s + 64], reduction="sum").item()
        out.append(err / noise.numel())
    return out


def main():
    from diffusers import UNet2DConditionModel

    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--unet", nargs="+", required=True)
    ap.add_argument("--n", type=int, default=512)
    a = ap.parse_args()
    torch.manual_seed(0)
    vae, text, tok = stage_base.load_frozen(Path(a.run_dir), "cpu")
    cache = common.SceneCache(common.data_paths(Path(a.run_dir))["train"])
    idx = np.random.default_rng(5).choice(len(cache), a.n, replace=False)
    sets = {"cache": (cache.image_tensor(idx), [cache.full[i] for i in idx])}
    for name, seed, split in (("new scenes, training identities", 2, "train"), ("held-out identities", 1, "heldout")):
        x, scenes = towers.render_scenes(a.n, seed, split)
        sets[name] = (x, [world.caption(s) for s in scenes])
    sched = stage_base.noise_scheduler()
    noise = torch.randn(a.n, vae.config.latent_channels, 16, 16, generator=torch.Generator().manual_seed(1))
    for path in a.unet:
        unet = UNet2DConditionModel.from_pretrained(path).eval()
        print(f"{path}: epsilon MSE at t = {', '.join(map(str, TIMESTEPS))}")
        print("| images | " + " | ".join(f"t={t}" for t in TIMESTEPS) + " | mean |")
        print("|---|" + "---|" * (len(TIMESTEPS) + 1))
        for name, (x, caps) in sets.items():
            ls = losses(unet, vae, text, tok, x, caps, noise, sched)
            print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in ls) + f" | {np.mean(ls):.4f} |", flush=True)


if __name__ == "__main__":
    main()
