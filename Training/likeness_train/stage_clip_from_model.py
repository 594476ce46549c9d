"""clip-from-model: fills RUN_DIR/clip from a Toybox model folder instead of training stage 1, so
the later stages (vae, base, encoder) can run on a machine where the clip stage's output is gone.

Writes RUN_DIR/clip/text_encoder (the folder's text encoder, float32), RUN_DIR/clip/tokenizer (a
copy) and RUN_DIR/clip/vision_model (a CLIPVisionModel holding the object encoder's vision tower).
Both towers are the model's, i.e. after its encoder stage tuned them: a base trained on them
reads the same words the committed model reads.

    python -m likeness_train clip-from-model --run-dir runs/toybox2 --model Models/toybox
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
    for part in ("text_encoder", "tokenizer", "object_encoder/config.json", "object_encoder/model.safetensors"):
        if not (folder / part).exists():
            raise FileNotFoundError(f"{folder}: missing {part}; clip-from-model needs a Toybox model folder")
    out = Path(cfg.run_dir) / "clip"
    out.mkdir(parents=True, exist_ok=True)
    common.save_config(cfg, out / "train_config.json")

    text = CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=torch.float32)
    text.config.dtype = "float32"
    text.save_pretrained(out / "text_encoder")

    if (out / "tokenizer").exists():
        shutil.rmtree(out / "tokenizer")
    shutil.copytree(folder / "tokenizer", out / "tokenizer")

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
