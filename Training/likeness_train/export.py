"""Stage 5, export: the model folder of docs/FORMAT.md (diffusers StableDiffusionPipeline layout
plus object_encoder/ and preview/latent_rgb.json), weights in fp16 by default.

preview/latent_rgb.json is fitted by least squares from sampler-space latents (scaled by the VAE's
scaling_factor) to the image box-filtered to latent size, RGB in [0, 1]:
    rgb[c] = sum_k weights[c][k] * latent[k] + weights[c][C]

With --base (default: the base recorded in the encoder run's train_config.json, if any) the VAE,
tokenizer/ and scheduler/ come from that diffusers folder and the tuned UNet and text encoder from
the encoder run; the preview map is fitted on --dataset (default: the recorded dataset), else on the
Toybox scene cache. Without a base everything comes from the Toybox run, as before."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F

from . import common, datasets, models, sources


@dataclasses.dataclass
class ExportConfig:
    """Write the model folder."""
    run_dir: str = "runs/toybox"
    encoder_name: str = "encoder"
    base: str = ""
    dataset: str = ""
    out: str = "Models/toybox"
    dtype: str = "fp16"
    quick: bool = False
    # A VAE folder to ship instead of the run's (e.g. `vae --decoder-only` on it): it must share the
    # run VAE's latent space (the same encoder, quant_conv and scaling factor), which is checked.
    vae: str = ""


def main(argv=None):
    run(common.parse_config(ExportConfig, argv))


def same_latent_space(trained_on, shipped, name: str):
    """`shipped` when its encoder, quant_conv and scaling factor equal those of the VAE the stages
    trained on (only the decoder may differ); a ValueError naming the first difference otherwise."""
    if shipped.config.scaling_factor != trained_on.config.scaling_factor:
        raise ValueError(f"--vae {name}: scaling_factor {shipped.config.scaling_factor} differs from the run VAE's "
                         f"{trained_on.config.scaling_factor}; only a decoder-only VAE (vae --decoder-only) can replace it")
    a, b = trained_on.state_dict(), shipped.state_dict()
    for key in a:
        if key.startswith(("encoder.", "quant_conv.")) and (key not in b or not torch.equal(a[key], b[key])):
            raise ValueError(f"--vae {name}: {key} differs from the run VAE's, so its latents are not the ones the "
                             f"base learned; only a decoder-only VAE (vae --decoder-only) can replace it")
    return shipped


def fit_latent_rgb(latents: torch.Tensor, images: torch.Tensor) -> list:
    """latents [N, C, h, w] (scaled), images [N, 3, H, W] in [-1, 1] -> 3 x (C+1) weights"""
    n, c, h, w = latents.shape
    rgb = F.adaptive_avg_pool2d((images + 1) / 2, (h, w))  # [N, 3, h, w]
    x = torch.cat([latents, torch.ones(n, 1, h, w)], 1).permute(0, 2, 3, 1).reshape(-1, c + 1).double()
    y = rgb.permute(0, 2, 3, 1).reshape(-1, 3).double()
    sol = torch.linalg.lstsq(x, y).solution  # [C+1, 3]
    return sol.t().tolist()


def run(cfg: ExportConfig):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import load_file, save_file
    from transformers import CLIPTextModel

    from .stage_base import encode_latents

    dtype = {"fp16": torch.float16, "fp32": torch.float32}[cfg.dtype]
    run_dir = Path(cfg.run_dir)
    enc_dir = run_dir / cfg.encoder_name
    base = _resolve(cfg.base, sources.recorded(enc_dir, "base"), "base")
    dataset = _resolve(cfg.dataset, sources.recorded(enc_dir, "dataset"), "dataset")
    if base is not None:
        sources.check_base(base)
    out = Path(cfg.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    if base is not None:
        vae = AutoencoderKL.from_pretrained(base / "vae", torch_dtype=torch.float32)
    else:
        vae = AutoencoderKL.from_pretrained(run_dir / "vae" / "model")
    if cfg.vae:
        vae = same_latent_space(vae, AutoencoderKL.from_pretrained(cfg.vae, torch_dtype=torch.float32), cfg.vae)
    unet = UNet2DConditionModel.from_pretrained(enc_dir / "unet")
    text = CLIPTextModel.from_pretrained(enc_dir / "text_encoder")
    for name, m in [("vae", vae), ("unet", unet), ("text_encoder", text)]:
        m.to(dtype).save_pretrained(tmp / name, safe_serialization=True)
        declare_float32(tmp / name)
    if base is not None:
        _copy_base_parts(base, tmp, text.config.max_position_embeddings)
    else:
        _write_toybox_parts(run_dir, tmp)

    (tmp / "object_encoder").mkdir()
    ocfg = json.loads((enc_dir / "object_encoder" / "config.json").read_text())
    if "word_slots" not in ocfg and (enc_dir / "train_config.json").exists():
        # an encoder saved before word slots were recorded: from how its tokens were trained
        from .stage_encoder import word_slots_of
        ocfg["word_slots"] = word_slots_of(json.loads((enc_dir / "train_config.json").read_text()))
    (tmp / "object_encoder" / "config.json").write_text(json.dumps(ocfg, indent=2))
    weights = load_file(str(enc_dir / "object_encoder" / "model.safetensors"))
    save_file({k: v.to(dtype).contiguous() for k, v in weights.items()}, str(tmp / "object_encoder" / "model.safetensors"))

    res = sources.resolution(unet, vae)
    if dataset is not None:
        data = datasets.load(dataset, res, ocfg.get("placeholder_token", common.PLACEHOLDER), max_images=1024)
    elif res != 64:
        raise ValueError(f"the base draws {res}x{res} images but Toybox scenes are 64x64: pass --dataset "
                         f"to fit preview/latent_rgb.json")
    else:
        data = common.SceneCache(common.ensure_data(run_dir, quick=cfg.quick)["train"])
    sub = list(range(0, len(data), max(1, len(data) // 1024)))
    batch = max(1, 256 * 64 * 64 // (res * res))
    with torch.no_grad():
        vae32 = vae.float()
        lat = torch.cat([vae32.encode(data.image_tensor(sub[s:s + batch])).latent_dist.mode()
                         for s in range(0, len(sub), batch)]) * vae32.config.scaling_factor
    (tmp / "preview").mkdir()
    (tmp / "preview" / "latent_rgb.json").write_text(json.dumps({
        "latent_space": "scaled", "rgb_range": [0, 1],
        "weights": fit_latent_rgb(lat, data.image_tensor(sub))}, indent=2))
    side = res // 2 ** (len(vae.config.block_out_channels) - 1)
    if base is not None:
        (tmp / "README.md").write_text(
            f"# {out.name}\n\nStable Diffusion from `{base}` with its UNet and text encoder tuned and a Likeness "
            f"object encoder trained by `Training/` (encoder stage `--base`, run `{enc_dir}`"
            + (f", dataset `{dataset}`" if dataset is not None else "") + f"). {res}x{res} images. "
            "See docs/FORMAT.md.\n")
    else:
        (tmp / "README.md").write_text(
            "# toybox\n\nThe built-in Likeness model: a miniature Stable Diffusion (CLIP text encoder, UNet, "
            "AutoencoderKL) and an object encoder, trained on the procedural Toybox world by `Training/` "
            f"(`make train-toybox`). {res}x{res} images, {side}x{side}x{vae.config.latent_channels} latents. "
            "See docs/FORMAT.md and docs/RESULTS.md.\n")
    _replace(tmp, out)


def declare_float32(folder: Path):
    """Make a saved component's config declare float32 whatever dtype its weights are stored in.
    transformers 5 loads a model in the dtype its config names (`dtype`, formerly `torch_dtype`)
    when none is asked for, while diffusers loads in float32: a text encoder declared float16
    beside a float32 UNet fails a plain `StableDiffusionPipeline.from_pretrained` with "mat1 and
    mat2 must have the same dtype". fp16 weights with a float32 config load as float32 by
    default and as float16 with `torch_dtype=torch.float16`."""
    path = Path(folder) / "config.json"
    config = json.loads(path.read_text())
    changed = False
    for key in ("dtype", "torch_dtype"):
        if key in config and config[key] != "float32":
            config[key] = "float32"
            changed = True
    if changed:
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _resolve(flag: str, recorded, what: str):
    """The flag's path, else the one the encoder run recorded; None for neither (Toybox)."""
    if flag and recorded and Path(flag).resolve() != Path(recorded).resolve():
        print(f"warning: exporting with --{what} {flag} but the encoder was trained with {recorded}", flush=True)
    value = flag or recorded
    return Path(value) if value else None


