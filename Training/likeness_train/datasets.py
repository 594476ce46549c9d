"""Image-folder datasets for the encoder stage (`--dataset PATH.jsonl`), the alternative to the
Toybox scene cache for training on real photographs.

The file holds one JSON object per line (blank lines are skipped):

    {"image": "dogs/1.jpg", "mask": "dogs/1_mask.png", "caption": "a <obj> on the beach",
     "object": "brown dog", "id": "dog1"}

    image    path of the picture, relative to the .jsonl file's folder or absolute
    caption  context caption naming the object only by the placeholder <obj>, exactly once and
             as a word of its own (spaces around it), as the caption scheme of DESIGN.md asks
    object   the words that replace <obj> in the full caption used for object-embedding dropping:
             caption "a <obj> on the beach" + object "brown dog" -> "a brown dog on the beach"
             (so the object is a phrase without its article when the caption has one)
    id       subject id (string or integer): images with the same id show the same object, and
             cross-reference regularization gives the encoder another image of that id
    mask     optional: a greyscale image of the picture's size, white (255) on the object
    box      optional, instead of a mask: [x0, y0, x1, y1] in pixels of the picture as displayed
             (after its EXIF orientation), 0 <= x0 < x1 <= width, 0 <= y0 < y1 <= height
Without mask or box the identity loss weights the record's pixels uniformly (an all-zero mask).

Every line is checked before any training starts; the error names the file, the line and the
problem (bad JSON, missing or unknown field, wrong type, missing or unreadable image, placeholder
missing or repeated, box out of range, mask of the wrong size), for up to 20 problems at once.
Images are turned upright by their EXIF orientation, put on white where transparent, resized so
the shorter side is the model's resolution (Lanczos) and centre-cropped to a square; masks and
boxes go through the same resize and crop (bilinear, so edges stay soft).

All images are held in memory at the training resolution (0.75 MB each at 512x512, plus their
masks), as the Toybox cache is; the encoder stage also keeps every image's latent.

The loaded dataset has the interface of common.SceneCache that the encoder stage reads:
images [N, R, R, 3] uint8, masks [N, R, R] uint8, full and placeholder captions, ident,
ident_keys, by_ident, image_tensor(idx), mask_tensor(idx).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from PIL import Image, ImageOps

from . import common

REQUIRED = ("image", "caption", "object", "id")
OPTIONAL = ("mask", "box")
MAX_REPORTED = 20


class DatasetError(ValueError):
    """A dataset file that cannot be used; the message lists `file:line: problem` entries."""


@dataclasses.dataclass
class Record:
    line: int
    image: Path
    caption: str
    object: str
    id: str
    mask: Optional[Path] = None
    box: Optional[tuple] = None

    def full_caption(self, placeholder: str) -> str:
        return full_caption(self.caption, self.object, placeholder)


def full_caption(caption: str, obj: str, placeholder: str = "<obj>") -> str:
    """The caption with the placeholder word replaced by the object phrase."""
    return " ".join(obj if w == placeholder else w for w in caption.split())


def _placeholder_problem(caption: str, placeholder: str) -> Optional[str]:
    words = caption.split()
    n = words.count(placeholder)
    if n == 1:
        return None
    if n > 1:
        return f"caption has {placeholder} {n} times, it may appear once: {caption!r}"
    if placeholder in caption:
        return (f"caption has {placeholder} but not as a word of its own (put spaces around it, "
                f"e.g. 'a {placeholder} , on the beach'): {caption!r}")
    return f"caption has no {placeholder}; name the object only by the placeholder: {caption!r}"


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def parse(path: Union[str, Path], placeholder: str = "<obj>") -> list[Record]:
    """Reads and checks every line of a .jsonl dataset without decoding images: JSON, fields, types,
    placeholder, and that the image and mask files exist. Raises DatasetError listing the problems."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: dataset file not found")
    root = path.parent
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read the dataset file: {e}") from e
    records, problems = [], []

    def bad(line, msg):
        problems.append(f"{path}:{line}: {msg}")

    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            d = json.loads(raw)
        except json.JSONDecodeError as e:
            bad(n, f"bad JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(d, dict):
            bad(n, f"expected a JSON object, found {type(d).__name__}")
            continue
        missing = [k for k in REQUIRED if k not in d]
        if missing:
            bad(n, f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                   f"(required: {', '.join(REQUIRED)})")
            continue
        unknown = sorted(set(d) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            bad(n, f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                   f"(fields: {', '.join(REQUIRED + OPTIONAL)})")
            continue
        ok = True
        for k in ("image", "caption", "object"):
            if not isinstance(d[k], str) or not d[k].strip():
                bad(n, f"field {k} must be a non-empty string, found {d[k]!r}")
                ok = False
        ident = d["id"]
        if isinstance(ident, bool) or not isinstance(ident, (str, int)) or (isinstance(ident, str) and not ident.strip()):
            bad(n, f"field id must be a non-empty string or an integer, found {ident!r}")
            ok = False
        if "mask" in d and "box" in d:
            bad(n, "give mask or box, not both")
            ok = False
        if not ok:
            continue
        problem = _placeholder_problem(d["caption"], placeholder)
        if problem:
            bad(n, problem)
            continue
        if placeholder in d["object"].split():
            bad(n, f"field object must describe the object in words, not contain {placeholder}: {d['object']!r}")
            continue
        image = (root / d["image"]).resolve() if not Path(d["image"]).is_absolute() else Path(d["image"])
        if not image.is_file():
            bad(n, f"image file not found: {image}")
            continue
        mask = None
        if "mask" in d:
            if not isinstance(d["mask"], str) or not d["mask"].strip():
                bad(n, f"field mask must be a path string, found {d['mask']!r}")
                continue
            mask = (root / d["mask"]).resolve() if not Path(d["mask"]).is_absolute() else Path(d["mask"])
            if not mask.is_file():
                bad(n, f"mask file not found: {mask}")
                continue
        box = None
        if "box" in d:
            b = d["box"]
            if not isinstance(b, list) or len(b) != 4 or not all(_is_number(x) for x in b):
                bad(n, f"field box must be [x0, y0, x1, y1] (four numbers, pixels), found {b!r}")
                continue
            box = tuple(float(x) for x in b)
        records.append(Record(n, image, d["caption"], d["object"].strip(), str(ident), mask, box))
    if not problems and not records:
        problems.append(f"{path}: no records (one JSON object per line expected)")
    if problems:
        raise DatasetError(_summary(path, problems))
    return records


def _summary(path: Path, problems: list[str]) -> str:
    head = f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"
    shown = problems[:MAX_REPORTED]
    more = [f"... and {len(problems) - MAX_REPORTED} more"] if len(problems) > MAX_REPORTED else []
    return "\n".join([head] + shown + more)


def _open_image(path: Path) -> Image.Image:
    """Decoded, upright image (EXIF orientation applied); raises OSError/ValueError on a bad file."""
    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        return im.copy()


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB, with transparent pixels put on white."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def fit_square(im: Image.Image, resolution: int, resample) -> Image.Image:
    """Resize so the shorter side is `resolution`, then centre-crop to resolution x resolution."""
    w, h = im.size
    s = resolution / min(w, h)
    nw, nh = max(resolution, round(w * s)), max(resolution, round(h * s))
    im = im.resize((nw, nh), resample)
    left, top = (nw - resolution) // 2, (nh - resolution) // 2
    return im.crop((left, top, left + resolution, top + resolution))


def box_mask(size: tuple, box: tuple) -> Image.Image:
    """An 'L' mask of `size` (w, h), 255 on the pixels the box [x0, y0, x1, y1] touches."""
    w, h = size
    m = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    m[int(math.floor(y0)):int(math.ceil(y1)), int(math.floor(x0)):int(math.ceil(x1))] = 255
    return Image.fromarray(m, "L")


class ImageDataset(common.ImageSet):
    """A checked, decoded .jsonl dataset at one square resolution (the SceneCache interface)."""

    def __init__(self, path: Path, records: list[Record], images: np.ndarray, masks: np.ndarray,
                 placeholder: str):
        self.path, self.records = path, records
        self.images, self.masks = images, masks
        self.placeholder = [r.caption for r in records]
        self.full = [r.full_caption(placeholder) for r in records]
        self.ident_keys: list[str] = []
        index: dict[str, int] = {}
        for r in records:
            index.setdefault(r.id, len(index))
        self.ident_keys = list(index)
        self.ident = np.array([index[r.id] for r in records], np.int64)
        self._index_identities()

    def single_image_ids(self) -> int:
        return sum(1 for v in self.by_ident.values() if len(v) == 1)


def load(path: Union[str, Path], resolution: int, placeholder: str = "<obj>",
         max_images: Optional[int] = None) -> ImageDataset:
    """Checks every line (parse), then decodes, checks and fits every image (or, with max_images,
    that many evenly spaced records) to resolution x resolution. Raises DatasetError."""
    path = Path(path)
    records = parse(path, placeholder)
    if max_images is not None and len(records) > max_images:
        step = len(records) / max_images
        records = [records[int(i * step)] for i in range(max_images)]
    images = np.zeros((len(records), resolution, resolution, 3), np.uint8)
    masks = np.zeros((len(records), resolution, resolution), np.uint8)
    problems = []
    for k, r in enumerate(records):
        try:
            im = _open_image(r.image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            problems.append(f"{path}:{r.line}: cannot read image {r.image}: {e}")
            continue
        w, h = im.size
        m = None
        if r.mask is not None:
            try:
                m = _open_image(r.mask).convert("L")
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                problems.append(f"{path}:{r.line}: cannot read mask {r.mask}: {e}")
                continue
            if m.size != (w, h):
                problems.append(f"{path}:{r.line}: mask {r.mask} is {m.size[0]}x{m.size[1]} "
                                f"but the image is {w}x{h}")
                continue
        elif r.box is not None:
            x0, y0, x1, y1 = r.box
            if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
                problems.append(f"{path}:{r.line}: box {list(r.box)} out of range for a {w}x{h} image "
                                f"(need 0 <= x0 < x1 <= {w}, 0 <= y0 < y1 <= {h})")
                continue
            m = box_mask((w, h), r.box)
        images[k] = np.asarray(fit_square(_to_rgb(im), resolution, Image.Resampling.LANCZOS))
        if m is not None:
            masks[k] = np.asarray(fit_square(m, resolution, Image.Resampling.BILINEAR))
    if problems:
        raise DatasetError(_summary(path, problems))
    return ImageDataset(path, records, images, masks, placeholder)


def cross_reference(data, i: int, gen: torch.Generator) -> int:
    """Index of another image of the same subject as image i, drawn with gen; i itself when the
    subject has only that image. Draws from gen only when there is a choice."""
    same = data.by_ident[int(data.ident[i])]
    others = [s for s in same if s != i]
    if not others:
        return i
    return others[int(torch.randint(len(others), (1,), generator=gen))]
