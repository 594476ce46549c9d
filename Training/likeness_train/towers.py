"""What the text and vision towers can tell apart (ToyBench's tower report), and the attribute
labels and one-attribute caption edits the clip stage trains them with. No training here.

Report (`python -m likeness_train towers --clip FOLDER`):
- vision: a linear probe per attribute (softmax regression on the pooled output, fitted on
  `fit` renders, scored on `test` other renders of held-out identities);
- text: for each attribute, the largest cosine between the final hidden states of two of its
  values at the value's own token, in captions that differ in that word only (mean over
  `contexts` sentence contexts, then the largest pair);
- retrieval (needs the CLIP projections, `clip_model/` as the clip stage writes it): for a
  render and its full caption, the share of renders whose image embedding ranks its own caption
  first among every caption that differs from it in one attribute's value.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import common, probes, world

# The attributes a full caption spells out, their values (the class order of every head), and
# where the value's word sits in a caption's tokens (BOS at 0): "a {size} {colour} {shape} with
# {pattern colour} {pattern noun} ...". Background and position are phrases later in the caption.
ATTRIBUTES = {k: v for k, v in probes.ATTRIBUTES.items() if k != "companion"}
TOKEN_INDEX = {"size": 2, "color": 3, "shape": 4}


def labels(scene: world.Scene) -> dict:
    """Class index per attribute of a scene, as its full caption spells it."""
    ident = scene.identity
    values = {"shape": ident.shape, "color": ident.color, "pattern": ident.pattern,
              "pattern_color": ident.pattern_color or "none", "background": scene.background,
              "position": scene.position, "size": scene.size}
    return {k: ATTRIBUTES[k].index(v) for k, v in values.items()}


def scene_of(ident_key: str, meta: dict) -> world.Scene:
    """The parts of a cached scene that its caption and labels need (pose fields are zero)."""
    shape, color, pattern, pc = ident_key.split("-")
    ident = world.Identity(shape, color, pattern, None if pc == "none" else pc)
    return world.Scene(ident, meta["size"], meta["position"], meta["background"], 0.0, False, 0.0, 0)


def edit(scene: world.Scene, attribute: str, value: str) -> world.Scene:
    """The scene with one attribute's value replaced. A plain object given a pattern gets a white
    (or black) pattern colour; an edit that breaks the identity rules (a pattern colour on a plain
    object, or equal to the body colour) raises ValueError."""
    ident = scene.identity
    if attribute in ("shape", "color", "pattern", "pattern_color"):
        fields = dataclasses.asdict(ident)
        fields[attribute] = None if value == "none" else value
        if attribute == "pattern" and value == "plain":
            fields["pattern_color"] = None
        elif attribute == "pattern" and ident.pattern == "plain":
            fields["pattern_color"] = "white" if ident.color != "white" else "black"
        return dataclasses.replace(scene, identity=world.Identity(**fields))
    return dataclasses.replace(scene, **{attribute: value})


def one_attribute_edits(scene: world.Scene, attribute: str) -> list[world.Scene]:
    """Every valid scene that differs from `scene` in `attribute` only (identity rules kept)."""
    out = []
    for v in ATTRIBUTES[attribute]:
        if v == labels_value(scene, attribute):
            continue
        try:
            out.append(edit(scene, attribute, v))
        except (ValueError, TypeError):
            continue  # e.g. a pattern colour equal to the body colour, or "none" on a pattern
    return out


def labels_value(scene: world.Scene, attribute: str) -> str:
    return ATTRIBUTES[attribute][labels(scene)[attribute]]


def hard_negative(scene: world.Scene, rng: np.random.Generator, shape_share: float = 0.5) -> world.Scene:
    """A caption's hard negative: the same scene with one attribute changed, the shape in
    `shape_share` of draws (round shapes were the ones the first towers merged)."""
    attrs = [a for a in ATTRIBUTES if a != "shape"]
    attribute = "shape" if rng.random() < shape_share else attrs[int(rng.integers(len(attrs)))]
    options = one_attribute_edits(scene, attribute) or one_attribute_edits(scene, "shape")
    return options[int(rng.integers(len(options)))]


# ---------------------------------------------------------------- report


@dataclasses.dataclass
class TowerConfig:
    """Measure what a clip folder's towers can tell apart."""
    clip: str = "Training/checkpoints/clip-toybox1"
    fit: int = 1200
    test: int = 400
    contexts: int = 12
    seed: int = 1234
    out: str = ""  # write the report as JSON here too


