"""Stage 3, base: a diffusers UNet2DConditionModel trained text-to-image on full-description
captions, with 10% caption dropout for classifier-free guidance. The stage-1 text encoder is frozen
unless --lr-text trains it with the UNet. Latents are computed once and cached in memory, and so are
the caption states while the text encoder is frozen. The stage writes base/unet and
base/text_encoder (the tower the UNet was trained with, trained or not), which the later stages read
(text_encoder_dir)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import common, levers, models, world


@dataclasses.dataclass
class BaseConfig:
    """Train the text-to-image UNet (stage 3)."""
    run_dir: str = "runs/toybox"
    steps: int = 2400
    batch_size: int = 64
    lr: float = 5e-4
    caption_dropout: float = 0.1
    seed: int = 0
    quick: bool = False
    save_every: int = 250
    # Levers (levers.py): EMA of the weights (the exported UNet is the EMA when on; 0 turns it
    # off), min-SNR-gamma loss weighting (0: plain MSE), and the learning-rate schedule after
    # warm-up (linear or cosine). The first model had none of them (0, 0, linear).
    ema_decay: float = 0.999
    min_snr_gamma: float = 5.0
    lr_schedule: str = "cosine"
    # Keep a copy of the checkpoint every N steps as base/snapshots/step-N.pt (0: none), for the
    # learning curve (`base-folder --state`).
    keep_every: int = 0
    max_minutes: float = 0.0  # stop, save and export after this much wall time (0: no limit)
    # Second-model levers (RESULTS.md, "the shape arms"): channels per attention head (0: the
    # first models' 16 heads), the loss weight inside the object's mask (1: uniform), the last
    # share of a "constant" schedule that decays, and a UNet folder to start from (the weights'
    # shapes do not depend on the head count; one of another latent space, another VAE's
    # latent_channels, starts all but its first and last convolutions: `warm_start`).
    head_dim: int = 0
    mask_weight: float = 1.0
    # Share of samples whose caption names the object only by the encoder's null word ("a large
    # object on the beach, at the left"), so identity guidance's text branch (the prompt with the
    # placeholder replaced by the null word) draws the asked context.
    null_word_rate: float = 0.0
    # Share of samples whose caption leaves words out at random (world.partial_caption: "a red star
    # on the beach", "a object in the snow"), so the short prompts people write, and the text
    # branch's null-word prompt, are inside what the base was trained on. Encoded per batch.
    short_caption_rate: float = 0.0
    final_decay: float = 0.1
    init_unet: str = ""
    # Train the text encoder with the UNet at this learning rate (0: frozen, as the clip stage left
    # it): "all" its weights or only its token "embeddings" (text_train). Its captions are then
    # encoded per batch; with EMA on, the written tower is its EMA, as the UNet's is. init_text: the
    # tower to start from (a text_encoder folder; default RUN_DIR/clip/text_encoder), for a run that
    # continues a base trained with its tower.
    lr_text: float = 0.0
    text_train: str = "all"
    init_text: str = ""


def main(argv=None):
    run(common.parse_config(BaseConfig, argv))


def text_encoder_dir(run_dir: Path) -> Path:
    """The text encoder the run's base UNet was trained with: base/text_encoder, which the base
    stage and from-snapshots write, else (a run from before they wrote it) clip/text_encoder."""
    trained = run_dir / "base" / "text_encoder"
    return trained if (trained / "config.json").exists() else run_dir / "clip" / "text_encoder"


def load_frozen(run_dir: Path, device, text_dir: Path | None = None):
    """(vae, text encoder, tokenizer) of a run in eval mode; the text encoder is text_dir, by
    default the one its base was trained with (text_encoder_dir)."""
    from diffusers import AutoencoderKL
    from transformers import CLIPTextModel

    vae = AutoencoderKL.from_pretrained(run_dir / "vae" / "model").to(device).eval().requires_grad_(False)
    text = CLIPTextModel.from_pretrained(text_dir or text_encoder_dir(run_dir)).to(device).eval()
    tok = common.load_tokenizer(run_dir / "clip" / "tokenizer")
    return vae, text, tok


@torch.no_grad()
def encode_latents(vae, data: common.SceneCache, device, batch: int = 256) -> torch.Tensor:
    """[N, 4, 16, 16] posterior means scaled by scaling_factor"""
    out = []
    for s in range(0, len(data), batch):
        x = data.image_tensor(range(s, min(s + batch, len(data)))).to(device)
        out.append(vae.encode(x).latent_dist.mode() * vae.config.scaling_factor)
    return torch.cat(out)


def cached_latents(vae, data: common.SceneCache, device, path: Path) -> torch.Tensor:
    """encode_latents, kept in `path` beside the VAE for the next start (a resumed run skips the
    encoding); recomputed when the file was made from other weights or data."""
    key = {"n": len(data), "first": data.full[0], "last": data.full[-1],
           "weights": float(sum(p.double().sum() for p in vae.parameters()))}
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=False)
        if saved.get("key") == key:
            return saved["latents"].to(device)
    latents = encode_latents(vae, data, device)
    tmp = path.with_suffix(".tmp")
    torch.save({"key": key, "latents": latents.cpu()}, tmp)
    os.replace(tmp, path)
    return latents


def encode_texts(text, tok, texts: list[str], device, batch: int = 512) -> torch.Tensor:
    """last_hidden_state of `texts` (with gradients where the caller allows them)"""
    out = []
    for s in range(0, len(texts), batch):
        ids = common.tokenize(tok, texts[s:s + batch]).to(device)
        out.append(text(input_ids=ids).last_hidden_state)
    return torch.cat(out)


# The UNet's first and last convolutions: the only weights whose shapes may depend on the VAE's
# latent channels (conv_in's bias does not).
LATENT_FACING = ("conv_in.weight", "conv_in.bias", "conv_out.weight", "conv_out.bias")


def warm_start(unet, state: dict) -> list[str]:
    """Load `state` (another UNet's weights) into `unet`. The same architecture loads whole. A UNet
    of another latent space (another VAE's latent_channels) loads everything but its first and
    last convolutions, which keep their fresh initialisation: the text conditioning, attention and
    resnets carry over to the new latents. Returns the names left fresh; any other mismatch is an
    error (another architecture is not a warm start)."""
    own = unet.state_dict()
    if set(own) != set(state):
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        raise ValueError(f"--init-unet is another architecture (missing {missing[:3]}, unexpected {extra[:3]})")
    fresh = [k for k in own if own[k].shape != state[k].shape]
    other = [k for k in fresh if k not in LATENT_FACING]
    if other:
        raise ValueError(f"--init-unet is another architecture: {other[0]} is {tuple(state[other[0]].shape)}, "
                         f"this run's is {tuple(own[other[0]].shape)}")
    unet.load_state_dict({k: (own[k] if k in fresh else v) for k, v in state.items()})
    return fresh


def noise_scheduler():
    from diffusers import DDPMScheduler
    cfg = dict(models.scheduler_config())
    cfg.pop("_class_name")
    cfg.pop("set_alpha_to_one")
    return DDPMScheduler(**cfg)


def run(cfg: BaseConfig):
    from accelerate import Accelerator
    from diffusers import UNet2DConditionModel

    acc = Accelerator(cpu=not torch.cuda.is_available())
    run_dir = Path(cfg.run_dir)
    out = run_dir / "base"
    common.save_config(cfg, out / "train_config.json")
    data = common.SceneCache(common.ensure_data(run_dir, quick=cfg.quick)["train"])
    if cfg.text_train not in ("all", "embeddings"):
        raise ValueError(f"--text-train is all or embeddings, not {cfg.text_train!r}")
    vae, text, tok = load_frozen(run_dir, acc.device, Path(cfg.init_text) if cfg.init_text else run_dir / "clip" / "text_encoder")
    train_text = cfg.lr_text > 0
    text.requires_grad_(False)
    text_params = []
    if train_text:
        tm = getattr(text, "text_model", text)
        text_params = list((tm.embeddings.token_embedding if cfg.text_train == "embeddings" else text).parameters())
        for p in text_params:
            p.requires_grad_(True)
    latents = cached_latents(vae, data, acc.device, run_dir / "vae" / "latents.pt")
    null_caps = [c.replace(common.PLACEHOLDER, models.ObjectEncoderConfig.null_word) for c in data.placeholder]
    uniq = sorted(set(data.full) | (set(null_caps) if cfg.null_word_rate > 0 else set())) + [""]
    where = {c: i for i, c in enumerate(uniq)}
    with torch.no_grad():
        states = None if train_text else encode_texts(text, tok, uniq, acc.device)  # [U, L, D]
    cap_idx = torch.tensor([where[c] for c in data.full])
    null_idx = torch.tensor([where[c] for c in null_caps]) if cfg.null_word_rate > 0 else None
    empty = len(uniq) - 1
    print(f"cached {len(latents)} latents" + (f", text encoder trains ({cfg.text_train}, {sum(p.numel() for p in text_params)} "
                                               f"weights)" if train_text else f", {len(uniq)} caption states"), flush=True)

    torch.manual_seed(cfg.seed)
    unet = UNet2DConditionModel(**models.unet_config(text.config.hidden_size, cfg.quick, vae.config.latent_channels,
                                                     cfg.head_dim))
    if cfg.init_unet:
        init = UNet2DConditionModel.from_pretrained(cfg.init_unet, torch_dtype=torch.float32)
        fresh = warm_start(unet, init.state_dict())
        print(f"unet: started from {cfg.init_unet}" + (f"; new latent space, fresh {', '.join(fresh)}" if fresh else ""),
              flush=True)
    print(f"unet: {sum(p.numel() for p in unet.parameters()) / 1e6:.2f}M parameters", flush=True)
    # the object's mask at latent resolution, [N, 1, 16, 16] in [0, 1]
    lat_masks = F.adaptive_avg_pool2d(torch.from_numpy(data.masks).float().div(255.0)[:, None],
                                      latents.shape[-2:]) if cfg.mask_weight != 1.0 else None
    groups = [{"params": list(unet.parameters()), "lr": cfg.lr}]
    if train_text:
        groups.append({"params": text_params, "lr": cfg.lr_text})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=0.01)
    ema = levers.EMA(unet, cfg.ema_decay) if cfg.ema_decay > 0 else None
    text_ema = levers.EMA(text, cfg.ema_decay) if cfg.ema_decay > 0 and train_text else None
    text_modules = {"text": text, **({"text_ema": text_ema} if text_ema else {})} if train_text else {}
    ckpt = common.Checkpoint(out / "state.pt")
    step = ckpt.load({"unet": unet, **({"ema": ema} if ema else {}), **text_modules}, opt)
    unet, opt = acc.prepare(unet, opt)
    if ema:
        ema.model.to(acc.device)
    if text_ema:
        text_ema.model.to(acc.device)
    saved = {"unet": acc.unwrap_model(unet), **({"ema": ema} if ema else {}), **text_modules}  # what a checkpoint holds
    noise_sched = noise_scheduler()
    unet.train()

    def batch(gen):
        idx = torch.randint(len(data), (cfg.batch_size,), generator=gen)
        x0 = latents[idx]
        ci = cap_idx[idx].clone()
        u = torch.rand(len(idx), generator=gen)
        if null_idx is not None:
            nw = (u >= cfg.caption_dropout) & (u < cfg.caption_dropout + cfg.null_word_rate)
            ci[nw] = null_idx[idx][nw]
        ci[u < cfg.caption_dropout] = empty
        texts = [uniq[int(i)] for i in ci]
        rows = []  # the rows given a short caption
        if cfg.short_caption_rate > 0:
            short = (torch.rand(len(idx), generator=gen) < cfg.short_caption_rate) & (u >= cfg.caption_dropout)
            if short.any():
                rng = np.random.default_rng(int(torch.randint(2 ** 31, (1,), generator=gen)))
                rows = short.nonzero().flatten().tolist()
                for r in rows:
                    texts[r] = world.partial_caption(data.full[int(idx[r])], rng, models.ObjectEncoderConfig.null_word)
        if train_text:
            cond = encode_texts(text, tok, texts, acc.device)
        else:
            cond = states[ci.to(states.device)]
            if rows:
                with torch.no_grad():
                    cond[rows] = encode_texts(text, tok, [texts[r] for r in rows], acc.device)
        noise = torch.randn(x0.shape, generator=gen).to(acc.device)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(idx),), generator=gen).to(acc.device)
        xt = noise_sched.add_noise(x0, noise, t)
        pred = unet(xt, t, encoder_hidden_states=cond).sample
        w = levers.min_snr_weights(noise_sched.alphas_cumprod, t, cfg.min_snr_gamma).to(acc.device)
        err = F.mse_loss(pred, noise, reduction="none")
        if lat_masks is not None:
            m = lat_masks[idx].to(acc.device)
            err = err * (1 + (cfg.mask_weight - 1) * m) / (1 + (cfg.mask_weight - 1) * m.mean(dim=(1, 2, 3), keepdim=True))
        loss = (err.mean(dim=(1, 2, 3)) * w).mean()
        return loss, {"loss": loss.item()}

    def after_update():
        if ema:
            ema.update(acc.unwrap_model(unet))
        if text_ema:
            text_ema.update(text)

    def keep(step):
        if cfg.keep_every and step % cfg.keep_every == 0:
            common.Checkpoint(out / "snapshots" / f"step-{step}.pt").save(saved, None, step)

    common.train_loop(acc, cfg, "base", opt, ckpt, saved, step, batch,
                      lambda s: levers.lr_factor(s, cfg.steps, 100, cfg.lr_schedule, 0.1, cfg.final_decay),
                      clip_params=list(unet.parameters()) + text_params, after_update=after_update,
                      after_step=keep, max_minutes=cfg.max_minutes)
    (ema.model if ema else acc.unwrap_model(unet)).save_pretrained(out / "unet")
    (text_ema.model if text_ema else text).save_pretrained(out / "text_encoder")
    print(f"wrote {out / 'unet'} and {out / 'text_encoder'}", flush=True)


if __name__ == "__main__":
    main()
