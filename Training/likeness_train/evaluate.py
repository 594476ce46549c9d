"""ToyBench (DESIGN.md section 5): DreamBench's protocol on held-out Toybox identities, scored by
the probes (likeness_train.probes), which were trained only on ground-truth renders.

Protocol. N subjects = the first N of a seeded permutation of the held-out identities (world.split_of).
Each subject has one reference image: a render of a fixed scene (seeded per subject, no companion,
size medium or large). Each prompt of the list is parsed by the caption grammar into a request:
optional size, background, position, and at most one property edit (`a red <obj>`, `a striped <obj>`,
whose target identity is world.property_prompt's). M images per (subject, prompt), with seeds that
depend only on (subject, prompt, image), so every row sees the same initial noise.

Scores, per image, then averaged over images (copy rate: over the images where it applies):
- ID: share of the reference identity's attributes (shape, color, pattern, pattern_color) that the
  probes read in the image, leaving out the attribute the prompt names and any the edit changes.
  For stripes, checks and zigzags the two colours count as an unordered pair (probes.py says why).
- Prompt: share of the prompt's attributes read as asked: the background, position and size it
  names, and the edited attribute(s) at their target values.
- Copy: the prompt asks for a background (or position) other than the reference's, and the probes
  read the reference's instead. Eligible images: those where the prompt asks for a different one.
Rows:
- ceiling: the probes on ground-truth renders of the same requests (target identity, the prompt's
  context, other scene fields drawn per image); `ceiling (VAE)`: the same renders after the model's
  VAE round trip, i.e. the best a generator decoding through that VAE could score.
- text-only oracle: the model folder without object tokens, given the target identity's full
  description in words in place of <obj> (`a red star with blue dots in the snow`).
- Likeness: the reference pipeline (likeness_train.pipeline) with the object encoder's tokens of
  the reference image, text_scale and id_scale as flagged.
- text branch: the Likeness row's prompts and tokens at id_scale 0 (--text-branch true), i.e. what
  the pipeline's text branch (the prompt with the null word where the object goes) draws alone.
- TI: the same pipeline with tokens learned per subject by textual inversion (--ti-steps > 0).
- NAME: every `--models NAME=PATH` folder, like the Likeness row (ablations).

    python -m likeness_train evaluate --run-dir runs/toybox --model Models/toybox \
        --models no_xref=Models/ablations/no_xref --ti-steps 150
writes RUN_DIR/toybench/{toybench.json, toybench.md, grid_*.png, images_*.npz, ti/IDENTITY.safetensors}
and prints the table.

Cost of the defaults (8 subjects x 11 prompts x 2 images = 176 images per row, 20 DDIM steps), measured
on 2 idle CPU cores with the built-in 64x64 model: Likeness 0.77 s/image (3 UNet passes per step),
oracle 0.69 s/image, so about 2.5 minutes per generated row and 5 minutes for the default rows;
TI (--ti-steps 150) adds about 29 s per subject (0.19 s per step of 8) plus a generated row.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image

from . import common, world
from .probes import CONTEXT_ATTRIBUTES, IDENTITY_ATTRIBUTES, Probes, identity_attributes
from .stage_from_snapshots import check_component

DEFAULT_PROMPTS = [
    "a <obj> in the snow",
    "a <obj> on the beach",
    "a <obj> in the jungle",
    "a <obj> on a wooden floor, at the right",
    "a <obj> in the city, at the left",
    "a large <obj> in the mountains",
    "a small <obj> on a cobblestone street",
    "a red <obj>",
    "a blue <obj>",
    "a striped <obj>",
    "a dotted <obj>",
]


# ---------------------------------------------------------------- prompts


@dataclasses.dataclass(frozen=True)
class PromptSpec:
    text: str
    size: Optional[str] = None
    background: Optional[str] = None
    position: Optional[str] = None
    edit: Optional[tuple] = None  # ("color", "red") or ("pattern", "striped")

    def context(self) -> dict:
        return {k: getattr(self, k) for k in CONTEXT_ATTRIBUTES if getattr(self, k) is not None}


_PHRASES = {v: k for k, v in world.BACKGROUNDS.items()}


def parse_prompt(prompt: str, placeholder: str = common.PLACEHOLDER) -> PromptSpec:
    """A ToyBench prompt in the caption grammar: `a [size] [colour|pattern] <obj> [background][, at the
    position]`. Raises ValueError naming the first word or phrase the grammar does not know."""
    from .models import split_placeholder

    text = " ".join(prompt.replace(placeholder + ",", placeholder + " ,").split())  # the placeholder is a whole word
    parts = split_placeholder(text, placeholder)
    if parts is None:
        raise ValueError(f"prompt {prompt!r} has no {placeholder}; ToyBench prompts name the object by it")
    before, after = parts[0].split(), parts[1]
    if not before or before[0] not in ("a", "an"):
        raise ValueError(f"prompt {prompt!r} must start with 'a' (the caption grammar: "
                         f"a [size] [colour|pattern] {placeholder} [background][, at the position])")
    size = edit = None
    for w in before[1:]:
        if w in world.SIZES:
            if size is not None:
                raise ValueError(f"prompt {prompt!r} names two sizes ({size!r}, {w!r})")
            size = w
        elif w in world.COLORS or w in world.PATTERNS[1:]:
            if edit is not None:
                raise ValueError(f"prompt {prompt!r} edits two properties ({edit[1]!r}, {w!r}); "
                                 f"a property prompt edits one")
            edit = ("color", w) if w in world.COLORS else ("pattern", w)
        else:
            raise ValueError(
                f"unknown word {w!r} before {placeholder} in prompt {prompt!r}: expected a size "
                f"({', '.join(world.SIZE_NAMES)}), a colour ({', '.join(world.COLOR_NAMES)}) or a pattern "
                f"({', '.join(world.PATTERNS[1:])})")
    background = position = None
    for piece in (p.strip() for p in after.split(",")):
        if not piece:
            continue
        m = re.fullmatch(r"at the (\S+)", piece)
        if piece in _PHRASES and background is None:
            background = _PHRASES[piece]
        elif m and position is None:
            if m.group(1) not in world.POSITIONS:
                raise ValueError(f"unknown position {m.group(1)!r} in prompt {prompt!r}; "
                                 f"known: {', '.join(world.POSITION_NAMES)}")
            position = m.group(1)
        else:
            raise ValueError(
                f"unknown phrase {piece!r} after {placeholder} in prompt {prompt!r}: expected one background "
                f"({'; '.join(world.BACKGROUNDS.values())}) and/or one ', at the {'|'.join(world.POSITION_NAMES)}'")
    return PromptSpec(text, size, background, position, edit)


def target_identity(identity: world.Identity, spec: PromptSpec) -> world.Identity:
    if spec.edit is None:
        return identity
    return world.property_prompt(identity, spec.edit[0], spec.edit[1])[1]


def oracle_prompt(spec: PromptSpec, target: world.Identity) -> str:
    """The prompt with the target identity's full description in place of the placeholder."""
    text = "a " + (spec.size + " " if spec.size else "") + target.description()
    if spec.background:
        text += " " + world.BACKGROUNDS[spec.background]
    if spec.position:
        text += f", at the {spec.position}"
    return text


