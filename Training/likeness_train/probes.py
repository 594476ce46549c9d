"""ToyBench probes: one small CNN with a head per attribute, trained only on ground-truth Toybox
renders (never on generated images), that reads a 64x64 image back into the world's attributes.

Attributes read (DESIGN.md section 5): the main object's shape, color, pattern, pattern_color
("none" for plain objects), and the scene's background, position, size, and whether a companion
object is present. Stripes, checks and zigzags cover half the body (45-50%), so which of the two
colours is the body and which the pattern shows only in the pattern's phase at the object's centre:
a red star with blue stripes looks like a blue star with red stripes. For those patterns the probes
read, and ToyBench scores, the two colours as an unordered pair, written in world.COLOR_NAMES order
(`identity_attributes`). Dots cover about 28% of the body, so dotted objects keep the order. Training scenes are drawn from both identity splits (the probes never train the
generator, and ToyBench scores held-out identities, so the probes must have seen their attribute
values); a companion is added to half the non-centred scenes so that head sees both classes.
Mild blur and noise are applied to training renders (--augment) so that the probes tolerate the
softness of VAE-decoded images; the reported accuracy is on fresh, unaugmented renders.

    python -m likeness_train probes --run-dir runs/toybox   # writes runs/toybox/probes/
    probes = Probes.load("runs/toybox/probes")
    probes.read([pil_image, ...]) -> [{"shape": "star", "color": "red", ...}, ...]
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import common, world

IDENTITY_ATTRIBUTES = ["shape", "color", "pattern", "pattern_color"]
CONTEXT_ATTRIBUTES = ["background", "position", "size"]
ATTRIBUTES = {
    "shape": list(world.SHAPES),
    "color": list(world.COLOR_NAMES),
    "pattern": list(world.PATTERNS),
    "pattern_color": ["none"] + list(world.COLOR_NAMES),
    "background": list(world.BACKGROUND_NAMES),
    "position": list(world.POSITION_NAMES),
    "size": list(world.SIZE_NAMES),
    "companion": ["no", "yes"],
}


UNORDERED_PATTERNS = ("striped", "checkered", "zigzag")


def identity_attributes(identity: world.Identity) -> dict:
    """identity.attributes() with the colour pair of half-and-half patterns in COLOR_NAMES order."""
    out = identity.attributes()
    if out["pattern"] in UNORDERED_PATTERNS:
        a, b = sorted([out["color"], out["pattern_color"]], key=world.COLOR_NAMES.index)
        out["color"], out["pattern_color"] = a, b
    return out


def scene_attributes(scene: world.Scene) -> dict:
    """The ground truth the probes are trained to read."""
    out = identity_attributes(scene.identity)
    out.update(background=scene.background, position=scene.position, size=scene.size,
               companion="yes" if scene.companion is not None else "no")
    return out


# ---------------------------------------------------------------- model (no I/O)


@dataclasses.dataclass
class ProbeNetConfig:
    heads: dict  # attribute -> list of values (the class order of that head)
    width: int = 16         # scene branch channels (x1, x2, x4 down the stages)
    object_width: int = 32  # object branch channels
    hidden: int = 256
    image_size: int = 64
    crop_size: int = 40     # the object crop the identity heads read
    crop_margin: float = 1.8  # crop half-side in units of the mask's RMS radius


def _convs(spec):
    layers = []
    for i, o, s in spec:
        layers += [nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def largest_blob(mask: torch.Tensor, threshold: float) -> torch.Tensor:
    """mask [B, 1, h, w] in [0, 1] -> weights [B, h, w]: (mask - threshold) inside the 8-connected
    region above `threshold` with the largest such mass, 0 elsewhere. The main object is the largest
    object of a scene (a companion is smaller), and a mask head may light up on both."""
    b, _, h, w = mask.shape
    on = mask[:, 0] > threshold  # [B, h, w]
    ids = torch.arange(1, h * w + 1, dtype=torch.float32).view(1, h, w) * on
    for _ in range(h * w):  # spread the largest id through each region
        new = F.max_pool2d(ids[:, None], 3, 1, 1)[:, 0] * on
        if torch.equal(new, ids):
            break
        ids = new
    wts = (mask[:, 0] - threshold).clamp(min=0)
    flat = ids.long().view(b, -1)
    mass = torch.zeros(b, h * w + 1, dtype=wts.dtype).scatter_add_(1, flat, wts.reshape(b, -1))
    best = mass[:, 1:].argmax(1) + 1  # [B]
    return wts * (ids.long() == best.view(b, 1, 1))


def mask_boxes(mask: torch.Tensor, margin: float, image_size: int, threshold: float = 0.3) -> torch.Tensor:
    """Object boxes from a soft mask [B, 1, h, w] in [0, 1] -> [B, 3] (cx, cy, half side) in pixels of
    the image: the centroid of the largest region above `threshold` and margin x its RMS radius
    (at least 6 px). An empty mask gives the whole image."""
    b, _, h, w = mask.shape
    cell = image_size / w
    wts = largest_blob(mask, threshold)  # [B, h, w]
    ys = (torch.arange(h, dtype=mask.dtype) + 0.5) * cell
    xs = (torch.arange(w, dtype=mask.dtype) + 0.5) * cell
    total = wts.sum((1, 2))
    safe = total.clamp(min=1e-6)
    cx = (wts * xs[None, None]).sum((1, 2)) / safe
    cy = (wts * ys[None, :, None]).sum((1, 2)) / safe
    r2 = (wts * ((xs[None, None] - cx[:, None, None]) ** 2 + (ys[None, :, None] - cy[:, None, None]) ** 2)).sum((1, 2))
    half = (margin * (r2 / safe).sqrt()).clamp(min=6.0, max=image_size / 2)
    empty = total < 0.5
    full = torch.full_like(cx, image_size / 2)
    return torch.stack([torch.where(empty, full, cx), torch.where(empty, full, cy), torch.where(empty, full, half)], 1)


def crop(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """images [B, 3, S, S], boxes [B, 3] (cx, cy, half side in pixels) -> crops [B, 3, size, size]"""
    s = images.shape[-1]
    theta = torch.zeros(len(images), 2, 3, dtype=images.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = boxes[:, 2] / (s / 2)
    theta[:, 0, 2] = boxes[:, 0] / (s / 2) - 1
    theta[:, 1, 2] = boxes[:, 1] / (s / 2) - 1
    grid = F.affine_grid(theta, (len(images), 3, size, size), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


class ProbeNet(nn.Module):
    """Two branches.
    Scene branch: images [B, 3, 64, 64] in [-1, 1] -> features at 16x16 -> the main object's mask
    logits [B, 1, 16, 16], and (strided down to 4x4, no global pooling, so position stays readable)
    the scene heads: background, position, size, companion.
    Object branch: a crop around the object (from the predicted mask, or from given boxes while
    training) -> the identity heads: shape, color, pattern, pattern_color.
    forward -> ({attribute: logits [B, classes]}, mask logits [B, 1, 16, 16])"""

    OBJECT_HEADS = ("shape", "color", "pattern", "pattern_color")

    def __init__(self, cfg: ProbeNetConfig):
        super().__init__()
        self.cfg = cfg
        w, v = cfg.width, cfg.object_width
        self.scene = _convs([(3, w, 1), (w, w, 2), (w, 2 * w, 1), (2 * w, 2 * w, 2), (2 * w, 4 * w, 1)])  # [B, 4w, S/4, S/4]
        self.mask_head = nn.Conv2d(4 * w, 1, 1)
        self.scene_down = _convs([(4 * w, 4 * w, 2), (4 * w, 4 * w, 2)])  # [B, 4w, S/16, S/16]
        cells = (cfg.image_size // 16) ** 2
        self.scene_fc = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * cells, cfg.hidden), nn.ReLU(inplace=True))
        self.object = _convs([(3, v, 1), (v, v, 2), (v, 2 * v, 1), (2 * v, 2 * v, 2), (2 * v, 2 * v, 2)])
        ocells = (cfg.crop_size // 8) ** 2
        self.object_fc = nn.Sequential(nn.Flatten(), nn.Linear(2 * v * ocells, cfg.hidden), nn.ReLU(inplace=True))
        self.heads = nn.ModuleDict({k: nn.Linear(cfg.hidden, len(vals)) for k, vals in cfg.heads.items()})

    def boxes(self, mask_logits: torch.Tensor) -> torch.Tensor:
        return mask_boxes(torch.sigmoid(mask_logits.detach()), self.cfg.crop_margin, self.cfg.image_size)

    def forward(self, images, boxes: Optional[torch.Tensor] = None, given: Optional[torch.Tensor] = None):
        """boxes [B, 3]: crop boxes to use instead of the predicted ones (where `given` [B] is True,
        or everywhere when `given` is None)."""
        f = self.scene(images)  # [B, 4w, S/4, S/4]
        mask_logits = self.mask_head(f)  # [B, 1, S/4, S/4]
        hs = self.scene_fc(self.scene_down(f))  # [B, hidden]
        if boxes is None:
            boxes = self.boxes(mask_logits)
        elif given is not None:
            boxes = torch.where(given[:, None], boxes, self.boxes(mask_logits))
        ho = self.object_fc(self.object(crop(images, boxes, self.cfg.crop_size)))  # [B, hidden]
        out = {k: head(ho if k in self.OBJECT_HEADS else hs) for k, head in self.heads.items()}
        return out, mask_logits


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mild softness and noise, per image: Gaussian blur (sigma 0.3..1.0) on half the batch and
    pixel noise (std up to 0.06 in [-1, 1] units). x [B, 3, H, W] in [-1, 1]."""
    b = x.shape[0]
    out = x.clone()
    blur = torch.rand(b, generator=gen) < 0.5
    if blur.any():
        idx = blur.nonzero().flatten()
        sig = 0.3 + 0.7 * torch.rand(len(idx), generator=gen)
        r = torch.arange(-2, 3, dtype=x.dtype)
        k = torch.exp(-(r[None] ** 2) / (2 * sig[:, None] ** 2))
        k = k / k.sum(1, keepdim=True)  # [n, 5]
        y = out[idx]  # [n, 3, H, W]
        n, c, hh, ww = y.shape
        y = y.reshape(1, n * c, hh, ww)
        kx = k.repeat_interleave(c, 0)  # [n*c, 5]
        y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), kx.view(n * c, 1, 1, 5), groups=n * c)
        y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), kx.view(n * c, 1, 5, 1), groups=n * c)
        out[idx] = y.view(n, c, hh, ww)
    std = 0.06 * torch.rand(b, 1, 1, 1, generator=gen)
    out = out + std * torch.randn(out.shape, generator=gen)
    return out.clamp(-1, 1)


