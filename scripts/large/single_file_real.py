#!/usr/bin/env python
"""Single-file parity at the real architectures (Tests/Fixtures/generated/large/; make test-large).

Random pipelines with the exact SD-1.5 and SD-2.x architectures (UNet 320/640/1280/1280, CLIP-L
for 1.5, OpenCLIP-H with 24 resblocks for 2.x, the SD VAE), each saved as a diffusers folder and
as an original-layout single file written by scripts/fixtures/single_file.py's converters:

  sd15/ + sd15.safetensors, sd15-fp16.safetensors, sd15-bf16.safetensors
  sd2/  + sd2.safetensors, sd2-fp16.safetensors      (v-prediction, DDIM: the 768-v release's scheduler)

The files are the real format: diffusers' StableDiffusionPipeline.from_single_file(file,
config=folder, local_files_only=True) reads each F32 file back to exactly the folder's weights
(asserted tensor by tensor). expected.safetensors holds diffusers' images, [1, 3, 256, 256] in
[-1, 1] (prompt and negative below, 2 steps, guidance 5, seed 7; sd15 Euler, sd2 DDIM): image.<v>
from the folder for the F32 files and from the file itself for the F16/BF16 ones (the same
rounded weights Likeness reads). About 26 GB on disk; about 6 minutes on one core.

    OMP_NUM_THREADS=2 .venv/bin/python scripts/large/single_file_real.py [--only sd15]
"""

import argparse
import gc
import importlib.util
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
import diffusers  # noqa: E402
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "generated" / "large"
diffusers.utils.logging.disable_progress_bar()
diffusers.utils.logging.set_verbosity_error()


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sf = _load(ROOT / "scripts" / "fixtures" / "single_file.py", "fixtures_single_file")

PROMPT = "a photo of a red cat on the beach, highly detailed"
NEGATIVE = "blurry"
SIZE, STEPS, GUIDANCE, SEED = 256, 2, 5.0, 7
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
           block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
           up_block_types=["UpDecoderBlock2D"] * 4, sample_size=512, scaling_factor=0.18215)
UNET = dict(in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=[320, 640, 1280, 1280],
            down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
            up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3)
SPECS = {
    "sd15": {
        "text": dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                     num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu"),
        "unet": dict(UNET, sample_size=64, cross_attention_dim=768, attention_head_dim=8),
        "scheduler": sf.SCHEDULER_SD15, "pad": "<|endoftext|>", "sampler": "EulerDiscreteScheduler",
        "swift_sampler": "euler", "seed": 15, "files": {"sd15": None, "sd15-fp16": torch.float16, "sd15-bf16": torch.bfloat16},
    },
    "sd2": {
        "text": dict(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                     num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu", pad_token_id=1,
                     projection_dim=512),
        "unet": dict(UNET, sample_size=96, cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20],
                     use_linear_projection=True),
        "scheduler": sf.SCHEDULER_SD21, "pad": "!", "sampler": "DDIMScheduler", "swift_sampler": "ddim", "seed": 21,
        "files": {"sd2": None, "sd2-fp16": torch.float16},
    },
}


