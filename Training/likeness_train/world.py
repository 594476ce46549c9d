"""Toybox: the procedural world the built-in model is trained and measured on.

Stable API (DESIGN.md section 4):
    sample_identity(rng) -> Identity
    sample_scene(identity, rng, **overrides) -> Scene
    render(scene) -> (PIL.Image RGB 64x64, mask uint8 64x64 in {0, 255})
    caption(scene, placeholder=None) -> str
    split_of(identity) -> "train" | "heldout"
and the attribute vocabularies SHAPES, COLORS, PATTERNS, SIZES, POSITIONS, BACKGROUNDS.

Scenes are drawn at 2x (128x128) with numpy and box-filtered to 64x64, which anti-aliases
edges while keeping stripes, dots and checks legible. Everything is a pure function of the
scene, and scenes are pure functions of the numpy Generator passed in.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Optional

import numpy as np
from PIL import Image

SIZE = 64
SUPER = 2
_N = SIZE * SUPER

SHAPES = ["circle", "square", "triangle", "star", "heart", "diamond", "hexagon", "cross"]
COLORS = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (245, 220, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 230),
    "purple": (140, 50, 190),
    "pink": (250, 130, 190),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "brown": (130, 80, 35),
}
COLOR_NAMES = list(COLORS)
PATTERNS = ["plain", "striped", "dotted", "checkered", "zigzag"]
# How a pattern reads in a full description: "a red star with blue stripes".
PATTERN_NOUNS = {"striped": "stripes", "dotted": "dots", "checkered": "checks", "zigzag": "zigzags"}
SIZES = {"small": 0.16, "medium": 0.23, "large": 0.31}  # object radius as a share of the image
SIZE_NAMES = list(SIZES)
POSITIONS = {"left": 0.27, "center": 0.5, "right": 0.73}  # horizontal centre as a share
POSITION_NAMES = list(POSITIONS)
BACKGROUNDS = {
    # name: (caption phrase, palette)
    "beach": "on the beach",
    "snow": "in the snow",
    "jungle": "in the jungle",
    "cobblestone": "on a cobblestone street",
    "pink_fabric": "on pink fabric",
    "wooden_floor": "on a wooden floor",
    "city": "in the city",
    "mountain": "in the mountains",
    "water": "in the water",
    "desert": "in the desert",
}
BACKGROUND_NAMES = list(BACKGROUNDS)
BACKGROUND_WORDS = {b: BACKGROUNDS[b].split() for b in BACKGROUNDS}


@dataclasses.dataclass(frozen=True)
class Identity:
    shape: str
    color: str
    pattern: str
    pattern_color: Optional[str]  # None exactly when pattern == "plain"

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {', '.join(SHAPES)}")
        if self.color not in COLORS:
            raise ValueError(f"unknown colour {self.color!r}; known: {', '.join(COLOR_NAMES)}")
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}; known: {', '.join(PATTERNS)}")
        if (self.pattern == "plain") != (self.pattern_color is None):
            raise ValueError("pattern_color must be None exactly when the pattern is plain")
        if self.pattern_color is not None:
            if self.pattern_color not in COLORS:
                raise ValueError(f"unknown pattern colour {self.pattern_color!r}")
            if self.pattern_color == self.color:
                raise ValueError("pattern colour must differ from the body colour")

    def key(self) -> str:
        return f"{self.shape}-{self.color}-{self.pattern}-{self.pattern_color or 'none'}"

    def description(self) -> str:
        """Words for the object's own look: 'red star with blue stripes'."""
        base = f"{self.color} {self.shape}"
        if self.pattern == "plain":
            return base
        return f"{base} with {self.pattern_color} {PATTERN_NOUNS[self.pattern]}"

    def attributes(self) -> dict:
        return {"shape": self.shape, "color": self.color, "pattern": self.pattern,
                "pattern_color": self.pattern_color or "none"}


def all_identities() -> list[Identity]:
    out = []
    for s in SHAPES:
        for c in COLOR_NAMES:
            out.append(Identity(s, c, "plain", None))
            for p in PATTERNS[1:]:
                for pc in COLOR_NAMES:
                    if pc != c:
                        out.append(Identity(s, c, p, pc))
    return out