# ---------------------------------------------------------------- data


def probe_scene(rng: np.random.Generator, split: Optional[str], companion_rate: float = 0.5) -> world.Scene:
    sc = world.sample_scene(world.sample_identity(rng, split), rng)
    if sc.companion is None and sc.position != "center" and rng.random() < companion_rate:
        sc = dataclasses.replace(sc, companion=world.sample_identity(rng, world.split_of(sc.identity)))
    return sc


def render_set(n: int, seed: int, split: Optional[str]) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """n fresh scenes -> images uint8 [n, 64, 64, 3], the main object's masks as float [n, 1, 16, 16]
    (share of each 4x4 cell) and {attribute: class index tensor [n]}"""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, world.SIZE, world.SIZE, 3), np.uint8)
    masks = np.zeros((n, world.SIZE, world.SIZE), np.uint8)
    labels = {k: np.zeros(n, np.int64) for k in ATTRIBUTES}
    for i in range(n):
        sc = probe_scene(rng, split)
        im, m = world.render(sc)
        images[i], masks[i] = np.asarray(im), m
        for k, v in scene_attributes(sc).items():
            labels[k][i] = ATTRIBUTES[k].index(v)
    m16 = F.avg_pool2d(torch.from_numpy(masks).float().div(255.0)[:, None], 4)
    return torch.from_numpy(images), m16, {k: torch.from_numpy(v) for k, v in labels.items()}