def _copy_base_parts(base: Path, tmp: Path, max_length: int):
    """tokenizer/ and scheduler/ copied from the base, model_index.json from the base's without the
    safety checker and feature extractor (not exported)."""
    shutil.copytree(base / "tokenizer", tmp / "tokenizer")
    shutil.copytree(base / "scheduler", tmp / "scheduler")
    clip_bpe = (base / "tokenizer" / "vocab.json").exists() and (base / "tokenizer" / "merges.txt").exists()
    tok_class = "CLIPTokenizer" if clip_bpe else "PreTrainedTokenizerFast"
    if not (tmp / "tokenizer" / "tokenizer_config.json").exists():
        # AutoTokenizer (diffusers, the reference pipeline) needs the class name to load vocab.json + merges.txt
        tok = sources.load_tokenizer(base / "tokenizer")
        (tmp / "tokenizer" / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": tok_class, "model_max_length": max_length, "bos_token": tok.bos_token,
            "eos_token": tok.eos_token, "pad_token": tok.pad_token, "unk_token": tok.unk_token}, indent=2))
    import diffusers
    index = {}
    if (base / "model_index.json").exists():
        index = json.loads((base / "model_index.json").read_text())
    sched_class = json.loads((base / "scheduler" / "scheduler_config.json").read_text()).get("_class_name", "DDIMScheduler")
    index.setdefault("_class_name", "StableDiffusionPipeline")
    index["_diffusers_version"] = diffusers.__version__
    index.setdefault("scheduler", ["diffusers", sched_class])
    index.setdefault("text_encoder", ["transformers", "CLIPTextModel"])
    index.setdefault("tokenizer", ["transformers", tok_class])
    index.setdefault("unet", ["diffusers", "UNet2DConditionModel"])
    index.setdefault("vae", ["diffusers", "AutoencoderKL"])
    index["feature_extractor"] = [None, None]
    index["safety_checker"] = [None, None]
    index["requires_safety_checker"] = False
    (tmp / "model_index.json").write_text(json.dumps(index, indent=2))


def _write_toybox_parts(run_dir: Path, tmp: Path):
    shutil.copytree(run_dir / "clip" / "tokenizer", tmp / "tokenizer")
    (tmp / "scheduler").mkdir()
    (tmp / "scheduler" / "scheduler_config.json").write_text(json.dumps(models.scheduler_config(), indent=2))
    import diffusers
    (tmp / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": diffusers.__version__,
        "feature_extractor": [None, None], "safety_checker": [None, None], "requires_safety_checker": False,
        "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "PreTrainedTokenizerFast"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]}, indent=2))


def _replace(tmp: Path, out: Path):
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"exported {out} ({size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
