"""Stage 1, clip: a tiny CLIP trained on Toybox images and full captions. Its text tower becomes
the text encoder; its vision tower initialises the object encoder.

Contrastive batches alone let a batch be matched on colour, background and position, so the
first towers never learned to tell round shapes apart (towers.py measures it). Three terms make
every attribute separable, each switchable:
- hard negatives: every caption brings a copy with one attribute changed (the shape in half of
  them) into the image-to-text softmax (`hard_negatives`);
- attribute heads: linear heads on the vision tower's pooled output and the text tower's
  pooled output predict each ground-truth attribute, and heads on the text states at the size,
  colour and shape words predict that word's value (`attribute_weight`);
- token separation: the final states at the shape and colour words of captions with different
  values are pushed below a cosine of `separation_margin` (`separation_weight`).
With `fresh_scenes`, every batch is newly rendered, so no image is seen twice.
The heads are not exported."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import common, models, towers, world


@dataclasses.dataclass
class ClipConfig:
    """Train the tiny CLIP (stage 1)."""
    run_dir: str = "runs/toybox"
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    max_length: int = 32
    seed: int = 0
    quick: bool = False
    save_every: int = 200
    hard_negatives: bool = True
    attribute_weight: float = 1.0
    separation_weight: float = 1.0
    separation_margin: float = 0.3
    # The vision tower's shape (RESULTS.md, "the towers"): a dense head on the patch states that
    # predicts each patch's pixels of the object's mask (weight 0: off), a multiplier of the
    # vision shape head's loss, and whether the text tower trains (false: the text tower, its
    # projection and its heads stay as `init_state` left them, so a base model trained on that
    # text encoder stays valid while the vision tower improves).
    mask_weight: float = 0.0
    # a head on every patch state predicts the object's shape, each patch weighted by how much of
    # it the object covers (0: off): shape supervision where the outline is, not only at the pooled state
    patch_shape_weight: float = 0.0
    vision_shape_weight: float = 1.0
    train_text: bool = True
    # every batch renders new scenes of training identities instead of drawing from the scene
    # cache: on the cache's 20,104 images the towers' heads read shape at 1.000 and on new
    # scenes of the same identities at 0.78 (scripts/vision_memorization_diag.py), i.e. they
    # memorise the cached images instead of learning the outline
    fresh_scenes: bool = False
    init_state: str = ""  # a clip state.pt, or a CLIPModel folder, to start from (weights only; a fresh optimiser)
    max_minutes: float = 0.0  # stop, save and export after this much wall time (0: no limit)
    stop_at: int = 0  # stop, save and export at this step, the schedule still reading `steps`


def main(argv=None):
    cfg = common.parse_config(ClipConfig, argv)
    run(cfg)


class AttributeHeads(torch.nn.Module):
    """Linear heads: pooled vision and text states -> every attribute; text states at the size,
    colour and shape words -> that word's value."""

    def __init__(self, dv: int, dt: int, patch: int = 8):
        super().__init__()
        A = towers.ATTRIBUTES
        self.vision = torch.nn.ModuleDict({a: torch.nn.Linear(dv, len(v)) for a, v in A.items()})
        self.text = torch.nn.ModuleDict({a: torch.nn.Linear(dt, len(v)) for a, v in A.items()})
        self.token = torch.nn.ModuleDict({a: torch.nn.Linear(dt, len(A[a])) for a in towers.TOKEN_INDEX})
        self.mask = torch.nn.Linear(dv, patch * patch)  # patch state -> its pixels' mask logits
        self.patch_shape = torch.nn.Linear(dv, len(A["shape"]))  # patch state -> the object's shape

    def mask_loss(self, patch_states: torch.Tensor, masks: torch.Tensor, patch: int) -> torch.Tensor:
        """patch_states [B, P, Dv] (P patches row-major), masks [B, R, R] in {0, 1}"""
        b, r = masks.shape[0], masks.shape[-1]
        g = r // patch
        target = masks.view(b, g, patch, g, patch).permute(0, 1, 3, 2, 4).reshape(b, g * g, patch * patch)
        return F.binary_cross_entropy_with_logits(self.mask(patch_states), target)

    def patch_shape_loss(self, patch_states: torch.Tensor, masks: torch.Tensor, patch: int,
                         shape: torch.Tensor) -> torch.Tensor:
        """cross-entropy of every patch's shape prediction, weighted by the patch's object coverage"""
        cover = F.avg_pool2d(masks[:, None], patch).flatten(1)  # [B, P]
        logits = self.patch_shape(patch_states)  # [B, P, S]
        ce = F.cross_entropy(logits.transpose(1, 2), shape[:, None].expand(-1, logits.shape[1]), reduction="none")
        return (ce * cover).sum() / cover.sum().clamp_min(1e-6)