# ---------------------------------------------------------------- subjects and requests


def subjects(n: int, seed: int) -> list[world.Identity]:
    held = world.identities("heldout")
    if not 0 < n <= len(held):
        raise ValueError(f"--subjects must be between 1 and {len(held)} (held-out identities), got {n}")
    order = np.random.default_rng(seed).permutation(len(held))[:n]
    return [held[int(i)] for i in order]


def reference_scene(identity: world.Identity, seed: int, index: int) -> world.Scene:
    rng = np.random.default_rng([seed, 7919, index])
    size = ["medium", "large"][int(rng.integers(2))]
    return world.sample_scene(identity, rng, companion=None, size=size)


@dataclasses.dataclass
class Request:
    subject: int
    prompt: int
    image: int
    spec: PromptSpec
    target: world.Identity
    seed: int


def requests(idents: list, specs: list, per_prompt: int, seed: int) -> list[Request]:
    out = []
    for i, ident in enumerate(idents):
        for j, spec in enumerate(specs):
            for m in range(per_prompt):
                s = (seed * 1_000_003 + (i * len(specs) + j) * per_prompt + m) % (2 ** 31)
                out.append(Request(i, j, m, spec, target_identity(ident, spec), s))
    return out


def ceiling_scene(req: Request, seed: int) -> world.Scene:
    rng = np.random.default_rng([seed, 104729, req.subject, req.prompt, req.image])
    return world.sample_scene(req.target, rng, companion=None, **req.spec.context())