def main(argv=None):
    cfg = common.parse_config(TowerConfig, argv)
    rep = report(Path(cfg.clip), cfg)
    print(format_report(rep))
    if cfg.out:
        Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.out).write_text(json.dumps(rep, indent=2))


def render_scenes(n: int, seed, split: str, masks: bool = False):
    """n renders ([n, 3, 64, 64] in [-1, 1]) of random identities of `split`, and their scenes;
    with `masks`, also the main object's masks ([n, 64, 64] in {0, 1}) between the two.
    `seed`: an int, or a numpy Generator to draw from (and advance)"""
    rng = np.random.default_rng(seed)
    scenes, images, object_masks = [], [], []
    for _ in range(n):
        sc = world.sample_scene(world.sample_identity(rng, split), rng)
        im, m = world.render(sc)
        scenes.append(sc)
        images.append(np.asarray(im))
        object_masks.append(m)
    x = torch.from_numpy(np.stack(images)).float().div(127.5).sub(1.0).permute(0, 3, 1, 2).contiguous()
    if masks:
        return x, torch.from_numpy(np.stack(object_masks)).float().div(255.0), scenes
    return x, scenes


@torch.no_grad()
def pooled_vision(vision, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    out = []
    for s in range(0, len(x), batch):
        out.append(vision(pixel_values=x[s:s + batch]).pooler_output)
    return torch.cat(out)


def probe_attributes(fit_x, fit_scenes, test_x, test_scenes, attributes=None) -> dict:
    """{attribute: held-out accuracy of a linear probe} on features of the fit and test renders.
    Images do not tell a half-and-half pattern's two colours apart by order: they are read as the
    probes read them (probes.identity_attributes), so the probe is not asked the impossible."""
    probe = {}
    for attribute in attributes or ATTRIBUTES:
        fy = torch.tensor([_image_label(s, attribute) for s in fit_scenes])
        ty = torch.tensor([_image_label(s, attribute) for s in test_scenes])
        probe[attribute] = linear_probe(fit_x, fy, test_x, ty, len(ATTRIBUTES[attribute]))
    return probe


def linear_probe(train_x, train_y, test_x, test_y, classes: int, steps: int = 300) -> float:
    """Softmax regression (L-BFGS, small L2) on standardised features; test accuracy."""
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mu) / sd, (test_x - mu) / sd
    w = torch.zeros(a.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], lr=1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a @ w + bias, train_y) + 1e-3 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + bias).argmax(1) == test_y).float().mean())


def word_of(attribute: str, value: str) -> str:
    """The caption word that carries an attribute's value (a background: its phrase's last word)."""
    if attribute == "pattern":
        return world.PATTERN_NOUNS[value]
    if attribute == "background":
        return world.BACKGROUND_WORDS[value][-1]
    return value


