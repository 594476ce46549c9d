"""Shared pieces of the training stages: config flags, the rendered data cache, the WordLevel
tokenizer, checkpoints. Models live in models.py and have no I/O."""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from . import world

PLACEHOLDER = "<obj>"
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]  # ids 0..3; eos != 2 so CLIP pools at the eos id


# ---------------------------------------------------------------- configs

def parse_config(cls, argv=None):
    """A dataclass config from argparse flags; defaults reproduce the published numbers."""
    import argparse

    p = argparse.ArgumentParser(description=cls.__doc__)
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes", "on"), default=default,
                           metavar="BOOL")
        elif isinstance(default, (list, tuple)):
            p.add_argument(flag, type=type(default[0]) if default else str, nargs="*", default=default)
        else:
            p.add_argument(flag, type=type(default) if default is not None else str, default=default)
    ns = p.parse_args(argv)
    return cls(**vars(ns))


def save_config(cfg, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    os.replace(tmp, path)


def device_of(accelerator=None) -> torch.device:
    if accelerator is not None:
        return accelerator.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---------------------------------------------------------------- data cache

def render_cache(path: Path, split: str, scenes_per_identity: int, seed: int, limit: Optional[int] = None):
    """Renders `scenes_per_identity` scenes of every identity of `split` into an npz file.
    Several scenes per identity give the cross-reference pairs of the encoder stage."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    idents = world.identities(split)
    if limit:
        idents = [idents[i] for i in rng.permutation(len(idents))[:limit]]
    n = len(idents) * scenes_per_identity
    images = np.zeros((n, 64, 64, 3), np.uint8)
    masks = np.zeros((n, 64, 64), np.uint8)
    full, placeholder, ident_idx, meta = [], [], [], []
    t0 = time.time()
    k = 0
    for i, ident in enumerate(idents):
        for _ in range(scenes_per_identity):
            sc = world.sample_scene(ident, rng)
            im, m = world.render(sc)
            images[k] = np.asarray(im)
            masks[k] = m
            full.append(world.caption(sc))
            placeholder.append(world.caption(sc, PLACEHOLDER))
            ident_idx.append(i)
            meta.append(json.dumps({"size": sc.size, "position": sc.position, "background": sc.background}))
            k += 1
        if i % 200 == 0:
            print(f"render {split}: {k}/{n} scenes, {time.time() - t0:.0f}s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, images=images, masks=masks, full=np.array(full), placeholder=np.array(placeholder),
             ident=np.array(ident_idx), ident_keys=np.array([x.key() for x in idents]), meta=np.array(meta))
    os.replace(tmp, path)


class ImageSet:
    """What the stages read from a training set: uint8 images [N, R, R, 3], masks [N, R, R],
    captions, and the identity index (`ident`, `by_ident`) that cross-reference pairs come from."""

    images: np.ndarray
    masks: np.ndarray
    ident: np.ndarray

    def _index_identities(self):
        self.by_ident: dict[int, list[int]] = {}
        for i, k in enumerate(self.ident):
            self.by_ident.setdefault(int(k), []).append(i)

    def __len__(self):
        return len(self.images)

    def image_tensor(self, idx) -> torch.Tensor:
        """[B, 3, R, R] in [-1, 1]"""
        x = torch.from_numpy(self.images[idx]).float().div(127.5).sub(1.0)
        return x.permute(0, 3, 1, 2).contiguous()

    def mask_tensor(self, idx) -> torch.Tensor:
        """[B, 1, R, R] in [0, 1]"""
        return torch.from_numpy(self.masks[idx]).float().div(255.0)[:, None]


class SceneCache(ImageSet):
    def __init__(self, path: Path):
        z = np.load(path)
        self.images = z["images"]
        self.masks = z["masks"]
        self.full = [str(s) for s in z["full"]]
        self.placeholder = [str(s) for s in z["placeholder"]]
        self.ident = z["ident"]
        self.ident_keys = [str(s) for s in z["ident_keys"]]
        self.meta = [json.loads(str(s)) for s in z["meta"]]
        self._index_identities()


def data_paths(run_dir: Path) -> dict:
    return {"train": run_dir / "data" / "train.npz", "heldout": run_dir / "data" / "heldout.npz"}


def ensure_data(run_dir: Path, scenes_per_identity: int = 8, seed: int = 0, quick: bool = False):
    paths = data_paths(run_dir)
    limit = 24 if quick else None
    render_cache(paths["train"], "train", 3 if quick else scenes_per_identity, seed, limit)
    render_cache(paths["heldout"], "heldout", 3 if quick else 4, seed + 1, 12 if quick else None)
    return paths


# ---------------------------------------------------------------- tokenizer

def build_tokenizer(out_dir: Path, max_length: int):
    """WordLevel tokenizer over the caption grammar's words (tokenizer.json + tokenizer_config.json)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for w in world.vocabulary():
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", special_tokens=[("<bos>", vocab["<bos>"]), ("<eos>", vocab["<eos>"])])
    tok.add_special_tokens(SPECIALS)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_length,
        "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
    }, indent=2))
    return load_tokenizer(out_dir)


def load_tokenizer(folder: Path):
    from transformers import PreTrainedTokenizerFast
    return PreTrainedTokenizerFast.from_pretrained(str(folder))


def tokenize(tokenizer, texts: list[str]) -> torch.Tensor:
    out = tokenizer(texts, padding="max_length", truncation=True, max_length=tokenizer.model_max_length,
                    return_tensors="pt")
    return out["input_ids"]


