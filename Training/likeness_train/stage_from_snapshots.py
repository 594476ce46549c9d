"""from-snapshots: fills RUN_DIR/vae/model and RUN_DIR/base/unet from committed snapshots (a VAE
folder such as Training/checkpoints/vae-c32, a UNet folder such as Training/checkpoints/base-t4/unet,
and with --text-encoder the text encoder a base trained with its UNet), widened to float32, so the encoder stage (and export) run on exactly the weights the built-in model
was made from without retraining the VAE and the base. With clip-from-model for RUN_DIR/clip this is
how `make train-toybox` reproduces Models/toybox.

    python -m likeness_train from-snapshots --run-dir runs/toybox \
        --vae checkpoints/vae-c32 --unet checkpoints/base-t4/unet
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import torch

from . import common


@dataclasses.dataclass
class FromSnapshotsConfig:
    """Write RUN_DIR/vae/model and RUN_DIR/base/unet (float32) from committed snapshot folders."""
    run_dir: str = "runs/toybox"
    vae: str = ""
    unet: str = ""
    # The text encoder the UNet was trained with when its base stage trained it (--lr-text), a
    # CLIPTextModel folder written to RUN_DIR/base/text_encoder; empty: the base was trained on the
    # clip stage's tower, and the run uses RUN_DIR/clip/text_encoder.
    text_encoder: str = ""


def check_component(path: str, flag: str, what: str) -> Path:
    folder = Path(path)
    for part in ("config.json", "diffusion_pytorch_model.safetensors"):
        if not (folder / part).exists():
            raise FileNotFoundError(f"{folder}: missing {part}; {flag} takes a diffusers {what} folder")
    return folder


def main(argv=None):
    run(common.parse_config(FromSnapshotsConfig, argv))


def run(cfg: FromSnapshotsConfig):
    from diffusers import AutoencoderKL, UNet2DConditionModel

    for flag, value, what in (("--vae", cfg.vae, "AutoencoderKL"), ("--unet", cfg.unet, "UNet2DConditionModel")):
        if not value:
            raise SystemExit(f"from-snapshots: {flag} FOLDER is required (a diffusers {what} folder)")
    vae_dir = check_component(cfg.vae, "--vae", "AutoencoderKL")
    unet_dir = check_component(cfg.unet, "--unet", "UNet2DConditionModel")
    default_factor = AutoencoderKL().config.scaling_factor
    if json.loads((vae_dir / "config.json").read_text()).get("scaling_factor", default_factor) == default_factor:
        raise ValueError(f"{vae_dir}: its scaling_factor is diffusers' default {default_factor}, not one measured on "
                         f"Toybox latents; write the snapshot with vae-snapshot (which measures it) or put the "
                         f"model's value in its config.json")
    run_dir = Path(cfg.run_dir)
    for src, cls, out in ((vae_dir, AutoencoderKL, run_dir / "vae" / "model"),
                          (unet_dir, UNet2DConditionModel, run_dir / "base" / "unet")):
        model = cls.from_pretrained(src, torch_dtype=torch.float32)
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        print(f"wrote {out} (float32) from {src}", flush=True)
    text_out = run_dir / "base" / "text_encoder"
    shutil.rmtree(text_out, ignore_errors=True)  # a tower left by an earlier base in this run folder
    if cfg.text_encoder:
        from transformers import CLIPTextModel

        src = Path(cfg.text_encoder)
        if not (src / "config.json").exists():
            raise FileNotFoundError(f"{src}: missing config.json; --text-encoder takes a CLIPTextModel folder")
        CLIPTextModel.from_pretrained(src, torch_dtype=torch.float32).save_pretrained(text_out)
        print(f"wrote {text_out} (float32) from {src}", flush=True)
    common.save_config(cfg, run_dir / "base" / "from_snapshots.json")


if __name__ == "__main__":
    main()