# ---------------------------------------------------------------- scoring


def score_image(ref: world.Scene, spec: PromptSpec, target: world.Identity, read: dict) -> dict:
    """One image's scores from what the probes read. ID and Prompt are None where nothing applies."""
    ref_attrs = identity_attributes(ref.identity)
    tgt = identity_attributes(target)
    named = {spec.edit[0]} if spec.edit else set()
    changed = {a for a in IDENTITY_ATTRIBUTES if tgt[a] != ref_attrs[a]}
    id_attrs = [a for a in IDENTITY_ATTRIBUTES if a not in named | changed]
    asked = dict(spec.context())
    asked.update({a: tgt[a] for a in IDENTITY_ATTRIBUTES if a in named | changed})
    id_hits = {a: read[a] == ref_attrs[a] for a in id_attrs}
    prompt_hits = {a: read[a] == v for a, v in asked.items()}
    eligible, copied = False, False
    for a in ("background", "position"):
        want = getattr(spec, a)
        if want is not None and want != getattr(ref, a):
            eligible = True
            copied = copied or read[a] == getattr(ref, a)
    return {
        "id": sum(id_hits.values()) / len(id_hits) if id_hits else None,
        "prompt": sum(prompt_hits.values()) / len(prompt_hits) if prompt_hits else None,
        "copy_eligible": eligible, "copied": copied, "id_hits": id_hits, "prompt_hits": prompt_hits,
    }


def summarize(scores: list[dict]) -> dict:
    ids = [s["id"] for s in scores if s["id"] is not None]
    prompts = [s["prompt"] for s in scores if s["prompt"] is not None]
    elig = [s for s in scores if s["copy_eligible"]]
    per_attr: dict = {"id": {}, "prompt": {}}
    for s in scores:
        for role in ("id", "prompt"):
            for a, hit in s[role + "_hits"].items():
                keys = [a] + (["edit"] if role == "prompt" and a in IDENTITY_ATTRIBUTES else [])
                for k in keys:
                    c = per_attr[role].setdefault(k, [0, 0])
                    c[0] += int(hit)
                    c[1] += 1
    return {
        "id": float(np.mean(ids)) if ids else None,
        "prompt": float(np.mean(prompts)) if prompts else None,
        "copy": sum(s["copied"] for s in elig) / len(elig) if elig else None,
        "copy_eligible": len(elig),
        "images": len(scores),
        # share of reads that match, per attribute and role ("edit": edited identity attributes together)
        "attribute_accuracy": {role: {a: c[0] / c[1] for a, c in sorted(d.items())} for role, d in per_attr.items()},
    }


# ---------------------------------------------------------------- config


@dataclasses.dataclass
class EvalConfig:
    """ToyBench: score the ceiling, the text-only oracle, Likeness, TI and other model folders."""
    run_dir: str = "runs/toybox"
    model: str = "Models/toybox"
    probes: str = ""  # default RUN_DIR/probes
    models: list = dataclasses.field(default_factory=list)  # NAME=PATH model folders (ablations)
    out: str = ""  # default RUN_DIR/toybench
    subjects: int = 8
    prompts: list = dataclasses.field(default_factory=lambda: list(DEFAULT_PROMPTS))
    images_per_prompt: int = 2
    steps: int = 20
    sampler: str = "ddim"
    text_scale: float = 5.0
    id_scale: float = 3.0
    # a property word before <obj> sets its word slot (models.word_slot_edits; models whose object
    # encoder records word_slots); false: the tokens as the encoder gives them
    word_slots: bool = True
    oracle: bool = True
    likeness: bool = True
    text_branch: bool = False  # adds the Likeness row at id_scale 0: what the text branch draws
    vae_ceiling: bool = True
    # the ceiling (VAE) row through this AutoencoderKL folder (e.g. a VAE stage snapshot) instead
    # of the model's VAE; with no generated row asked, no model folder is needed
    vae: str = ""
    ti_steps: int = 0  # > 0 adds the textual-inversion row (that many optimisation steps per subject)
    ti_lr: float = 5e-3
    ti_batch_size: int = 8
    grid_scale: int = 2
    save_images: bool = True  # images_ROW.npz: uint8 [N, 64, 64, 3], to rescore or inspect
    seed: int = 0


