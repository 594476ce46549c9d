"""ToyBench probes: a small CNN that reads a 64x64 Toybox image back into the world's attributes,
trained only on ground-truth renders (never on generated images).

Attributes read (DESIGN.md section 5): the main object's shape, color, pattern, pattern_color
("none" for plain objects), and the scene's background, position, size, and whether a companion
object is present.

How it reads (ProbeNet): a scene branch sees the whole image and gives the scene heads and a
16x16 mask of the main object; the largest region of that mask gives a box around the object, and
an object branch reads a 40x40 crop of that box for the identity heads. Cropping makes the identity
heads independent of where and how large the object is (a generated object off the world's three
positions is still read).

Conventions worth knowing when reading the scores:
- Stripes, checks and zigzags cover half the body (45-50%), so which of the two colours is the body
  shows only in the pattern's phase at the object's centre: a red star with blue stripes looks like
  a blue star with red stripes. For those patterns the probes read, and ToyBench scores, the two
  colours as an unordered pair, written in world.COLOR_NAMES order (`identity_attributes`). Dots
  cover about 28% of the body, so dotted objects keep the order.
- Training scenes come from both identity splits (--split any): the probes never train the
  generator, and ToyBench scores held-out identities, whose attribute values the probes must know.
  A companion is added to half the non-centred scenes so that head sees both classes.
- --augment applies generic decoder-like degradation (blur, resampling, smooth colour fields,
  gain, noise; `augment`). --vae-model FOLDER also trains, half the time, on the renders after a
  round trip through that folder's VAE (still ground truth, never a generation): the probes then
  read what a generator decoding through that VAE can show; metrics.json reports accuracy on fresh
  renders and, with a VAE, on their round trips.

    python -m likeness_train probes --run-dir runs/toybox [--vae-model Models/toybox]
    probes = Probes.load("runs/toybox/probes")
    probes.read([pil_image, ...]) -> [{"shape": "star", "color": "red", ...}, ...]
"""
from __future__ import annotations

import dataclasses
import json
import math
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
    object_full_res_layers: int = 1  # convolutions at the crop's full resolution before downsampling


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


