"""base-folder: a text-only model folder (no object encoder) from a run's clip/, vae/ and a base
stage checkpoint, so ToyBench's text-only oracle row can score the base model at any point of its
training (the learning curve of the base stage). The UNet is the checkpoint's EMA when it has one;
the text encoder is the checkpoint's when the run trained it (--lr-text), else the run's.

    python -m likeness_train base-folder --run-dir runs/toybox2 --state runs/toybox2/base/state.pt \
        --out runs/toybox2/base-folders/step1000
    python -m likeness_train evaluate --run-dir runs/toybox2 --model runs/toybox2/base-folders/step1000 \
        --likeness false --vae-ceiling false --images-per-prompt 1
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import torch

from . import common, export, models
from .stage_base import text_encoder_dir


@dataclasses.dataclass
class BaseFolderConfig:
    """Write a text-only model folder from a base stage checkpoint."""
    run_dir: str = "runs/toybox"
    state: str = ""  # default RUN_DIR/base/state.pt
    out: str = ""
    raw: bool = False  # the trained weights even when the checkpoint has an EMA


def main(argv=None):
    run(common.parse_config(BaseFolderConfig, argv))


def run(cfg: BaseFolderConfig) -> Path:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    if not cfg.out:
        raise ValueError("--out is required")
    run_dir = Path(cfg.run_dir)
    state_path = Path(cfg.state) if cfg.state else run_dir / "base" / "state.pt"
    state = torch.load(state_path, map_location="cpu", weights_only=False)
    text = CLIPTextModel.from_pretrained(text_encoder_dir(run_dir))
    vae = AutoencoderKL.from_pretrained(run_dir / "vae" / "model")
    base_cfg = run_dir / "base" / "train_config.json"
    trained = json.loads(base_cfg.read_text()) if base_cfg.exists() else {}
    unet = UNet2DConditionModel(**models.unet_config(text.config.hidden_size, bool(trained.get("quick", False)),
                                                     vae.config.latent_channels, int(trained.get("head_dim", 0))))
    use_ema = "ema" in state["modules"] and not cfg.raw
    unet.load_state_dict(state["modules"]["ema"]["model"] if use_ema else state["modules"]["unet"])
    if "text" in state["modules"]:  # a run that trains its text encoder (--lr-text): the checkpoint's tower
        text.load_state_dict(state["modules"]["text_ema"]["model"] if use_ema and "text_ema" in state["modules"]
                             else state["modules"]["text"])
    out = Path(cfg.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, m in [("vae", vae), ("unet", unet), ("text_encoder", text)]:
        m.save_pretrained(tmp / name, safe_serialization=True)
        export.declare_float32(tmp / name)
    export._write_toybox_parts(run_dir, tmp)
    (tmp / "base_state.json").write_text(json.dumps({"state": str(state_path), "step": int(state["step"]),
                                                     "weights": "ema" if use_ema else "trained"}, indent=2))
    export._replace(tmp, out)
    print(f"wrote {out} (step {state['step']}, {'EMA' if use_ema else 'trained'} weights)", flush=True)
    return out


if __name__ == "__main__":
    main()