def main(argv=None):
    run(common.parse_config(EvalConfig, argv))


def _named_models(cfg: EvalConfig) -> list[tuple[str, Path]]:
    out = []
    for item in cfg.models:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--models takes NAME=PATH items, got {item!r}")
        out.append((name, Path(path)))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"--models names must be unique, got {names}")
    return out


def _check_folder(path: Path, flag: str):
    if not path.is_dir():
        raise FileNotFoundError(f"model folder {path} ({flag}) not found; export one with "
                                f"`python -m likeness_train export --out {path}` or pass another path")


def _generate(pipe, reqs: list[Request], prompt_of, tokens_of, cfg: EvalConfig, label: str,
              id_scale: Optional[float] = None, word_slots: Optional[bool] = None) -> tuple[list, float]:
    images, t0 = [], time.time()
    for n, r in enumerate(reqs):
        images.append(pipe(prompt_of(r), object_tokens=tokens_of(r), steps=cfg.steps, text_scale=cfg.text_scale,
                           id_scale=cfg.id_scale if id_scale is None else id_scale, seed=r.seed,
                           sampler=cfg.sampler, word_slots=cfg.word_slots if word_slots is None else word_slots))
        if (n + 1) % 20 == 0 or n + 1 == len(reqs):
            print(f"{label}: {n + 1}/{len(reqs)} images, {time.time() - t0:.0f}s", flush=True)
    return images, time.time() - t0


