"""Reference implementation of Likeness inference on diffusers components; the Swift engine is
checked against it.

    pipe = LikenessPipeline.from_folder("Models/toybox")
    tokens = pipe.encode_object(reference_image)          # one encoder pass, cacheable
    images = pipe("a <obj> on the beach", object_tokens=tokens, seed=0)

Guidance with an object (DESIGN.md section 3):
    e = e_uncond + s_text * (e_text - e_uncond) + s_id * (e_text+obj - e_text)
where e_text is the prompt with the placeholder replaced by the encoder's null word, and e_uncond
the negative prompt. Without an object (or with a prompt that has no placeholder) this is plain
classifier-free guidance, identical to StableDiffusionPipeline.
Initial latents: torch.randn([1, 4, h, w], generator=torch.Generator("cpu").manual_seed(seed))
times the scheduler's init_noise_sigma, as diffusers draws them; with `init_image` ([1, 3, H, W]
in [-1, 1]) and `strength`, StableDiffusionImg2ImgPipeline's start instead (posterior sample, then
noise, from the same generator; only the last int(steps * strength) steps run).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image

from . import models

SAMPLERS = {
    "ddim": "DDIMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
    "dpmpp-2m": "DPMSolverMultistepScheduler",
}


class LikenessPipeline:
    def __init__(self, folder: Path, text_encoder, tokenizer, unet, vae, scheduler_config: dict,
                 object_encoder: Optional[models.ObjectEncoder]):
        self.folder = folder
        self.text_encoder, self.tokenizer, self.unet, self.vae = text_encoder, tokenizer, unet, vae
        self.scheduler_config = scheduler_config
        self.object_encoder = object_encoder

    @classmethod
    def from_folder(cls, folder, dtype=torch.float32):
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from safetensors.torch import load_file
        from transformers import AutoTokenizer, CLIPTextModel

        folder = Path(folder)
        for part in ("model_index.json", "unet", "vae", "text_encoder", "tokenizer", "scheduler"):
            if not (folder / part).exists():
                raise FileNotFoundError(f"{folder}: missing {part}; is this a diffusers Stable Diffusion folder?")
        text = CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=dtype).eval()
        tok = AutoTokenizer.from_pretrained(folder / "tokenizer")
        unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=dtype).eval()
        vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=dtype).eval()
        sched = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
        enc = None
        if (folder / "object_encoder" / "config.json").exists():
            cfg = json.loads((folder / "object_encoder" / "config.json").read_text())
            cfg["image_mean"], cfg["image_std"] = tuple(cfg["image_mean"]), tuple(cfg["image_std"])
            enc = models.ObjectEncoder(models.ObjectEncoderConfig(**cfg))
            weights = load_file(str(folder / "object_encoder" / "model.safetensors"))
            missing, unexpected = enc.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)
            if missing or unexpected:
                raise ValueError(f"{folder}/object_encoder/model.safetensors: missing {missing}, unused {unexpected}")
            enc = enc.to(dtype).eval()
        return cls(folder, text, tok, unet, vae, sched, enc)

    def scheduler(self, sampler: str, karras: bool = False):
        import diffusers

        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; use one of {', '.join(SAMPLERS)}")
        cfg = dict(self.scheduler_config)
        if karras and sampler != "ddim":
            cfg["use_karras_sigmas"] = True
        return getattr(diffusers, SAMPLERS[sampler]).from_config(cfg)

    @torch.no_grad()
    def encode_object(self, image) -> torch.Tensor:
        """PIL image or [3, H, W] tensor in [-1, 1] -> object tokens [1, K, D]"""
        if self.object_encoder is None:
            raise ValueError(f"{self.folder} has no object_encoder/; it generates from text only")
        if isinstance(image, Image.Image):
            arr = np.asarray(image.convert("RGB"), np.float32) / 127.5 - 1
            image = torch.from_numpy(arr).permute(2, 0, 1)
        return self.object_encoder(image[None].to(self.unet.dtype))

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str], object_tokens: Optional[torch.Tensor]) -> torch.Tensor:
        enc = self.object_encoder
        injection = enc.cfg.injection if enc is not None else "input_embedding"
        slot = getattr(enc, "slot_embedding", None) if enc is not None else None
        placeholder = enc.cfg.placeholder_token if enc is not None else "<obj>"
        if object_tokens is not None:
            object_tokens = object_tokens.expand(len(prompts), -1, -1)
        return models.encode_prompts(self.text_encoder, self.tokenizer, prompts, object_tokens, injection, slot,
                                     placeholder)

    def word_slot_tokens(self, prompt: str, object_tokens: torch.Tensor) -> torch.Tensor:
        """The object tokens with the slots the prompt's property words name set to those words
        (models.word_slot_edits; the object encoder's config.word_slots, empty for most models)."""
        enc = self.object_encoder
        if enc is None or enc.cfg.injection != "input_embedding":
            return object_tokens
        edits = models.word_slot_edits(prompt, enc.cfg.placeholder_token, enc.cfg.word_slots)
        return models.apply_word_slots(object_tokens, edits, self.tokenizer, self.text_encoder)

    @torch.no_grad()
    def __call__(self, prompt: str, object_tokens: Optional[torch.Tensor] = None, negative_prompt: str = "",
                 steps: int = 25, text_scale: float = 5.0, id_scale: float = 3.0, seed: int = 0,
                 sampler: str = "ddim", karras: bool = False, height: Optional[int] = None,
                 width: Optional[int] = None, latents: Optional[torch.Tensor] = None, output_type: str = "pil",
                 init_image: Optional[torch.Tensor] = None, strength: float = 0.75, word_slots: bool = True):
        factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        height = height or self.unet.config.sample_size * factor
        width = width or self.unet.config.sample_size * factor
        placeholder = self.object_encoder.cfg.placeholder_token if self.object_encoder is not None else "<obj>"
        has_slot = models.split_placeholder(prompt, placeholder) is not None
        if has_slot and object_tokens is None:
            raise ValueError(f"prompt {prompt!r} has {placeholder} but no object was given")
        with_object = has_slot and object_tokens is not None
        if with_object:
            null = self.object_encoder.cfg.null_word
            e_u = self.encode_prompt([negative_prompt], None)
            e_t = self.encode_prompt([models.replace_placeholder(prompt, placeholder, null)], None)
            e_o = self.encode_prompt([prompt], self.word_slot_tokens(prompt, object_tokens) if word_slots
                                     else object_tokens)
            cond = torch.cat([e_u, e_t, e_o])
        else:
            cond = torch.cat([self.encode_prompt([negative_prompt], None), self.encode_prompt([prompt], None)])
        sched = self.scheduler(sampler, karras)
        sched.set_timesteps(steps)
        gen = torch.Generator("cpu").manual_seed(seed)
        shape = (1, self.unet.config.in_channels, height // factor, width // factor)
        timesteps = sched.timesteps
        if init_image is not None:
            # StableDiffusionImg2ImgPipeline: get_timesteps, a posterior sample, add_noise at the first kept step.
            t_start = max(steps - min(int(steps * strength), steps), 0)
            timesteps = sched.timesteps[t_start * sched.order:]
            if hasattr(sched, "set_begin_index"):
                sched.set_begin_index(t_start * sched.order)
            z = self.vae.encode(init_image.to(self.vae.dtype)).latent_dist.sample(gen) * self.vae.config.scaling_factor
            noise = torch.randn(z.shape, generator=gen, dtype=torch.float32)
            x = sched.add_noise(z, noise, timesteps[:1]) if len(timesteps) else z
        else:
            if latents is None:
                latents = torch.randn(shape, generator=gen, dtype=torch.float32)
            x = latents.to(self.unet.dtype) * sched.init_noise_sigma
        for t in timesteps:
            inp = sched.scale_model_input(torch.cat([x] * len(cond)), t)
            e = self.unet(inp, t, encoder_hidden_states=cond).sample
            if with_object:
                e_u, e_t, e_o = e.chunk(3)
                eps = e_u + text_scale * (e_t - e_u) + id_scale * (e_o - e_t)
            else:
                e_u, e_t = e.chunk(2)
                eps = e_u + text_scale * (e_t - e_u)
            x = sched.step(eps, t, x, generator=gen).prev_sample
        img = self.vae.decode(x / self.vae.config.scaling_factor).sample.clamp(-1, 1)
        if output_type == "pt":
            return img
        arr = ((img[0].permute(1, 2, 0).float().numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr)