def to_input(images) -> torch.Tensor:
    """uint8 [B, H, W, 3] tensor, a PIL image list, or float [B, 3, H, W] in [-1, 1] -> [B, 3, 64, 64]"""
    if isinstance(images, torch.Tensor) and images.dtype == torch.uint8:
        x = images.float().div(127.5).sub(1.0).permute(0, 3, 1, 2)
    elif isinstance(images, torch.Tensor):
        x = images.float()
    else:
        arrs = []
        for im in images:
            im = im.convert("RGB")
            if im.size != (world.SIZE, world.SIZE):
                im = im.resize((world.SIZE, world.SIZE), Image.BILINEAR)
            arrs.append(np.asarray(im))
        x = torch.from_numpy(np.stack(arrs)).float().div(127.5).sub(1.0).permute(0, 3, 1, 2)
    if x.shape[-1] != world.SIZE or x.shape[-2] != world.SIZE:
        x = F.interpolate(x, size=(world.SIZE, world.SIZE), mode="bilinear", align_corners=False, antialias=True)
    return x.contiguous()


# ---------------------------------------------------------------- loading and reading


class Probes:
    """A trained ProbeNet and its class names."""

    def __init__(self, net: ProbeNet):
        self.net = net.eval()
        self.heads = net.cfg.heads

    @classmethod
    def load(cls, folder) -> "Probes":
        from safetensors.torch import load_file

        folder = Path(folder)
        cfg_path, w_path = folder / "config.json", folder / "model.safetensors"
        for p in (cfg_path, w_path):
            if not p.exists():
                raise FileNotFoundError(f"probes folder {folder}: missing {p.name}; train the probes first with "
                                        f"`python -m likeness_train probes --run-dir RUN_DIR`")
        cfg = ProbeNetConfig(**json.loads(cfg_path.read_text()))
        for k, values in ATTRIBUTES.items():
            if cfg.heads.get(k) != values:
                raise ValueError(f"{cfg_path}: head {k!r} has classes {cfg.heads.get(k)}, the world has {values}; "
                                 f"retrain the probes")
        net = ProbeNet(cfg)
        net.load_state_dict(load_file(str(w_path)), strict=True)
        return cls(net)

    @torch.no_grad()
    def logits(self, images, batch: int = 256) -> dict:
        x = to_input(images)
        outs = [self.net(x[s:s + batch])[0] for s in range(0, len(x), batch)]
        return {k: torch.cat([o[k] for o in outs]) for k in self.heads}

    def read(self, images, batch: int = 256) -> list[dict]:
        """images -> one {attribute: value} dict per image"""
        lg = self.logits(images, batch)
        idx = {k: v.argmax(1).tolist() for k, v in lg.items()}
        n = len(next(iter(idx.values()))) if idx else 0
        return [{k: self.heads[k][idx[k][i]] for k in self.heads} for i in range(n)]