# ---------------------------------------------------------------- checkpoints

class Checkpoint:
    """Resumable training state (modules, optimizer, step) in one file, written atomically."""

    def __init__(self, path: Path):
        self.path = path

    def load(self, modules: dict, optimizer=None) -> int:
        if not self.path.exists():
            return 0
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        for name, m in modules.items():
            m.load_state_dict(state["modules"][name])
        if optimizer is not None and "optimizer" in state:
            optimizer.load_state_dict(state["optimizer"])
        if "rng" in state:
            torch.set_rng_state(state["rng"])
        print(f"resumed {self.path} at step {state['step']}", flush=True)
        return int(state["step"])

    def save(self, modules: dict, optimizer, step: int, extra: Optional[dict] = None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {"modules": {k: m.state_dict() for k, m in modules.items()}, "step": step,
                 "rng": torch.get_rng_state()}
        if optimizer is not None:
            state["optimizer"] = optimizer.state_dict()
        if extra:
            state.update(extra)
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)


class Deadline:
    """A wall-clock budget for a training loop (`--max-minutes`; 0: none). After `probe` steps
    it measures the loop's speed and shortens the run to the steps that fit (`fit`), so the
    learning-rate schedule, which reads the run's steps, still decays to its end within the
    budget; should the loop still run out of time (`passed`), the stage saves and finishes as
    if its steps were done. For fixed-length sessions and device leases."""

    def __init__(self, minutes: float, probe: int = 20, margin: float = 0.95):
        self.minutes, self.probe, self.margin = minutes, probe, margin
        self.t0, self.start, self.fitted = time.time(), None, False

    def passed(self) -> bool:
        return self.minutes > 0 and time.time() - self.t0 >= self.minutes * 60

    def fit(self, step: int, steps: int) -> int:
        """The run's steps given that `step` steps are done: unchanged until the speed is known."""
        if self.minutes <= 0 or self.fitted:
            return steps
        if self.start is None:
            self.start, self.t_start = step, time.time()
            return steps
        if step - self.start < self.probe:
            return steps
        self.fitted = True
        rate = (step - self.start) / max(time.time() - self.t_start, 1e-9)
        left = self.minutes * 60 * self.margin - (time.time() - self.t0)
        fitted = min(steps, step + max(1, int(rate * left)))
        if fitted < steps:
            print(f"time budget of {self.minutes:g} min: {rate:.2f} steps/s, running {fitted} steps instead of "
                  f"{steps}", flush=True)
        return fitted

    def report(self, stage: str, step: int, total: int):
        print(f"{stage}: time budget of {self.minutes:g} min reached at step {step}/{total}", flush=True)


def train_loop(acc, cfg, stage: str, opt, ckpt: "Checkpoint", saved: dict, step: int, batch, lr_lambda, *,
               clip_params=None, after_update=None, after_step=None, max_minutes: float = 0.0,
               stop_at: int = 0) -> int:
    """The loop every training stage shares; a stage keeps only its model, batch and loss.

    batch(gen) -> (loss, {name: float}): one batch's loss and the values to log, drawing its
    randomness from `gen` (seeded with cfg.seed + step, so a resumed run continues the stream);
    lr_lambda(step) multiplies each parameter group's base learning rate; clip_params: gradients
    clipped to norm 1; after_update(): after each optimiser step (EMA); after_step(step): after
    the log line (evaluations, kept snapshots). Saves `saved` (name -> module) with the optimiser
    every cfg.save_every steps, at the end and when the `max_minutes` budget runs out (Deadline);
    stop_at > 0 ends the run there while the schedule still reads cfg.steps (a checkpoint taken
    part-way through a schedule, reproduced). Returns the last step."""
    if step:
        for g in opt.param_groups:  # a checkpoint from a loop without a scheduler has no initial_lr
            g.setdefault("initial_lr", g["lr"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda, last_epoch=step - 1 if step else -1)
    gen = torch.Generator().manual_seed(cfg.seed + step)
    log = Log()
    deadline = Deadline(max_minutes)
    while step < cfg.steps:
        loss, values = batch(gen)
        opt.zero_grad(set_to_none=True)
        acc.backward(loss)
        if clip_params is not None:
            acc.clip_grad_norm_(clip_params, 1.0)
        opt.step()
        sched.step()
        if after_update is not None:
            after_update()
        step += 1
        log(step, cfg.steps, cfg.batch_size, **values)
        if after_step is not None:
            after_step(step)
        cfg.steps = deadline.fit(step, cfg.steps)
        stop = deadline.passed() or step == stop_at
        if step % cfg.save_every == 0 or step == cfg.steps or stop:
            ckpt.save(saved, opt, step)
        if stop:
            if step != stop_at:
                deadline.report(stage, step, cfg.steps)
            break
    return step


class Log:
    def __init__(self, every: int = 25):
        self.every, self.t0, self.acc, self.n = every, time.time(), {}, 0

    def __call__(self, step: int, total: int, batch: int, **vals):
        for k, v in vals.items():
            self.acc[k] = self.acc.get(k, 0.0) + float(v)
        self.n += 1
        if step % self.every == 0 or step == total:
            dt = time.time() - self.t0
            parts = " ".join(f"{k} {v / self.n:.4f}" for k, v in self.acc.items())
            print(f"step {step}/{total} {parts} {self.n * batch / max(dt, 1e-9):.1f} img/s", flush=True)
            self.t0, self.acc, self.n = time.time(), {}, 0