@torch.no_grad()
def token_cosines(text, tok, contexts: list[world.Scene]) -> dict:
    """attribute -> the largest cosine, over pairs of values, of the final hidden states at the
    value's word in captions that differ in that value only (mean over the contexts). Contexts
    are patterned and alone, so every attribute has a word; "plain" and "none" have none."""
    out = {}
    for attribute, values in ATTRIBUTES.items():
        n = len(values)
        total, count = torch.zeros(n, n), torch.zeros(n, n)
        for sc in contexts:
            variants = [sc] + one_attribute_edits(sc, attribute)
            variants = [v for v in variants if labels_value(v, attribute) not in ("plain", "none")]
            texts = [world.caption(v) for v in variants]
            ids = common.tokenize(tok, texts)
            h = F.normalize(text(input_ids=ids).last_hidden_state, dim=-1)  # [V, L, D]
            rows, idx = [], []
            for k, v in enumerate(variants):
                value = labels_value(v, attribute)
                wid = tok.convert_tokens_to_ids(word_of(attribute, value))
                pos = (ids[k] == wid).nonzero()
                if attribute == "pattern_color":
                    pos = pos[pos > TOKEN_INDEX["shape"]]  # the word after "with", not a body colour
                if len(pos) == 0:
                    continue
                rows.append(h[k, int(pos.flatten()[0])])
                idx.append(values.index(value))
            if len(rows) < 2:
                continue
            v = torch.stack(rows)
            c = v @ v.t()
            ix = torch.tensor(idx)
            total[ix[:, None], ix[None, :]] += c
            count[ix[:, None], ix[None, :]] += 1
        m = torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, -2.0))
        m.fill_diagonal_(-2.0)
        i = int(m.argmax())
        out[attribute] = {"max": float(m.max()), "pair": [values[i // n], values[i % n]]}
    return out


@torch.no_grad()
def retrieval(clip_model, tok, x: torch.Tensor, scenes: list[world.Scene]) -> dict:
    """attribute -> share of renders whose own caption wins among its one-attribute edits"""
    img = F.normalize(_features(clip_model.get_image_features(pixel_values=x)), dim=-1)
    out = {}
    for attribute in ATTRIBUTES:
        hits = []
        for i, sc in enumerate(scenes):
            variants = [sc] + one_attribute_edits(sc, attribute)
            ids = common.tokenize(tok, [world.caption(v) for v in variants])
            t = F.normalize(_features(clip_model.get_text_features(input_ids=ids)), dim=-1)
            hits.append(int((t @ img[i]).argmax()) == 0)
        out[attribute] = float(np.mean(hits))
    return out


def _features(x):
    """transformers 5 returns a model output from get_*_features, 4 a tensor"""
    return x if torch.is_tensor(x) else x.pooler_output


def report(folder: Path, cfg: TowerConfig = TowerConfig()) -> dict:
    from transformers import CLIPModel, CLIPTextModel, CLIPVisionModel

    torch.manual_seed(cfg.seed)
    text = CLIPTextModel.from_pretrained(folder / "text_encoder").eval()
    vision = CLIPVisionModel.from_pretrained(folder / "vision_model").eval()
    tok = common.load_tokenizer(folder / "tokenizer")
    fit_x, fit_s = render_scenes(cfg.fit, cfg.seed, "train")
    test_x, test_s = render_scenes(cfg.test, cfg.seed + 1, "heldout")
    probe = probe_attributes(pooled_vision(vision, fit_x), fit_s, pooled_vision(vision, test_x), test_s)
    rng = np.random.default_rng(cfg.seed + 2)
    contexts = [world.sample_scene(world.sample_identity(rng, "heldout"), rng, companion=None)
                for _ in range(cfg.contexts)]
    contexts = [dataclasses.replace(c, identity=world.Identity(c.identity.shape, c.identity.color, "striped",
                                                               _other(c.identity.color)))
                for c in contexts]
    cos = token_cosines(text, tok, contexts)
    rep = {"clip": str(folder), "vision_probe": probe, "text_cosine": cos}
    if (folder / "clip_model" / "config.json").exists():
        clip_model = CLIPModel.from_pretrained(folder / "clip_model").eval()
        rep["retrieval"] = retrieval(clip_model, tok, test_x, test_s)
    return rep


def _other(color: str) -> str:
    return "white" if color != "white" else "black"


def _image_label(scene: world.Scene, attribute: str) -> int:
    if attribute in ("color", "pattern_color"):
        v = probes.identity_attributes(scene.identity)[attribute]
        return ATTRIBUTES[attribute].index(v)
    return labels(scene)[attribute]


def format_report(rep: dict) -> str:
    lines = [f"towers of {rep['clip']}",
             "attribute       vision probe   text max cosine (pair)          retrieval"]
    for a in ATTRIBUTES:
        c = rep["text_cosine"][a]
        r = rep.get("retrieval", {}).get(a)
        lines.append(f"{a:<15} {rep['vision_probe'][a]:>12.3f}   {c['max']:>6.3f} ({c['pair'][0]}/{c['pair'][1]})"
                     .ljust(64) + (f"{r:.3f}" if r is not None else "-"))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