def batch_labels(scenes, image: bool) -> dict:
    """attribute -> class index tensor; image labels read a half-and-half pattern's colours unordered"""
    if image:
        return {a: torch.tensor([towers._image_label(s, a) for s in scenes]) for a in towers.ATTRIBUTES}
    ls = [towers.labels(s) for s in scenes]
    return {a: torch.tensor([x[a] for x in ls]) for a in towers.ATTRIBUTES}


def separation(states: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """mean squared excess of cosine above `margin` between states [N, D] of different labels"""
    v = F.normalize(states, dim=-1)
    c = v @ v.t()
    differ = labels[:, None] != labels[None, :]
    return (F.relu(c - margin) ** 2)[differ].mean() if differ.any() else c.sum() * 0


def run(cfg: ClipConfig):
    from accelerate import Accelerator
    from transformers import CLIPModel

    acc = Accelerator(cpu=not torch.cuda.is_available())
    run_dir = Path(cfg.run_dir)
    out = run_dir / "clip"
    common.save_config(cfg, out / "train_config.json")
    if not cfg.fresh_scenes:  # fresh batches never read the scene cache
        data = common.SceneCache(common.ensure_data(run_dir, quick=cfg.quick)["train"])
        scenes = [towers.scene_of(k, m) for k, m in zip((data.ident_keys[i] for i in data.ident), data.meta)]
        suffix = [f[len(world.caption(s)):] for f, s in zip(data.full, scenes)]  # ", next to a ..." or ""
        for f, s, x in zip(data.full[:50], scenes, suffix):
            if world.caption(s) + x != f:
                raise RuntimeError(f"the scene cache's caption {f!r} is not the grammar's {world.caption(s)!r}")
    tok = common.build_tokenizer(out / "tokenizer", cfg.max_length)
    torch.manual_seed(cfg.seed)
    clip_cfg = models.clip_config(len(tok), cfg.max_length, cfg.quick)
    model = CLIPModel(clip_cfg)
    patch = clip_cfg.vision_config.patch_size
    heads = AttributeHeads(clip_cfg.vision_config.hidden_size, clip_cfg.text_config.hidden_size, patch)
    ckpt = common.Checkpoint(out / "state.pt")
    if cfg.init_state and not ckpt.path.exists() and Path(cfg.init_state).is_dir():
        # a committed CLIPModel folder (e.g. checkpoints/clip-toybox2/clip_model): its towers and
        # projections, and fresh heads
        model.load_state_dict(CLIPModel.from_pretrained(cfg.init_state).state_dict())
        print(f"clip: started from {cfg.init_state} (fresh heads)", flush=True)
    elif cfg.init_state and not ckpt.path.exists():
        init = torch.load(cfg.init_state, map_location="cpu", weights_only=False)["modules"]
        model.load_state_dict(init["model"])
        missing, unexpected = heads.load_state_dict(init["heads"], strict=False)
        if unexpected or any(not k.startswith(("mask.", "patch_shape.")) for k in missing):
            raise ValueError(f"{cfg.init_state}: heads missing {missing}, unused {unexpected}")
        print(f"clip: started from {cfg.init_state}", flush=True)
    if not cfg.train_text:
        for part in (model.text_model, model.text_projection, heads.text, heads.token):
            part.requires_grad_(False)
    params = [p for p in list(model.parameters()) + list(heads.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.05)
    step = ckpt.load({"model": model, "heads": heads}, opt)
    model, heads, opt = acc.prepare(model, heads, opt)
    rng = np.random.default_rng(cfg.seed + step)
    model.train()
    m, h = acc.unwrap_model(model), acc.unwrap_model(heads)

    def batch(gen):
        if cfg.fresh_scenes:
            images, masks, batch_scenes = towers.render_scenes(cfg.batch_size, rng, "train", masks=True)
            images, masks = images.to(acc.device), masks.to(acc.device)
            texts = [world.caption(sc) for sc in batch_scenes]
            extra = [""] * len(batch_scenes)  # world.caption already names the companion
        else:
            idx = torch.randint(len(data), (cfg.batch_size,), generator=gen).numpy()
            images = data.image_tensor(idx).to(acc.device)
            masks = data.mask_tensor(idx)[:, 0].to(acc.device)
            batch_scenes = [scenes[i] for i in idx]
            texts = [data.full[i] for i in idx]
            extra = [suffix[i] for i in idx]
        n = len(batch_scenes)
        text_scenes = list(batch_scenes)
        if cfg.hard_negatives:
            negs = [towers.hard_negative(s, rng) for s in batch_scenes]
            texts += [world.caption(ng) + x for ng, x in zip(negs, extra)]
            text_scenes += negs
        ids = common.tokenize(tok, texts).to(acc.device)
        v_out = m.vision_model(pixel_values=images)
        t_out = m.text_model(input_ids=ids)
        img = F.normalize(m.visual_projection(v_out.pooler_output), dim=-1)
        txt = F.normalize(m.text_projection(t_out.pooler_output), dim=-1)
        logits = m.logit_scale.exp() * img @ txt.t()  # [B, B or 2B]
        # identical captions are positives for each other; hard negatives are never positives
        same = torch.tensor([[texts[i] == texts[j] for j in range(len(texts))] for i in range(n)],
                            device=acc.device).float()
        same[:, n:] = 0.0
        target = same / same.sum(1, keepdim=True)
        sq = same[:, :n]
        loss_clip = (F.cross_entropy(logits, target) +
                     F.cross_entropy(logits[:, :n].t(), (sq / sq.sum(1, keepdim=True)).t())) / 2
        loss = loss_clip
        terms = {"clip": loss_clip.item()}
        if cfg.attribute_weight > 0 or cfg.separation_weight > 0:  # the captions' labels, hard negatives included
            tl = batch_labels(text_scenes, False)
        if cfg.attribute_weight > 0:
            vl = batch_labels(batch_scenes, True)
            la = sum(F.cross_entropy(h.vision[a](v_out.pooler_output), vl[a].to(acc.device)) *
                     (cfg.vision_shape_weight if a == "shape" else 1.0) for a in vl)
            la = la + sum(F.cross_entropy(h.text[a](t_out.pooler_output), tl[a].to(acc.device)) for a in tl)
            la = la + sum(F.cross_entropy(h.token[a](t_out.last_hidden_state[:, k]), tl[a].to(acc.device))
                          for a, k in towers.TOKEN_INDEX.items())
            loss = loss + cfg.attribute_weight * la / len(towers.ATTRIBUTES)
            terms["attr"] = la.item()
        if cfg.separation_weight > 0:
            ls = sum(separation(t_out.last_hidden_state[:, towers.TOKEN_INDEX[a]], tl[a].to(acc.device),
                                cfg.separation_margin) for a in ("shape", "color"))
            loss = loss + cfg.separation_weight * ls
            terms["sep"] = ls.item()
        if cfg.mask_weight > 0:
            lm = h.mask_loss(v_out.last_hidden_state[:, 1:], masks, patch)
            loss = loss + cfg.mask_weight * lm
            terms["mask"] = lm.item()
        if cfg.patch_shape_weight > 0:
            lp = h.patch_shape_loss(v_out.last_hidden_state[:, 1:], masks, patch,
                                    batch_labels(batch_scenes, True)["shape"].to(acc.device))
            loss = loss + cfg.patch_shape_weight * lp
            terms["pshape"] = lp.item()
        with torch.no_grad():
            terms["acc"] = (logits.argmax(1) == torch.arange(n, device=acc.device)).float().mean().item()
        return loss, terms

    common.train_loop(acc, cfg, "clip", opt, ckpt, {"model": m, "heads": h}, step, batch,
                      lambda s: min(1.0, (s + 1) / 100) * max(0.05, 1 - s / cfg.steps), max_minutes=cfg.max_minutes,
                      stop_at=cfg.stop_at)
    model = acc.unwrap_model(model)
    export(model, out)


def export(model, out: Path):
    """Writes the towers as a transformers CLIPTextModel and CLIPVisionModel."""
    from transformers import CLIPTextModel, CLIPVisionModel

    text = CLIPTextModel(model.config.text_config)
    _copy_tower(model.text_model, text)
    text.save_pretrained(out / "text_encoder")
    vision = CLIPVisionModel(model.config.vision_config)
    _copy_tower(model.vision_model, vision)
    vision.save_pretrained(out / "vision_model")
    model.save_pretrained(out / "clip_model")  # with the projections, for the tower report's retrieval
    print(f"wrote {out / 'text_encoder'}, {out / 'vision_model'} and {out / 'clip_model'}", flush=True)


def _copy_tower(src, dst):
    """A CLIPModel tower (nested in transformers 4, flat in 5) into a standalone model."""
    target = getattr(dst, "text_model", None) or getattr(dst, "vision_model", None) or dst
    missing, unexpected = target.load_state_dict(src.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"tower copy: missing {missing}, unexpected {unexpected}")


if __name__ == "__main__":
    main()