@torch.no_grad()
def _vae_round_trip(vae, images: list) -> list:
    out = []
    for im in images:
        x = torch.from_numpy(np.asarray(im, np.float32) / 127.5 - 1).permute(2, 0, 1)[None].to(vae.dtype)
        y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)[0].float()
        out.append(Image.fromarray(((y.permute(1, 2, 0).numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)))
    return out


def grid(refs: list, images: list, reqs: list[Request], n_prompts: int, scale: int) -> Image.Image:
    """rows = subjects; columns = reference | first image of each prompt"""
    s, gap = world.SIZE * scale, 2 * scale
    cols, rows = 1 + n_prompts, len(refs)
    canvas = Image.new("RGB", (cols * s + (cols - 1) * gap + gap, rows * s + (rows - 1) * gap), (255, 255, 255))

    def put(im, r, c):
        x = c * (s + gap) + (gap if c > 0 else 0)  # a double gap after the reference column
        canvas.paste(im.resize((s, s), Image.NEAREST), (x, r * (s + gap)))

    for i, ref in enumerate(refs):
        put(ref, i, 0)
    for r, im in zip(reqs, images):
        if r.image == 0:
            put(im, r.subject, 1 + r.prompt)
    return canvas


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _probe_line(info: Optional[dict]) -> str:
    if not info:
        return "Probes: not recorded."
    m = info.get("metrics") or {}
    line = f"Probes: `{info['folder']}`"
    if "test_accuracy" in m:
        line += " (accuracy on fresh renders: " + ", ".join(f"{k} {v:.3f}" for k, v in m["test_accuracy"].items())
        if "test_accuracy_vae" in m:
            line += "; after the VAE round trip: " + ", ".join(
                f"{k} {v:.3f}" for k, v in m["test_accuracy_vae"].items())
        line += ")"
    return line + "."


def markdown(result: dict) -> str:
    lines = ["| Row | ID | Prompt | Copy | Images | s/image | Notes |", "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        sec = row.get("seconds_per_image")
        lines.append(f"| {row['name']} | {_fmt(row['id'])} | {_fmt(row['prompt'])} | {_fmt(row['copy'])} "
                     f"| {row['images']} | {'-' if sec is None else f'{sec:.2f}'} | {row.get('notes', '')} |")
    cols = [("id", a) for a in IDENTITY_ATTRIBUTES] + [("prompt", a) for a in CONTEXT_ATTRIBUTES + ["edit"]]
    lines += ["", "Share of probe reads that match, per attribute: kept identity attributes (ID) and asked "
              "context or edited property (Prompt):", "",
              "| Row | " + " | ".join(f"{'ID' if r == 'id' else 'Prompt'}: {a}" for r, a in cols) + " |",
              "|---|" + "---|" * len(cols)]
    for row in result["rows"]:
        acc = row["attribute_accuracy"]
        lines.append(f"| {row['name']} | " + " | ".join(_fmt(acc[r].get(a)) for r, a in cols) + " |")
    c = result["config"]
    lines += ["", f"{c['subjects']} held-out subjects x {len(c['prompts'])} prompts x {c['images_per_prompt']} "
              f"images, {c['steps']} {c['sampler']} steps, text_scale {c['text_scale']}, id_scale {c['id_scale']}, "
              f"word slots {'on' if c.get('word_slots', True) else 'off'}. "
              f"ID, Prompt: higher is better; Copy (share of {result['copy_eligible']} eligible images per row that "
              f"copy the reference's background or position): lower is better.",
              "", _probe_line(result.get("probes")),
              "", "Grids (grid_ROW.png): one row per subject; columns: the reference, then the first image of "
              "each prompt: " + "; ".join(f"{i + 1}. `{p}`" for i, p in enumerate(c["prompts"])) + "."]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run(cfg: EvalConfig) -> dict:
    from .pipeline import LikenessPipeline
    from . import textual_inversion

    t_start = time.time()
    specs = [parse_prompt(p) for p in cfg.prompts]  # fail on a bad prompt before loading anything
    if not specs:
        raise ValueError("--prompts is empty")
    run_dir = Path(cfg.run_dir)
    probes_dir = Path(cfg.probes) if cfg.probes else run_dir / "probes"
    probes = Probes.load(probes_dir)
    probe_metrics = probes_dir / "metrics.json"
    probe_info = {"folder": str(probes_dir),
                  "metrics": json.loads(probe_metrics.read_text()) if probe_metrics.exists() else None}
    main_model = Path(cfg.model)
    extra = _named_models(cfg)
    needs_main = cfg.oracle or cfg.likeness or cfg.text_branch or cfg.ti_steps > 0 or (cfg.vae_ceiling and not cfg.vae)
    if cfg.vae:
        if not cfg.vae_ceiling:
            raise ValueError("--vae names the VAE of the ceiling (VAE) row: it needs --vae-ceiling true")
        check_component(cfg.vae, "--vae", "AutoencoderKL")
    if needs_main:
        _check_folder(main_model, "--model")
    for name, path in extra:
        _check_folder(path, f"--models {name}")
    out = Path(cfg.out) if cfg.out else run_dir / "toybench"
    out.mkdir(parents=True, exist_ok=True)

    idents = subjects(cfg.subjects, cfg.seed)
    refs = [reference_scene(ident, cfg.seed, i) for i, ident in enumerate(idents)]
    ref_images = [world.render(sc)[0] for sc in refs]
    reqs = requests(idents, specs, cfg.images_per_prompt, cfg.seed)
    print(f"ToyBench: {len(idents)} subjects x {len(specs)} prompts x {cfg.images_per_prompt} images "
          f"= {len(reqs)} images per row", flush=True)

    rows, records = [], []

    def add_row(name: str, images: list, seconds: Optional[float] = None, notes: str = "", **extra_fields):
        reads = probes.read(images)
        scores = [score_image(refs[r.subject], r.spec, r.target, rd) for r, rd in zip(reqs, reads)]
        row = {"name": name, **summarize(scores), "notes": notes, **extra_fields}
        if seconds is not None:
            row["seconds"] = round(seconds, 1)
            row["seconds_per_image"] = seconds / len(images)
        rows.append(row)
        for r, rd, s in zip(reqs, reads, scores):
            records.append({"row": name, "subject": r.subject, "prompt": r.prompt, "image": r.image, "seed": r.seed,
                            "read": rd, "id": s["id"], "prompt_score": s["prompt"], "copied": s["copied"],
                            "copy_eligible": s["copy_eligible"]})
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        grid(ref_images, images, reqs, len(specs), cfg.grid_scale).save(out / f"grid_{slug}.png")
        if cfg.save_images:  # every scored image, in the order of toybench.json's "images" records of this row
            np.savez_compressed(out / f"images_{slug}.npz", images=np.stack([np.asarray(im.convert("RGB")) for im in images]))
        print(f"{name}: ID {_fmt(row['id'])} Prompt {_fmt(row['prompt'])} Copy {_fmt(row['copy'])}", flush=True)

    truth = [world.render(ceiling_scene(r, cfg.seed))[0] for r in reqs]
    add_row("ceiling", truth, notes="probes on ground-truth renders of the requests")

    pipe = LikenessPipeline.from_folder(main_model) if needs_main else None
    if cfg.vae_ceiling:
        if cfg.vae:
            from diffusers import AutoencoderKL
            vae, whose = AutoencoderKL.from_pretrained(cfg.vae, torch_dtype=torch.float32).eval(), f"{cfg.vae}'s"
        else:
            vae, whose = pipe.vae, "the model's VAE"
        add_row("ceiling (VAE)", _vae_round_trip(vae, truth), notes=f"the same renders after {whose} round trip")
    if cfg.oracle:
        imgs, sec = _generate(pipe, reqs, lambda r: oracle_prompt(r.spec, r.target), lambda r: None, cfg, "oracle")
        add_row("text-only oracle", imgs, sec, notes="full description in words, no object tokens")

    def object_row(name: str, p, notes: str, id_scale: Optional[float] = None):
        t0 = time.time()
        tokens = [p.encode_object(im) for im in ref_images]
        enc_sec = (time.time() - t0) / len(ref_images)
        imgs, sec = _generate(p, reqs, lambda r: r.spec.text, lambda r: tokens[r.subject], cfg, name, id_scale)
        add_row(name, imgs, sec, notes=notes + f"; encoder {enc_sec * 1000:.0f} ms/object",
                encoder_seconds_per_object=enc_sec)

    if cfg.likeness:
        object_row("Likeness", pipe, f"{main_model}")
    if cfg.text_branch:
        object_row("text branch (id_scale 0)", pipe, f"{main_model}; the Likeness row's requests at id_scale 0",
                   id_scale=0.0)
    if cfg.ti_steps > 0:
        ti_cfg = textual_inversion.TIConfig(model=str(main_model), steps=cfg.ti_steps, lr=cfg.ti_lr,
                                            batch_size=cfg.ti_batch_size, seed=cfg.seed)
        tokens, secs = [], []
        for i, im in enumerate(ref_images):
            tok, info = textual_inversion.invert(pipe, im, ti_cfg)
            textual_inversion.save_tokens(out / "ti" / f"{idents[i].key()}.safetensors", tok, info)
            tokens.append(tok)
            secs.append(info["seconds"])
            print(f"TI subject {i + 1}/{len(ref_images)}: {info['seconds']:.0f}s, final loss {info['loss']:.4f}",
                  flush=True)
        # optimised tokens have no word slots: the prompt's words act through the text alone
        imgs, sec = _generate(pipe, reqs, lambda r: r.spec.text, lambda r: tokens[r.subject], cfg, "TI",
                              word_slots=False)
        s_obj = float(np.mean(secs))
        add_row(f"TI ({cfg.ti_steps} steps)", imgs, sec, notes=f"{s_obj:.0f} s/object to learn the tokens",
                ti_steps=cfg.ti_steps, ti_seconds_per_object=s_obj)
    for name, path in extra:
        object_row(name, LikenessPipeline.from_folder(path), f"{path}")

    result = {
        "config": dataclasses.asdict(cfg),
        "probes": probe_info,
        "subjects": [{"identity": ident.key(), "reference_scene": {
            "size": sc.size, "position": sc.position, "background": sc.background}} for ident, sc in zip(idents, refs)],
        "prompts": [{"text": s.text, "context": s.context(), "edit": list(s.edit) if s.edit else None} for s in specs],
        "copy_eligible": rows[0]["copy_eligible"],
        "rows": rows,
        "images": records,
        "wall_seconds": round(time.time() - t_start, 1),
    }
    _write(out / "toybench.json", json.dumps(result, indent=1))
    table = markdown(result)
    _write(out / "toybench.md", table)
    print(table, flush=True)
    print(f"wrote {out}/toybench.json, toybench.md, grid_*.png ({result['wall_seconds']:.0f}s)", flush=True)
    return result


if __name__ == "__main__":
    main()