def accuracy(net: ProbeNet, images: torch.Tensor, labels: dict, batch: int = 256) -> dict:
    net.eval()
    correct = {k: 0 for k in labels}
    with torch.no_grad():
        for s in range(0, len(images), batch):
            out, _ = net(to_input(images[s:s + batch]))
            for k in labels:
                correct[k] += int((out[k].argmax(1) == labels[k][s:s + batch]).sum())
    return {k: correct[k] / len(images) for k in labels}


# ---------------------------------------------------------------- training


@dataclasses.dataclass
class ProbeConfig:
    """Train the ToyBench probes on ground-truth renders (both identity splits)."""
    run_dir: str = "runs/toybox"
    out_name: str = "probes"
    split: str = "any"  # identities for probe scenes: any | train | heldout
    train_scenes: int = 5000
    test_scenes: int = 1000
    epochs: int = 8
    batch_size: int = 64
    lr: float = 5e-3
    width: int = 16
    object_width: int = 32
    augment: bool = True
    predicted_box_rate: float = 0.5
    seed: int = 0


def main(argv=None):
    run(common.parse_config(ProbeConfig, argv))


def train(cfg: ProbeConfig, log_every: int = 20) -> tuple[ProbeNet, dict]:
    """Trains a ProbeNet; returns it and the metrics (accuracy per attribute on fresh renders)."""
    if cfg.split not in ("any", "train", "heldout"):
        raise ValueError(f"unknown split {cfg.split!r}; use any, train or heldout")
    split = None if cfg.split == "any" else cfg.split
    t0 = time.time()
    images, masks, labels = render_set(cfg.train_scenes, cfg.seed, split)
    test_images, _, test_labels = render_set(cfg.test_scenes, cfg.seed + 1_000_003, split)
    net_cfg = ProbeNetConfig(heads=ATTRIBUTES, width=cfg.width, object_width=cfg.object_width)
    boxes = mask_boxes(masks, net_cfg.crop_margin, net_cfg.image_size)  # [N, 3] from the true masks
    t_render = time.time() - t0
    print(f"rendered {cfg.train_scenes} train and {cfg.test_scenes} test scenes in {t_render:.0f}s", flush=True)
    torch.manual_seed(cfg.seed)
    net = ProbeNet(net_cfg)
    steps_per_epoch = max(1, len(images) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    gen = torch.Generator().manual_seed(cfg.seed)
    log = common.Log(every=log_every)
    step = 0
    for epoch in range(cfg.epochs):
        net.train()
        perm = torch.randperm(len(images), generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            x = to_input(images[idx])
            if cfg.augment:
                x = augment(x, gen)
            # the object branch trains on crops from the true mask, jittered, and after the first
            # epoch half the time on crops from the predicted mask, as it will read them
            bx = boxes[idx].clone()
            jit = torch.rand(len(idx), 3, generator=gen) * 2 - 1
            bx[:, :2] += 0.1 * bx[:, 2:] * jit[:, :2]
            bx[:, 2] *= 1 + 0.1 * jit[:, 2]
            given = torch.rand(len(idx), generator=gen) < (1.0 if epoch == 0 else 1 - cfg.predicted_box_rate)
            out, mask_logits = net(x, bx, given)
            loss = sum(F.cross_entropy(out[k], labels[k][idx]) for k in ATTRIBUTES)
            loss = loss + F.binary_cross_entropy_with_logits(mask_logits, masks[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            log(step, total, len(idx), loss=loss.item())
        acc = accuracy(net, test_images, test_labels)
        print(f"epoch {epoch + 1}/{cfg.epochs} test accuracy " +
              " ".join(f"{k} {v:.3f}" for k, v in acc.items()), flush=True)
    metrics = {"test_accuracy": acc, "test_scenes": cfg.test_scenes, "train_scenes": cfg.train_scenes,
               "split": cfg.split, "seconds": round(time.time() - t0, 1), "render_seconds": round(t_render, 1),
               "min_accuracy": min(acc.values())}
    return net, metrics


def save(folder: Path, net: ProbeNet, cfg: ProbeConfig, metrics: dict):
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    common.save_config(cfg, folder / "train_config.json")
    tmp = folder / "model.tmp.safetensors"
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(tmp))
    os.replace(tmp, folder / "model.safetensors")
    for name, obj in (("config.json", dataclasses.asdict(net.cfg)), ("metrics.json", metrics)):
        t = folder / (name + ".tmp")
        t.write_text(json.dumps(obj, indent=2))
        os.replace(t, folder / name)


def run(cfg: ProbeConfig) -> Path:
    out = Path(cfg.run_dir) / cfg.out_name
    net, metrics = train(cfg)
    save(out, net, cfg, metrics)
    print(f"wrote {out} (lowest test accuracy {metrics['min_accuracy']:.3f}, {metrics['seconds']:.0f}s)", flush=True)
    return out


if __name__ == "__main__":
    main()