def split_of(identity: Identity) -> str:
    """Fixed rule: about 15% of identities are held out from every training stage."""
    s = SHAPES.index(identity.shape)
    c = COLOR_NAMES.index(identity.color)
    p = PATTERNS.index(identity.pattern)
    q = COLOR_NAMES.index(identity.pattern_color) + 1 if identity.pattern_color else 0
    h = (s * 7 + c * 13 + p * 5 + q * 3) % 20
    return "heldout" if h < 3 else "train"


def identities(split: str) -> list[Identity]:
    return [i for i in all_identities() if split_of(i) == split]


def sample_identity(rng: np.random.Generator, split: Optional[str] = "train") -> Identity:
    """Attributes drawn uniformly (so plain objects are as common as each pattern), redrawn until
    the identity falls in `split` (None: any split)."""
    if split not in (None, "train", "heldout"):
        raise ValueError(f"unknown split {split!r}; use 'train' or 'heldout'")
    while True:
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        color = COLOR_NAMES[int(rng.integers(len(COLOR_NAMES)))]
        pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
        pc = None
        if pattern != "plain":
            others = [c for c in COLOR_NAMES if c != color]
            pc = others[int(rng.integers(len(others)))]
        ident = Identity(shape, color, pattern, pc)
        if split is None or split_of(ident) == split:
            return ident


@dataclasses.dataclass(frozen=True)
class Scene:
    identity: Identity
    size: str
    position: str
    background: str
    angle: float        # degrees, counter-clockwise
    flip: bool
    dy: float           # vertical offset as a share of the image
    bg_seed: int
    companion: Optional[Identity] = None


def sample_scene(identity: Identity, rng: np.random.Generator, **overrides) -> Scene:
    fields = dict(
        identity=identity,
        size=SIZE_NAMES[int(rng.integers(len(SIZE_NAMES)))],
        position=POSITION_NAMES[int(rng.integers(len(POSITION_NAMES)))],
        background=BACKGROUND_NAMES[int(rng.integers(len(BACKGROUND_NAMES)))],
        angle=float(rng.uniform(-25, 25)),
        flip=bool(rng.integers(2)),
        dy=float(rng.uniform(-0.06, 0.06)),
        bg_seed=int(rng.integers(1 << 30)),
        companion=None,
    )
    if rng.random() < 0.2:
        fields["companion"] = sample_identity(rng, split_of(identity))
    for k, v in overrides.items():
        if k not in fields:
            raise ValueError(f"unknown scene field {k!r}")
        fields[k] = v
    if fields["size"] not in SIZES:
        raise ValueError(f"unknown size {fields['size']!r}; known: {', '.join(SIZE_NAMES)}")
    if fields["position"] not in POSITIONS:
        raise ValueError(f"unknown position {fields['position']!r}; known: {', '.join(POSITION_NAMES)}")
    if fields["background"] not in BACKGROUNDS:
        raise ValueError(f"unknown background {fields['background']!r}; known: {', '.join(BACKGROUND_NAMES)}")
    if fields["companion"] is not None and fields["position"] == "center":
        fields["companion"] = None  # no room beside a centred object
    return Scene(**fields)


# ---------------------------------------------------------------- captions

def caption(scene: Scene, placeholder: Optional[str] = None, with_look: bool = True) -> str:
    """The caption grammar.

    placeholder=None: full description ("a large red star with blue dots on the beach, at the left").
    placeholder="<obj>": the caption scheme of the method: context in words, the object only by the
    placeholder ("a large <obj> on the beach, at the left"); words for the object's look are removed.
    """
    obj = placeholder if placeholder is not None else scene.identity.description()
    text = f"a {scene.size} {obj} {BACKGROUNDS[scene.background]}, at the {scene.position}"
    if scene.companion is not None:
        text += f", next to a {scene.companion.color} {scene.companion.shape}"
    return text


def _alternatives(words) -> str:
    return "|".join(re.escape(w) for w in words)


