"""vae-snapshot: the weights of a VAE run in progress (runs/NAME/vae/state.pt) as a diffusers
AutoencoderKL folder, fp16 weights with a float32 config and the scaling factor the vae stage computes at its end, to commit and resume from on another
machine (`vae --init-from DIR`): training state (optimizer, RNG) stays out of git. The folder's
snapshot.json records the run's config, the step and the last held-out PSNR of its log."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import torch

from . import common, models
from .export import declare_float32


@dataclasses.dataclass
class SnapshotConfig:
    """Write a VAE run's current weights as a model folder."""
    run_dir: str = "runs/toybox"
    out: str = ""
    log: str = ""


def main(argv=None):
    run(common.parse_config(SnapshotConfig, argv))


def run(cfg: SnapshotConfig):
    from diffusers import AutoencoderKL

    if not cfg.out:
        raise SystemExit("vae-snapshot: --out DIR is required")
    vae_dir = Path(cfg.run_dir) / "vae"
    train = json.loads((vae_dir / "train_config.json").read_text())
    vae = AutoencoderKL(**models.vae_config(train.get("quick", False), channels=train.get("channels", ""),
                                            layers_per_block=train.get("layers_per_block", 0),
                                            latent_channels=train.get("latent_channels", 4)))
    state = torch.load(vae_dir / "state.pt", map_location="cpu", weights_only=False)
    vae.load_state_dict(state["modules"]["vae"])
    if train.get("decoder_only"):
        # a decoder-only run keeps its starting VAE's latent space and scaling factor
        scaling = AutoencoderKL.load_config(train["init_from"])["scaling_factor"]
    else:
        # the scaling factor the vae stage would write at its end, from the same weights and scenes
        from .stage_vae import latent_std
        data = common.SceneCache(common.ensure_data(Path(cfg.run_dir), quick=train.get("quick", False))["train"])
        scaling = 1.0 / latent_std(vae.eval(), data, torch.device("cpu"))
    vae.register_to_config(scaling_factor=scaling)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    vae.half().save_pretrained(out, safe_serialization=True)
    declare_float32(out)
    evals = []
    if cfg.log and Path(cfg.log).exists():
        evals = [(int(m.group(1)), int(m.group(2)), float(m.group(3))) for m in
                 re.finditer(r"eval step (\d+) images (\d+) heldout_psnr_db ([\d.]+)", Path(cfg.log).read_text())]
    (out / "snapshot.json").write_text(json.dumps({
        "step": int(state["step"]), "train_config": train,
        "heldout_psnr_db": [{"step": s, "images": i, "psnr_db": p} for s, i, p in evals]}, indent=2) + "\n")
    print(f"wrote {out} (step {state['step']})", flush=True)


if __name__ == "__main__":
    main()