def crop(images: torch.Tensor, boxes: torch.Tensor, size: int, angle: float = 0.0, flip: bool = False) -> torch.Tensor:
    """images [B, 3, S, S], boxes [B, 3] (cx, cy, half side in pixels) -> crops [B, 3, size, size],
    optionally rotated by `angle` degrees and mirrored left-right"""
    s = images.shape[-1]
    h = boxes[:, 2] / (s / 2)
    c, si = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    fx = -1.0 if flip else 1.0
    theta = torch.zeros(len(images), 2, 3, dtype=images.dtype)
    theta[:, 0, 0], theta[:, 0, 1] = h * c * fx, -h * si
    theta[:, 1, 0], theta[:, 1, 1] = h * si * fx, h * c
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
        full = [(3, v, 1)] + [(v, v, 1)] * (cfg.object_full_res_layers - 1)
        self.object = _convs(full + [(v, v, 2), (v, 2 * v, 1), (2 * v, 2 * v, 2), (2 * v, 2 * v, 2)])
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
        out = self.object_logits(images, boxes)
        out.update({k: head(hs) for k, head in self.heads.items() if k not in self.OBJECT_HEADS})
        return out, mask_logits

    def mask_logits(self, images):
        return self.mask_head(self.scene(images))  # [B, 1, S/4, S/4]

    def object_logits(self, images, boxes, angle: float = 0.0, flip: bool = False):
        """the identity heads on crops of `boxes` [B, 3] -> {attribute: logits}"""
        ho = self.object_fc(self.object(crop(images, boxes, self.cfg.crop_size, angle, flip)))  # [B, hidden]
        return {k: self.heads[k](ho) for k in self.OBJECT_HEADS if k in self.heads}

    # Reading views: the identity classes do not change under a mirror or a small turn (training
    # scenes are mirrored and turned by up to 25 degrees), so reading averages the log-probabilities
    # of the crop mirrored or not, turned by -8, 0, +8 degrees.
    READ_VIEWS = [(a, f) for a in (0.0, 8.0, -8.0) for f in (False, True)]

    def read_logits(self, images) -> dict:
        """{attribute: log-probabilities [B, classes]}, identity heads averaged over READ_VIEWS"""
        out, mask_logits = self.forward(images)
        out = {k: v.log_softmax(1) for k, v in out.items()}
        boxes = self.boxes(mask_logits)
        views = [self.object_logits(images, boxes, a, f) for a, f in self.READ_VIEWS]
        for k in views[0]:
            out[k] = torch.stack([v[k].log_softmax(1) for v in views]).mean(0)
        return out

    def object_parameters(self):
        yield from self.object.parameters()
        yield from self.object_fc.parameters()
        for k in self.OBJECT_HEADS:
            if k in self.heads:
                yield from self.heads[k].parameters()


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur, one sigma per image: x [n, C, H, W], sigma [n] -> [n, C, H, W]"""
    n, c, hh, ww = x.shape
    r = torch.arange(-3, 4, dtype=x.dtype)
    k = torch.exp(-(r[None] ** 2) / (2 * sigma[:, None] ** 2))
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [n*c, 7]
    y = x.reshape(1, n * c, hh, ww)
    y = F.conv2d(F.pad(y, (3, 3, 0, 0), mode="replicate"), k.view(n * c, 1, 1, 7), groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, 3, 3), mode="replicate"), k.view(n * c, 1, 7, 1), groups=n * c)
    return y.view(n, c, hh, ww)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Generic image degradation of the kind a decoder adds, per image, x [B, 3, H, W] in [-1, 1]:
    Gaussian blur (sigma 0.3..1.2) on 60%, a 2x down-and-up resampling on 20%, a smooth colour field
    (4x4 noise upsampled, std up to 0.06), per-channel gain and offset (+-6%, +-0.04) and pixel noise
    (std up to 0.05). The colour changes stay well below the gaps between the world's colours."""
    b, _, h, w = x.shape
    out = x.clone()
    blur = (torch.rand(b, generator=gen) < 0.6).nonzero().flatten()
    if len(blur):
        out[blur] = _blur(out[blur], 0.3 + 0.9 * torch.rand(len(blur), generator=gen))
    down = (torch.rand(b, generator=gen) < 0.2).nonzero().flatten()
    if len(down):
        small = F.interpolate(out[down], scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
        out[down] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    field = torch.randn(b, 3, 4, 4, generator=gen) * 0.06 * torch.rand(b, 1, 1, 1, generator=gen)
    out = out + F.interpolate(field, size=(h, w), mode="bilinear", align_corners=False)
    gain = 1 + 0.06 * (torch.rand(b, 3, 1, 1, generator=gen) * 2 - 1)
    offset = 0.04 * (torch.rand(b, 3, 1, 1, generator=gen) * 2 - 1)
    out = out * gain + offset
    std = 0.05 * torch.rand(b, 1, 1, 1, generator=gen)
    out = out + std * torch.randn(out.shape, generator=gen)
    return out.clamp(-1, 1)


@torch.no_grad()
def vae_round_trip(vae, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> the same images encoded (posterior mode) and decoded by `vae`, uint8"""
    out = []
    for s in range(0, len(images), batch):
        x = to_input(images[s:s + batch]).to(vae.dtype)
        y = vae.decode(vae.encode(x).latent_dist.mode()).sample.float().clamp(-1, 1)
        out.append(((y.permute(0, 2, 3, 1) + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


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
        outs = [self.net.read_logits(x[s:s + batch]) for s in range(0, len(x), batch)]
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
            out = net.read_logits(to_input(images[s:s + batch]))
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
    epochs: int = 4  # phase 1: everything
    object_epochs: int = 20  # phase 2: the object branch alone, on cached predicted boxes
    batch_size: int = 64
    lr: float = 5e-3
    width: int = 16
    object_width: int = 32
    object_full_res_layers: int = 1
    shape_weight: float = 2.0  # loss weight of the shape head (the slowest to learn)
    augment: bool = True
    predicted_box_rate: float = 0.5
    vae_model: str = ""  # a model folder: train half the time on renders round-tripped through its VAE
    vae_rate: float = 0.5
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
    net_cfg = ProbeNetConfig(heads=ATTRIBUTES, width=cfg.width, object_width=cfg.object_width,
                             object_full_res_layers=cfg.object_full_res_layers)
    boxes = mask_boxes(masks, net_cfg.crop_margin, net_cfg.image_size)  # [N, 3] from the true masks
    t_render = time.time() - t0
    print(f"rendered {cfg.train_scenes} train and {cfg.test_scenes} test scenes in {t_render:.0f}s", flush=True)
    vae_images = vae_test = None
    if cfg.vae_model:
        from diffusers import AutoencoderKL

        folder = Path(cfg.vae_model) / "vae"
        if not folder.is_dir():
            raise FileNotFoundError(f"--vae-model {cfg.vae_model}: no vae/ folder there")
        vae = AutoencoderKL.from_pretrained(folder).float().eval()
        vae_images, vae_test = vae_round_trip(vae, images), vae_round_trip(vae, test_images)
        print(f"VAE round trip of the renders through {folder}", flush=True)
    torch.manual_seed(cfg.seed)
    net = ProbeNet(net_cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    log = common.Log(every=log_every)

    def batch_input(idx):
        x = to_input(images[idx])
        if vae_images is not None:
            use = torch.rand(len(idx), generator=gen) < cfg.vae_rate
            x = torch.where(use[:, None, None, None], to_input(vae_images[idx]), x)
        return augment(x, gen) if cfg.augment else x

    def jittered(bx):
        bx = bx.clone()
        jit = torch.rand(len(bx), 3, generator=gen) * 2 - 1
        bx[:, :2] += 0.1 * bx[:, 2:] * jit[:, :2]
        bx[:, 2] *= 1 + 0.1 * jit[:, 2]
        return bx

    def losses(out, idx, keys):
        return sum(F.cross_entropy(out[k], labels[k][idx]) * (cfg.shape_weight if k == "shape" else 1.0)
                   for k in keys)

    def report(phase):
        acc = accuracy(net, test_images, test_labels)
        print(f"{phase} test accuracy " + " ".join(f"{k} {v:.3f}" for k, v in acc.items()), flush=True)
        return acc

    steps_per_epoch = max(1, len(images) // cfg.batch_size)
    # phase 1: all heads and the mask; the object branch reads crops of the true boxes, jittered
    total = steps_per_epoch * cfg.epochs
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(1, total), pct_start=0.15)
    step = 0
    acc = None
    for epoch in range(cfg.epochs):
        net.train()
        perm = torch.randperm(len(images), generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            out, mask_logits = net(batch_input(idx), jittered(boxes[idx]))
            loss = losses(out, idx, ATTRIBUTES) + F.binary_cross_entropy_with_logits(mask_logits, masks[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            log(step, total, len(idx), loss=loss.item())
        acc = report(f"epoch {epoch + 1}/{cfg.epochs}")
    # phase 2: the scene branch is done (its heads learn fast); the object branch alone goes on, half
    # the time on the boxes the trained mask predicts for each training image, as it will read them
    if cfg.object_epochs > 0:
        net.eval()
        with torch.no_grad():
            predicted = torch.cat([net.boxes(net.mask_logits(to_input(images[s:s + 256])))
                                   for s in range(0, len(images), 256)])  # [N, 3]
        total = steps_per_epoch * cfg.object_epochs
        params = list(net.object_parameters())
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
        step = 0
        for epoch in range(cfg.object_epochs):
            net.object.train()
            perm = torch.randperm(len(images), generator=gen)
            for s in range(steps_per_epoch):
                idx = perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
                use_pred = (torch.rand(len(idx), generator=gen) < cfg.predicted_box_rate)[:, None]
                bx = jittered(torch.where(use_pred, predicted[idx], boxes[idx]))
                out = net.object_logits(batch_input(idx), bx)
                loss = losses(out, idx, net.OBJECT_HEADS)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                log(step, total, len(idx), object_loss=loss.item())
            acc = report(f"object epoch {epoch + 1}/{cfg.object_epochs}")
    if acc is None:
        acc = report("untrained")
    metrics = {"test_accuracy": acc, "test_scenes": cfg.test_scenes, "train_scenes": cfg.train_scenes,
               "split": cfg.split, "seconds": round(time.time() - t0, 1), "render_seconds": round(t_render, 1),
               "min_accuracy": min(acc.values())}
    if vae_test is not None:
        acc_vae = accuracy(net, vae_test, test_labels)
        metrics["test_accuracy_vae"] = acc_vae
        print("test accuracy after the VAE round trip " + " ".join(f"{k} {v:.3f}" for k, v in acc_vae.items()),
              flush=True)
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
