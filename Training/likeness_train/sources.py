"""Where the encoder stage and the export take their parts from when they do not come from the
Toybox run: a diffusers Stable Diffusion folder (`--base`) and a transformers CLIP vision folder
(`--vision-model`).

Base folder (DESIGN.md section 2): text_encoder/ (CLIPTextModel; `text_model.`-prefixed or flat
weights), tokenizer/ (CLIP BPE vocab.json + merges.txt, or tokenizer.json), unet/, vae/,
scheduler/scheduler_config.json. Weights load in float32 whatever their stored dtype, for training.
The base's resolution is unet sample_size x the VAE's downsampling factor (2^(blocks-1)).

Vision folder: a CLIPVisionModel (or a full CLIPModel, whose vision tower is taken). The object
encoder's image_size is the vision config's; its mean and std come from preprocessor_config.json
when the folder has one, else the Toybox values (0.5) for a vision tower the kit trained itself
(a `vision_model` folder next to the clip stage's train_config.json), else the OpenAI CLIP values.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Optional

import torch

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TOYBOX_MEAN = (0.5, 0.5, 0.5)
TOYBOX_STD = (0.5, 0.5, 0.5)

BASE_PARTS = ("text_encoder", "tokenizer", "unet", "vae", "scheduler/scheduler_config.json")


def check_base(folder: Path):
    if not folder.is_dir():
        raise FileNotFoundError(f"--base {folder}: not a folder")
    missing = [p for p in BASE_PARTS if not (folder / p).exists()]
    if missing:
        raise FileNotFoundError(f"--base {folder}: missing {', '.join(missing)}; "
                                f"expected a diffusers Stable Diffusion folder ({', '.join(BASE_PARTS)})")


def load_tokenizer(folder: Path):
    """CLIP BPE from vocab.json + merges.txt (CLIPTokenizer), else tokenizer.json."""
    from transformers import AutoTokenizer, CLIPTokenizer, PreTrainedTokenizerFast

    if (folder / "vocab.json").exists() and (folder / "merges.txt").exists():
        tok = CLIPTokenizer.from_pretrained(str(folder))
    elif (folder / "tokenizer.json").exists():
        if (folder / "tokenizer_config.json").exists():
            tok = AutoTokenizer.from_pretrained(str(folder))
        else:
            tok = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    else:
        raise FileNotFoundError(f"{folder}: no tokenizer (need vocab.json + merges.txt, or tokenizer.json)")
    for name in ("bos_token_id", "eos_token_id"):
        if getattr(tok, name) is None:
            raise ValueError(f"{folder}: the tokenizer has no {name[:-3]}; prompts need BOS and EOS ids")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token  # what SD 1.x's CLIP tokenizer pads with
    return tok


def load_base(folder: Path, device):
    """(vae, text_encoder, tokenizer, unet, scheduler_config) in float32; vae frozen and in eval mode."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    check_base(folder)
    vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=torch.float32)
    vae = vae.to(device).eval().requires_grad_(False)
    text = _strict(CLIPTextModel, folder / "text_encoder").to(device).eval()
    tok = load_tokenizer(folder / "tokenizer")
    unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).to(device)
    sched = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    if unet.config.cross_attention_dim != text.config.hidden_size:
        raise ValueError(f"--base {folder}: unet cross_attention_dim {unet.config.cross_attention_dim} != "
                         f"text_encoder hidden_size {text.config.hidden_size}")
    return vae, text, tok, unet, sched


def vae_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def resolution(unet, vae) -> int:
    s = unet.config.sample_size
    if isinstance(s, (list, tuple)):
        if len(set(s)) != 1:
            raise ValueError(f"unet sample_size {s} is not square; the encoder stage trains square images")
        s = s[0]
    return int(s) * vae_factor(vae)


