"""Collects the ToyBench ablation runs of scripts/toybench_ablations.sh into one markdown table.

    python scripts/ablation_table.py [RUN_DIR] [PREFIX]     (default runs/toybox abl250x32)

Reads RUN_DIR/toybench-PREFIX_ROW/toybench.json (or RUN_DIR/PREFIX_ROW.json, as copied to
docs/results/ablations) for every row that has finished and prints ID,
Prompt, Copy and the per-attribute reads, with each row's difference to the `full` row.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    ("full", "full method (same schedule)"),
    ("full_seed1", "full method, training seed 1 (seed-to-seed spread)"),
    ("no_caption_scheme", "no caption scheme (`a photo of <obj>` only)"),
    ("no_cross_reference", "no cross-reference (the reference is the target image)"),
    ("no_dropping", "no object-embedding dropping"),
    ("frozen_base", "frozen base (encoder only)"),
    ("no_identity_loss", "no identity loss (no masked weighting, no consistency)"),
    ("hidden_state", "hidden_state injection (instead of input_embedding)"),
    ("k1", "K = 1 token (instead of 4)"),
]
ATTRS = [("id", "shape"), ("id", "color"), ("id", "pattern"), ("id", "pattern_color"),
         ("prompt", "background"), ("prompt", "position"), ("prompt", "size"), ("prompt", "edit")]


def load(run_dir: Path, prefix: str, row: str):
    path = run_dir / f"toybench-{prefix}_{row}" / "toybench.json"
    if not path.exists():
        path = run_dir / f"{prefix}_{row}.json"  # the flat copies in docs/results/ablations
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    named = [r for r in data["rows"] if r["name"] == row]
    if not named:
        raise SystemExit(f"{path} has no row named {row!r}")
    return data, named[0]


def main():
    run_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "runs" / "toybox"
    prefix = sys.argv[2] if len(sys.argv) > 2 else "abl250x32"
    found = [(row, label, load(run_dir, prefix, row)) for row, label in ROWS]
    done = [(row, label, r) for row, label, r in found if r]
    if not done:
        raise SystemExit(f"no finished rows under {run_dir}/toybench-{prefix}_*")
    ref = dict((row, r[1]) for row, _, r in done).get("full")
    cfg = done[0][2][0]["config"]
    print(f"{cfg['subjects']} held-out subjects x {len(cfg['prompts'])} prompts x {cfg['images_per_prompt']} "
          f"image(s), {cfg['steps']} {cfg['sampler']} steps, s_text {cfg['text_scale']}, s_id {cfg['id_scale']}.\n")
    print("| Row | ID | Prompt | Copy | " + " | ".join(f"{k}: {a}" for k, a in ATTRS) + " |")
    print("|---|---|---|---|" + "---|" * len(ATTRS))
    for row, label, (_, r) in done:
        def cell(v, key):
            if ref is None or row == "full":
                return f"{v:.3f}"
            return f"{v:.3f} ({v - ref[key]:+.3f})"
        acc = r["attribute_accuracy"]
        attrs = " | ".join(f"{acc[k].get(a, float('nan')):.3f}" for k, a in ATTRS)
        print(f"| {label} | {cell(r['id'], 'id')} | {cell(r['prompt'], 'prompt')} | {cell(r['copy'], 'copy')} | {attrs} |")
    missing = [label for row, label, r in found if not r]
    if missing:
        print("\nNot run yet: " + "; ".join(missing) + ".")


if __name__ == "__main__":
    main()