# caption(scene)'s grammar read back (parse_caption), compiled once: the base and encoder stages
# parse a caption per short-caption row.
_FULL_CAPTION = re.compile(
    rf"a ({_alternatives(SIZE_NAMES)}) ({_alternatives(COLOR_NAMES)}) ({_alternatives(SHAPES)})"
    rf"(?: with ({_alternatives(COLOR_NAMES)}) ({_alternatives(PATTERN_NOUNS.values())}))?"
    rf" ({_alternatives(BACKGROUNDS.values())}), at the ({_alternatives(POSITION_NAMES)})"
    rf"(?:, next to a ({_alternatives(COLOR_NAMES)}) ({_alternatives(SHAPES)}))?")


def parse_caption(text: str) -> dict:
    """The parts of a full-description caption (`caption(scene)`): size, colour, shape, pattern
    colour and noun (None when plain), background name, position, and the companion's colour and
    shape (None without one). A caption outside the grammar is an error."""
    m = _FULL_CAPTION.fullmatch(text)
    if m is None:
        raise ValueError(f"not a full-description caption: {text!r}")
    size, color, shape, pc, noun, phrase, position, cc, cs = m.groups()
    background = next(k for k, v in BACKGROUNDS.items() if v == phrase)
    return {"size": size, "color": color, "shape": shape, "pattern_color": pc, "pattern_noun": noun,
            "background": background, "position": position,
            "companion": None if cc is None else (cc, cs)}


def partial_caption(text: str, rng, null_word: str = "object", keep: float = 0.5,
                    keep_background: float = 0.9, obj: Optional[str] = None) -> str:
    """A full-description caption with words left out at random, as people write prompts ("a red
    star on the beach", "a object in the snow"): the colour, the pattern, its colour, the size,
    the position and the companion are each kept with probability `keep`, the background with
    `keep_background`, and the shape with `keep`, else the null word stands for the object (what
    identity guidance's text branch writes). With `obj` ("<obj>", "red <obj>") the object is those
    words and only the context is left out. `rng` is a numpy Generator."""
    p = parse_caption(text)
    kept = lambda q=keep: bool(rng.random() < q)
    words = ["a"]
    if kept():
        words.append(p["size"])
    if obj is not None:
        words.append(obj)
    else:
        if kept():
            words.append(p["color"])
        words.append(p["shape"] if kept() else null_word)
        if p["pattern_noun"] is not None and kept():
            words += ["with"] + ([p["pattern_color"]] if kept() else []) + [p["pattern_noun"]]
    if kept(keep_background):
        words.append(BACKGROUNDS[p["background"]])
    out = " ".join(words)
    if kept():
        out += f", at the {p['position']}"
    if p["companion"] is not None and kept():
        out += ", next to a {} {}".format(*p["companion"])
    return out


def word_slots(num_tokens: int) -> list:
    """The object encoder's word slots when its tokens were aligned to the description words in
    slot order (colour, shape, pattern colour, pattern noun; stage_encoder --word-align-weight):
    a colour word sets the colour slot, a pattern adjective the pattern-noun slot
    ("a striped <obj>" -> "stripes"). Empty with fewer than four tokens."""
    if num_tokens < 4:
        return []
    return [{"slot": 0, "attribute": "color", "words": {c: c for c in COLORS}},
            {"slot": 3, "attribute": "pattern", "words": dict(PATTERN_NOUNS)}]


def property_prompt(identity: Identity, attribute: str, value: str, placeholder: str = "<obj>") -> tuple[str, Identity]:
    """A prompt that edits one attribute: ('a red <obj>', identity with colour red)."""
    if attribute == "color":
        if value not in COLORS:
            raise ValueError(f"unknown colour {value!r}")
        pc = identity.pattern_color if identity.pattern_color != value else None
        pat = identity.pattern if pc is not None or identity.pattern == "plain" else "plain"
        return f"a {value} {placeholder}", Identity(identity.shape, value, pat, pc)
    if attribute == "pattern":
        if value not in PATTERNS[1:]:
            raise ValueError(f"unknown pattern {value!r}")
        pc = identity.pattern_color or ("white" if identity.color != "white" else "black")
        return f"a {value} {placeholder}", Identity(identity.shape, identity.color, value, pc)
    raise ValueError(f"unknown attribute {attribute!r}; property prompts edit 'color' or 'pattern'")


# ---------------------------------------------------------------- rendering

