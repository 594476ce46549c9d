"""Stage 2, vae: a diffusers AutoencoderKL with 4x downsampling and 4 latent channels,
KL-regularised, trained on Toybox renders. Reports reconstruction PSNR on held-out scenes.

--decoder-only (with --init-from): the encoder, its quant_conv and the scaling factor stay as they
are and only the decoder trains on the encoder's posterior samples, so the latent space, and every
base and object encoder trained on it, stays valid while the reconstructions improve."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from . import common, levers, models


@dataclasses.dataclass
class VaeConfig:
    """Train the VAE (stage 2)."""
    run_dir: str = "runs/toybox"
    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3
    kl_weight: float = 1e-6
    seed: int = 0
    quick: bool = False
    save_every: int = 250
    # Architecture: block_out_channels (comma-separated; the first runs at full resolution) and
    # resnet layers per block. Empty keeps models.vae_config.
    channels: str = ""
    layers_per_block: int = 0
    latent_channels: int = 4
    # Start from these weights (a diffusers AutoencoderKL folder, e.g. a committed checkpoint)
    # when the run has no state.pt yet; the architecture flags must match it.
    init_from: str = ""
    # Held-out PSNR every N steps (0: only at the end), for learning curves.
    eval_every: int = 0
    # Length of the learning-rate decay (0: --steps). A run stopped early on a longer schedule
    # (e.g. the committed snapshot: 3000 steps of a 6000-step decay) is reproduced with both.
    schedule_steps: int = 6000
    max_minutes: float = 0.0  # stop, save and finish after this much wall time (0: no limit)
    # Train only the decoder (post_quant_conv and decoder) of the --init-from VAE; the latent
    # space and scaling_factor are kept.
    decoder_only: bool = False


def main(argv=None):
    run(common.parse_config(VaeConfig, argv))


def psnr(a, b) -> float:
    """a, b in [-1, 1]"""
    mse = F.mse_loss((a.clamp(-1, 1) + 1) / 2, (b + 1) / 2).item()
    return 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item()


def run(cfg: VaeConfig):
    from accelerate import Accelerator
    from diffusers import AutoencoderKL

    if cfg.decoder_only and not cfg.init_from:
        raise ValueError("--decoder-only keeps an existing VAE's latent space: give it --init-from")
    acc = Accelerator(cpu=not torch.cuda.is_available())
    run_dir = Path(cfg.run_dir)
    out = run_dir / "vae"
    common.save_config(cfg, out / "train_config.json")
    paths = common.ensure_data(run_dir, quick=cfg.quick)
    data = common.SceneCache(paths["train"])
    held = common.SceneCache(paths["heldout"])
    torch.manual_seed(cfg.seed)
    vae = AutoencoderKL(**models.vae_config(cfg.quick, channels=cfg.channels, layers_per_block=cfg.layers_per_block,
                                              latent_channels=cfg.latent_channels))
    # a decoder-only run keeps the starting VAE's scaling factor (its config alone, also on resume)
    kept_scaling = AutoencoderKL.load_config(cfg.init_from)["scaling_factor"] if cfg.decoder_only else None
    if cfg.init_from and not (out / "state.pt").exists():
        vae.load_state_dict(AutoencoderKL.from_pretrained(cfg.init_from, torch_dtype=torch.float32).state_dict())
        print(f"vae: starting from {cfg.init_from}", flush=True)
    if cfg.decoder_only:
        for part in (vae.encoder, vae.quant_conv):
            part.requires_grad_(False)
    trained = [p for p in vae.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=cfg.lr, weight_decay=0.0)
    ckpt = common.Checkpoint(out / "state.pt")
    step = ckpt.load({"vae": vae}, opt)
    vae, opt = acc.prepare(vae, opt)
    vae.train()
    m = acc.unwrap_model(vae)

    def batch(gen):
        idx = torch.randint(len(data), (cfg.batch_size,), generator=gen).numpy()
        x = data.image_tensor(idx).to(acc.device)
        with torch.set_grad_enabled(not cfg.decoder_only):
            posterior = m.encode(x).latent_dist
            z = posterior.sample()
        rec = m.decode(z).sample
        rec_loss = F.l1_loss(rec, x) + F.mse_loss(rec, x)
        if cfg.decoder_only:
            return rec_loss, {"rec": rec_loss.item()}
        kl = posterior.kl().mean()
        return rec_loss + cfg.kl_weight * kl, {"rec": rec_loss.item(), "kl": kl.item()}

    def evaluate(step):
        if not cfg.eval_every or step % cfg.eval_every:
            return
        m.eval()
        with torch.no_grad():
            xh = held.image_tensor(range(min(256, len(held)))).to(acc.device)
            p = psnr(m.decode(m.encode(xh).latent_dist.mode()).sample, xh)
        m.train()
        print(f"eval step {step} images {step * cfg.batch_size} heldout_psnr_db {p:.2f}", flush=True)

    step = common.train_loop(acc, cfg, "vae", opt, ckpt, {"vae": m}, step, batch,
                             lambda s: levers.lr_factor(s, cfg.schedule_steps or cfg.steps, 50, "linear", 0.05),
                             after_step=evaluate, max_minutes=cfg.max_minutes)
    vae = acc.unwrap_model(vae).eval()
    with torch.no_grad():
        x = held.image_tensor(range(min(256, len(held)))).to(acc.device)
        lat = vae.encode(x).latent_dist.mode()
        p = psnr(vae.decode(lat).sample, x)
    std = latent_std(vae, data, acc.device)
    # The decoder alone trained: the latent space, and so its scale, is the starting VAE's.
    scaling = kept_scaling if cfg.decoder_only else 1.0 / std
    vae.register_to_config(scaling_factor=scaling)
    vae.save_pretrained(out / "model")
    metrics = {"heldout_psnr_db": p, "latent_std": std, "scaling_factor": scaling, "steps": step,
               "decoder_only": cfg.decoder_only}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"vae: held-out reconstruction PSNR {p:.2f} dB, scaling_factor {scaling:.4f}", flush=True)


@torch.no_grad()
def latent_std(vae, data: common.SceneCache, device) -> float:
    """The std of the posterior means over about 512 evenly spaced training scenes; the VAE's
    scaling_factor is its inverse (latents of unit variance for the base stage)."""
    x = data.image_tensor(range(0, len(data), max(1, len(data) // 512))).to(device, vae.dtype)
    return vae.encode(x).latent_dist.mode().float().std().item()


if __name__ == "__main__":
    main()
