"""Stage 1, clip: a tiny CLIP trained contrastively on Toybox images and full captions.
Its text tower becomes the text encoder; its vision tower initialises the object encoder."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from . import common, models


@dataclasses.dataclass
class ClipConfig:
    """Train the tiny CLIP (stage 1)."""
    run_dir: str = "runs/toybox"
    steps: int = 800
    batch_size: int = 128
    lr: float = 1e-3
    max_length: int = 32
    seed: int = 0
    quick: bool = False
    save_every: int = 200


def main(argv=None):
    cfg = common.parse_config(ClipConfig, argv)
    run(cfg)


def run(cfg: ClipConfig):
    from accelerate import Accelerator
    from transformers import CLIPConfig, CLIPModel

    acc = Accelerator(cpu=not torch.cuda.is_available())
    run_dir = Path(cfg.run_dir)
    out = run_dir / "clip"
    common.save_config(cfg, out / "train_config.json")
    paths = common.ensure_data(run_dir, quick=cfg.quick)
    data = common.SceneCache(paths["train"])
    tok = common.build_tokenizer(out / "tokenizer", cfg.max_length)
    torch.manual_seed(cfg.seed)
    clip_cfg = CLIPConfig(text_config=models.clip_text_config(len(tok), cfg.max_length, cfg.quick),
                          vision_config=models.clip_vision_config(cfg.quick), projection_dim=64)
    model = CLIPModel(clip_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.05)
    ckpt = common.Checkpoint(out / "state.pt")
    step = ckpt.load({"model": model}, opt)
    model, opt = acc.prepare(model, opt)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100) * max(0.05, 1 - s / cfg.steps),
                                              last_epoch=step - 1 if step else -1)
    gen = torch.Generator().manual_seed(cfg.seed + step)
    log = common.Log()
    model.train()
    while step < cfg.steps:
        idx = torch.randint(len(data), (cfg.batch_size,), generator=gen).numpy()
        images = data.image_tensor(idx).to(acc.device)
        ids = common.tokenize(tok, [data.full[i] for i in idx]).to(acc.device)
        out_ = model(input_ids=ids, pixel_values=images, return_loss=False)
        logits = out_.logits_per_image
        # identical captions in a batch are positives for each other
        same = torch.tensor([[data.full[i] == data.full[j] for j in idx] for i in idx], device=acc.device).float()
        target = same / same.sum(1, keepdim=True)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target.t())) / 2
        opt.zero_grad(set_to_none=True)
        acc.backward(loss)
        opt.step()
        sched.step()
        step += 1
        with torch.no_grad():
            accuracy = (logits.argmax(1) == torch.arange(len(idx), device=acc.device)).float().mean()
        log(step, cfg.steps, cfg.batch_size, loss=loss.item(), acc=accuracy.item())
        if step % cfg.save_every == 0 or step == cfg.steps:
            ckpt.save({"model": acc.unwrap_model(model)}, opt, step)
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
    print(f"wrote {out / 'text_encoder'} and {out / 'vision_model'}", flush=True)


def _copy_tower(src, dst):
    """A CLIPModel tower (nested in transformers 4, flat in 5) into a standalone model."""
    target = getattr(dst, "text_model", None) or getattr(dst, "vision_model", None) or dst
    missing, unexpected = target.load_state_dict(src.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"tower copy: missing {missing}, unexpected {unexpected}")


if __name__ == "__main__":
    main()