_YY, _XX = np.mgrid[0:_N, 0:_N].astype(np.float32)
_YY = (_YY + 0.5) / _N
_XX = (_XX + 0.5) / _N


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test in the object's local frame (u right, v up), unit radius."""
    r = np.sqrt(u * u + v * v)
    if shape == "circle":
        return r <= 1.0
    if shape == "square":
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape == "diamond":
        return np.abs(u) + np.abs(v) <= 1.05
    if shape == "triangle":
        return (v >= -0.6) & (v <= 1.0 - 1.73 * np.abs(u) * 0.95) & (np.abs(u) <= 0.95)
    if shape == "hexagon":
        au, av = np.abs(u), np.abs(v)
        return (av <= 0.87) & (av * 0.577 + au <= 1.0)
    if shape == "cross":
        return ((np.abs(u) <= 0.33) & (np.abs(v) <= 0.95)) | ((np.abs(v) <= 0.33) & (np.abs(u) <= 0.95))
    if shape == "star":
        a = np.arctan2(v, u) - math.pi / 2
        k = np.cos(5 * a) * 0.5 + 0.5  # 1 at points, 0 between
        return r <= 0.45 + 0.6 * k ** 2
    if shape == "heart":
        x, y = u * 1.15, v * 1.15 + 0.2
        return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0
    raise ValueError(f"unknown shape {shape!r}")