def write_model(name, out=OUT):
    """The diffusers folder out/name and the original-layout files of SPECS[name] (kept when done)."""
    spec = SPECS[name]
    folder = out / name
    if (folder / "done").exists() and all((out / f"{f}.safetensors").exists() for f in spec["files"]):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    torch.manual_seed(spec["seed"])
    text = CLIPTextModel(CLIPTextConfig(**spec["text"])).eval()
    unet = UNet2DConditionModel(**spec["unet"]).eval()
    vae = AutoencoderKL(**VAE).eval()
    for m in (text, unet, vae):
        sf.ops_models.perturb_(m)
    vocab, merges = sf.tok_fixtures.build_clip_vocab()
    sf.tok_fixtures.write_clip_folder(folder / "tokenizer", vocab, merges, spec["pad"])
    if spec["pad"] != "<|endoftext|>":
        cfg = json.loads((folder / "tokenizer" / "tokenizer_config.json").read_text())
        cfg["pad_token"] = spec["pad"]
        (folder / "tokenizer" / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2))
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    scheduler = getattr(diffusers, spec["scheduler"]["_class_name"]).from_config(spec["scheduler"])
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(spec["scheduler"], indent=2))
    g = torch.Generator().manual_seed(spec["seed"] + 1)
    lpb = spec["unet"]["layers_per_block"]
    up_attn = [t.startswith("CrossAttn") for t in spec["unet"]["up_block_types"]]
    full = {**sf.unet_to_ldm(unet.state_dict(), lpb, up_attn), **sf.vae_to_ldm(vae.state_dict(), len(VAE["up_block_types"]))}
    if name == "sd15":
        full.update(sf.clip_to_ldm(text.state_dict(), spec["text"]["max_position_embeddings"]))
    else:
        full.update(sf.open_clip_to_ldm(text.state_dict(), spec["text"]["hidden_size"], True, g))
    full.update(sf.ldm_buffers())
    del pipe, text, unet, vae
    gc.collect()
    for fname, dtype in spec["files"].items():
        sd = full if dtype is None else sf.cast(full, dtype)
        save_file({k: v.contiguous() for k, v in sd.items()}, str(out / f"{fname}.safetensors"))
        del sd
        gc.collect()
    (folder / "done").write_text("ok")
    return folder


def image(pipe, spec):
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = getattr(diffusers, spec["sampler"]).from_config(pipe.scheduler.config)
    with torch.no_grad():
        out = pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=GUIDANCE, width=SIZE,
                   height=SIZE, generator=torch.Generator("cpu").manual_seed(SEED), output_type="pt").images
    return out * 2 - 1


def same_weights(pipe, folder):
    """Every tensor diffusers read from the single file equals the folder's, compared one at a time."""
    for part, fname in (("unet", "diffusion_pytorch_model.safetensors"), ("vae", "diffusion_pytorch_model.safetensors"),
                        ("text_encoder", "model.safetensors")):
        ours = getattr(pipe, part).state_dict()
        with safe_open(str(folder / part / fname), "pt") as f:
            keys = set(f.keys())
            assert keys == set(ours) - {"text_model.embeddings.position_ids"}, (part, sorted(keys ^ set(ours))[:5])
            for k in keys:
                assert torch.equal(f.get_tensor(k), ours[k]), (part, k)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=list(SPECS), action="append")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    OUT.mkdir(parents=True, exist_ok=True)
    expected = OUT / "expected.safetensors"
    tensors = {}
    if expected.exists():
        with safe_open(str(expected), "pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta_file = OUT / "expected.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    meta.update({"prompt": PROMPT, "negative_prompt": NEGATIVE, "steps": STEPS, "guidance": GUIDANCE, "seed": SEED,
                 "size": SIZE})
    meta.setdefault("variants", {})
    for name in args.only or list(SPECS):
        spec = SPECS[name]
        t = time.time()
        folder = write_model(name)
        print(f"{name}: written in {time.time() - t:.0f} s", flush=True)
        pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
        reference = image(pipe, spec)
        del pipe
        gc.collect()
        for fname, dtype in spec["files"].items():
            t = time.time()
            pipe = StableDiffusionPipeline.from_single_file(str(OUT / f"{fname}.safetensors"), config=str(folder),
                                                            local_files_only=True, torch_dtype=torch.float32,
                                                            safety_checker=None, requires_safety_checker=False)
            if dtype is None:
                same_weights(pipe, folder)
                tensors[f"image.{fname}"] = reference
                diff = (image(pipe, spec) - reference).abs().max().item()
                print(f"{fname}: from_single_file reads the folder's weights; image max-abs vs folder {diff:.3g}", flush=True)
                assert diff < 1e-4, diff
            else:
                tensors[f"image.{fname}"] = image(pipe, spec)
                diff = (tensors[f"image.{fname}"] - reference).abs().max().item()
                print(f"{fname}: image max-abs vs the F32 folder {diff:.3g}", flush=True)
            meta["variants"][fname] = {"sampler": spec["swift_sampler"], "version": name}
            del pipe
            gc.collect()
            print(f"{fname}: {time.time() - t:.0f} s", flush=True)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(expected))
        meta_file.write_text(json.dumps(meta, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
