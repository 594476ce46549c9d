"""clip-from-model: fills RUN_DIR/clip from a Toybox model folder, or from a saved clip folder,
instead of training stage 1, so the later stages (vae, base, encoder) run where the clip stage's
output is gone.

Writes RUN_DIR/clip/text_encoder (float32), RUN_DIR/clip/tokenizer (a copy) and
RUN_DIR/clip/vision_model. From a model folder, the vision tower is its object encoder's and both
towers are as its encoder stage left them; a clip folder (text_encoder/, tokenizer/,
vision_model/, as the clip stage or this command writes) is copied, e.g. the committed
Training/checkpoints/clip-toybox1 that the built-in model was trained on.

    python -m likeness_train clip-from-model --run-dir runs/t2 --model Models/toybox
    python -m likeness_train clip-from-model --run-dir runs/t2 --model Training/checkpoints/clip-toybox1
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import torch

from . import common, models


@dataclasses.dataclass
class ClipFromModelConfig:
    """Fill RUN_DIR/clip from a model folder's text encoder, tokenizer and object encoder."""
    run_dir: str = "runs/toybox"
    model: str = "Models/toybox"


def main(argv=None):
    run(common.parse_config(ClipFromModelConfig, argv))


def run(cfg: ClipFromModelConfig):
    from safetensors.torch import load_file
    from transformers import CLIPTextModel, CLIPVisionConfig, CLIPVisionModel

    folder = Path(cfg.model)
    clip_folder = (folder / "vision_model" / "config.json").exists()
    vision_parts = ("vision_model/config.json",) if clip_folder else ("object_encoder/config.json",
                                                                       "object_encoder/model.safetensors")
    for part in ("text_encoder", "tokenizer") + vision_parts:
        if not (folder / part).exists():
            raise FileNotFoundError(f"{folder}: missing {part}; clip-from-model needs a Toybox model folder "
                                    f"(with object_encoder/) or a clip folder (with vision_model/)")
    out = Path(cfg.run_dir) / "clip"
    out.mkdir(parents=True, exist_ok=True)
    common.save_config(cfg, out / "train_config.json")

    text = CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=torch.float32)
    text.config.dtype = "float32"
    text.save_pretrained(out / "text_encoder")

    if (out / "tokenizer").exists():
        shutil.rmtree(out / "tokenizer")
    shutil.copytree(folder / "tokenizer", out / "tokenizer")

    if clip_folder:
        vision = CLIPVisionModel.from_pretrained(folder / "vision_model", torch_dtype=torch.float32)
        vision.config.dtype = "float32"
        vision.save_pretrained(out / "vision_model")
        if (folder / "clip_model").exists():  # the towers with their projections (towers.py retrieval)
            shutil.rmtree(out / "clip_model", ignore_errors=True)
            shutil.copytree(folder / "clip_model", out / "clip_model")
        print(f"wrote {out / 'text_encoder'}, {out / 'tokenizer'} and {out / 'vision_model'} from {folder}", flush=True)
        return
    ocfg = json.loads((folder / "object_encoder" / "config.json").read_text())
    vision = CLIPVisionModel(CLIPVisionConfig(**ocfg["vision_config"]))
    target = getattr(vision, "vision_model", vision)
    prefix = "vision_model."
    weights = {k[len(prefix):]: v.float() for k, v in load_file(str(folder / "object_encoder" / "model.safetensors")).items()
               if k.startswith(prefix)}
    missing, unexpected = target.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder}/object_encoder: vision tower missing {missing}, unused {unexpected}")
    vision.save_pretrained(out / "vision_model")
    print(f"wrote {out / 'text_encoder'}, {out / 'tokenizer'} and {out / 'vision_model'} from {folder}", flush=True)


if __name__ == "__main__":
    main()
