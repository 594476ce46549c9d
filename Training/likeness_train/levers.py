"""Training levers for small diffusion models, each off by default so a stage's defaults keep
reproducing the committed model: an exponential moving average of the weights for sampling,
min-SNR-gamma loss weighting (Hang et al. 2023) and the learning-rate schedule. No I/O."""
from __future__ import annotations

import copy
import math

import torch


class EMA:
    """Shadow weights w_ema <- decay * w_ema + (1 - decay) * w, with the warm-up of diffusers'
    EMAModel (decay_t = min(decay, (1 + t) / (10 + t))) so early averages are not stuck at the
    initial weights."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module):
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict):
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


def min_snr_weights(alphas_cumprod: torch.Tensor, t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per-sample loss weights min(SNR_t, gamma) / SNR_t for epsilon prediction (1 everywhere
    when gamma <= 0). SNR_t = alpha_bar_t / (1 - alpha_bar_t)."""
    if gamma <= 0:
        return torch.ones(t.shape, dtype=torch.float32)
    a = alphas_cumprod.to(torch.float64)[t.cpu()]
    snr = a / (1 - a)
    return (torch.clamp(snr, max=gamma) / snr).to(torch.float32)


def lr_factor(step: int, total: int, warmup: int, schedule: str, floor: float, final_decay: float = 0.1) -> float:
    """Multiplier of the base learning rate at `step`: linear warm-up over `warmup` steps, then
    "linear" decay to `floor` at `total`, "cosine" decay to `floor`, or "constant" until the last
    `final_decay` share of the run, which decays linearly to `floor` (so a checkpoint taken before
    that point is at the same learning rate as any other: a compute curve, and a run that can be
    lengthened without changing its past)."""
    w = min(1.0, (step + 1) / max(1, warmup))
    frac = min(1.0, step / max(1, total))
    if schedule == "constant":
        start = 1.0 - final_decay
        if frac <= start:
            return w
        return w * (1 - (1 - floor) * (frac - start) / max(1e-9, final_decay))
    if schedule == "linear":
        return w * max(floor, 1 - frac)
    if schedule == "cosine":
        return w * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))
    raise ValueError(f"unknown lr schedule {schedule!r}: use linear or cosine")