def training_scheduler(config: dict):
    """A DDPMScheduler with the base's noise schedule (betas, timesteps, prediction_type)."""
    from diffusers import DDPMScheduler

    sched = DDPMScheduler.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    kind = sched.config.prediction_type
    if kind not in ("epsilon", "v_prediction"):
        raise ValueError(f"scheduler prediction_type {kind!r} is not supported; use epsilon or v_prediction")
    return sched


def diffusion_target(prediction_type: str, x0, noise, a):
    """What the UNet learns to predict for x_t = sqrt(a) x0 + sqrt(1-a) noise, a = alphas_cumprod[t]."""
    if prediction_type == "v_prediction":
        return a.sqrt() * noise - (1 - a).sqrt() * x0
    return noise


def predicted_x0(prediction_type: str, xt, pred, a):
    """The clean latent implied by the UNet's prediction at x_t."""
    if prediction_type == "v_prediction":
        return a.sqrt() * xt - (1 - a).sqrt() * pred
    return (xt - (1 - a).sqrt() * pred) / a.sqrt()


def load_vision(folder: Path):
    """A CLIPVisionModel from a CLIPVisionModel or CLIPModel folder, in float32."""
    from transformers import CLIPVisionModel

    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"--vision-model {folder}: no config.json; expected a transformers "
                                f"CLIPVisionModel (or CLIPModel) folder")
    return _strict(CLIPVisionModel, folder)


def _strict(cls, folder: Path):
    """cls.from_pretrained in float32, failing (naming the tensors) on missing or wrong-shaped weights
    instead of initialising them at random; unused weights (a CLIPModel's other tower) are fine."""
    model, info = cls.from_pretrained(folder, dtype=torch.float32, output_loading_info=True)
    bad = {k: sorted(info.get(k) or []) for k in ("missing_keys", "mismatched_keys")}
    if any(bad.values()):
        parts = [f"{k.split('_')[0]} {', '.join(map(str, v[:8]))}{' ...' if len(v) > 8 else ''}"
                 for k, v in bad.items() if v]
        raise ValueError(f"{folder}: not a {cls.__name__} checkpoint: {'; '.join(parts)}")
    return model


def vision_preprocessing(folder: Path, vision_config: dict, toybox_default: bool = False) -> dict:
    """{'image_size', 'image_mean', 'image_std', 'source'} for the object encoder's config."""
    size = int(vision_config["image_size"])
    pre = folder / "preprocessor_config.json"
    if pre.exists():
        d = json.loads(pre.read_text())
        try:
            mean, std = tuple(float(x) for x in d["image_mean"]), tuple(float(x) for x in d["image_std"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{pre}: needs image_mean and image_std lists of 3 numbers ({e})") from e
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"{pre}: image_mean and image_std must have 3 numbers each")
        crop = d.get("crop_size")
        crop = crop.get("height") if isinstance(crop, dict) else crop
        if crop is not None and int(crop) != size:
            warnings.warn(f"{pre}: crop_size {crop} differs from the vision config's image_size {size}; "
                          f"using {size}")
        return {"image_size": size, "image_mean": mean, "image_std": std, "source": str(pre)}
    if toybox_default or is_toybox_vision(folder):
        return {"image_size": size, "image_mean": TOYBOX_MEAN, "image_std": TOYBOX_STD,
                "source": "Toybox (the kit's clip stage trains on [-1, 1] images)"}
    return {"image_size": size, "image_mean": OPENAI_CLIP_MEAN, "image_std": OPENAI_CLIP_STD,
            "source": "OpenAI CLIP defaults (no preprocessor_config.json)"}


def is_toybox_vision(folder: Path) -> bool:
    """A vision tower written by the kit's clip stage: <run>/clip/vision_model beside train_config.json."""
    return folder.name == "vision_model" and (folder.parent / "train_config.json").exists()


def recorded(enc_dir: Path, key: str) -> Optional[str]:
    """A value from the encoder run's train_config.json ('' or absent: None)."""
    p = enc_dir / "train_config.json"
    if not p.exists():
        return None
    return json.loads(p.read_text()).get(key) or None