def _pattern_mask(pattern: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if pattern == "plain":
        return np.zeros_like(u, dtype=bool)
    if pattern == "striped":
        return np.mod(v * 2.6, 1.0) < 0.5
    if pattern == "dotted":
        gu, gv = np.mod(u * 2.2 + 0.5, 1.0) - 0.5, np.mod(v * 2.2 + 0.5, 1.0) - 0.5
        return gu * gu + gv * gv < 0.09
    if pattern == "checkered":
        return (np.floor(u * 2.4).astype(int) + np.floor(v * 2.4).astype(int)) % 2 == 0
    if pattern == "zigzag":
        w = np.abs(np.mod(u * 2.4, 1.0) - 0.5) * 0.8
        return np.mod(v * 2.2 + w, 1.0) < 0.45
    raise ValueError(f"unknown pattern {pattern!r}")


def _background(name: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = _YY, _XX
    img = np.zeros((_N, _N, 3), np.float32)
    noise = rng.normal(0, 1, (_N // 8, _N // 8)).astype(np.float32)
    noise = np.kron(noise, np.ones((8, 8), np.float32))
    jitter = rng.uniform(-0.05, 0.05)

    def fill(mask, rgb):
        img[mask] = np.array(rgb, np.float32) / 255.0

    if name == "beach":
        h = 0.45 + jitter
        fill(y < h - 0.15, (120, 190, 240))
        fill((y >= h - 0.15) & (y < h), (40, 120, 190))
        fill(y >= h, (235, 210, 150))
        img += 0.03 * noise[..., None] * (y >= h)[..., None]
    elif name == "snow":
        h = 0.4 + jitter
        fill(y < h, (170, 200, 230))
        fill(y >= h, (240, 244, 250))
        img += 0.02 * noise[..., None]
    elif name == "jungle":
        fill(y >= 0, (30, 90, 35))
        for _ in range(14):
            cx, cy, rr = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.06, 0.16)
            m = (x - cx) ** 2 + ((y - cy) * 1.6) ** 2 < rr * rr
            img[m] = np.array([20, rng.uniform(110, 160), 40], np.float32) / 255.0
    elif name == "cobblestone":
        fill(y >= 0, (95, 95, 100))
        s = 0.11
        gx = np.mod(x / s + np.floor(y / s) * 0.5, 1.0)
        gy = np.mod(y / s, 1.0)
        stone = (gx > 0.1) & (gy > 0.12)
        img[stone] = np.array([140, 138, 135], np.float32) / 255.0
        img += 0.04 * noise[..., None]
    elif name == "pink_fabric":
        fill(y >= 0, (235, 160, 190))
        weave = (np.mod(x * 40, 1.0) < 0.5) ^ (np.mod(y * 40, 1.0) < 0.5)
        img[weave] *= 0.92
    elif name == "wooden_floor":
        fill(y >= 0, (170, 115, 65))
        plank = np.floor(y * 6 + jitter * 3)
        img *= (0.85 + 0.15 * np.mod(plank * 0.37, 1.0))[..., None]
        img *= (0.95 + 0.05 * np.sin(x * 60 + plank))[..., None]
    elif name == "city":
        fill(y >= 0, (150, 175, 205))
        xs = 0.0
        while xs < 1.0:
            w = rng.uniform(0.08, 0.2)
            top = rng.uniform(0.15, 0.55)
            g = rng.uniform(60, 110)
            m = (x >= xs) & (x < xs + w - 0.01) & (y >= top)
            img[m] = np.array([g, g, g + 10], np.float32) / 255.0
            win = m & (np.mod(x * 30, 1.0) < 0.4) & (np.mod(y * 25, 1.0) < 0.4)
            img[win] = np.array([230, 220, 150], np.float32) / 255.0
            xs += w
        fill(y > 0.85, (70, 70, 75))
    elif name == "mountain":
        fill(y >= 0, (150, 195, 235))
        for i in range(3):
            cx, hgt = rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.45)
            m = y > (1.0 - hgt * 1.6) + 1.6 * np.abs(x - cx) * 0.9
            img[m] = np.array([105 - 10 * i, 105 - 10 * i, 120], np.float32) / 255.0
            cap = m & (y < (1.0 - hgt * 1.6) + 0.12)
            img[cap] = 0.95
        fill(y > 0.82, (80, 130, 70))
    elif name == "water":
        fill(y >= 0, (30, 110, 170))
        img += 0.06 * np.sin(y[..., None] * 70 + np.sin(x[..., None] * 12) * 2)
    elif name == "desert":
        h = 0.35 + jitter
        fill(y < h, (250, 210, 140))
        fill(y >= h, (220, 175, 100))
        img *= (1.0 + 0.05 * np.sin(x * 25 + y * 40))[..., None]
    else:
        raise ValueError(f"unknown background {name!r}")
    return np.clip(img, 0, 1)


def _draw(img: np.ndarray, ident: Identity, cx: float, cy: float, radius: float, angle: float,
          flip: bool) -> np.ndarray:
    t = math.radians(angle)
    dx, dy = _XX - cx, -(_YY - cy)
    u = (dx * math.cos(t) + dy * math.sin(t)) / radius
    v = (-dx * math.sin(t) + dy * math.cos(t)) / radius
    if flip:
        u = -u
    inside = _shape_mask(ident.shape, u, v)
    img[inside] = np.array(COLORS[ident.color], np.float32) / 255.0
    if ident.pattern != "plain":
        pat = inside & _pattern_mask(ident.pattern, u, v)
        img[pat] = np.array(COLORS[ident.pattern_color], np.float32) / 255.0
    # a thin dark outline keeps white or black objects visible on any background
    edge = _shape_mask(ident.shape, u * 0.93, v * 0.93) & ~inside
    img[edge] = img[edge] * 0.4
    return inside | edge


def render(scene: Scene) -> tuple[Image.Image, np.ndarray]:
    img = _background(scene.background, scene.bg_seed)
    cx = POSITIONS[scene.position]
    cy = 0.58 + scene.dy
    radius = SIZES[scene.size]
    if scene.companion is not None:
        ccx = 0.78 if cx < 0.5 else 0.22
        _draw(img, scene.companion, ccx, 0.72, 0.11, 0.0, False)
    mask = _draw(img, scene.identity, cx, cy, radius, scene.angle, scene.flip)
    img = img.reshape(SIZE, SUPER, SIZE, SUPER, 3).mean(axis=(1, 3))
    m = mask.reshape(SIZE, SUPER, SIZE, SUPER).mean(axis=(1, 3))
    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")
    return pil, ((m >= 0.5) * 255).astype(np.uint8)


def vocabulary() -> list[str]:
    """Every word the caption grammar can produce (the WordLevel tokenizer's vocabulary)."""
    words = {"a", "with", "at", "the", "next", "to", ",", "on", "in"}
    words.update(SHAPES)
    words.update(COLOR_NAMES)
    words.update(PATTERNS)
    words.update(PATTERN_NOUNS.values())
    words.update(SIZE_NAMES)
    words.update(POSITION_NAMES)
    for b in BACKGROUNDS.values():
        words.update(b.split())
    words.update(["photo", "of", "an", "object", "picture"])
    return sorted(words)
