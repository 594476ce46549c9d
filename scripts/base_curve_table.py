"""The base stage's learning curve as a markdown table: the text-only oracle row of ToyBench at
each evaluated checkpoint (`base-folder` + `evaluate`, see docs/RESULTS.md), against images seen.

    python scripts/base_curve_table.py runs/toybox2/curve [--batch-size 64]

reads CURVE/*/base_state.json (the checkpoint's step) and CURVE/*/bench/toybench.json.
"""
import argparse
import json
from pathlib import Path

ATTRS = [("id", "shape"), ("id", "color"), ("id", "pattern"), ("id", "pattern_color"),
         ("prompt", "background"), ("prompt", "position"), ("prompt", "size"), ("prompt", "edit")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("curve")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    rows = []
    for folder in Path(args.curve).iterdir():
        state, bench = folder / "base_state.json", folder / "bench" / "toybench.json"
        if not (state.exists() and bench.exists()):
            continue
        step = json.loads(state.read_text())["step"]
        oracle = next(r for r in json.loads(bench.read_text())["rows"] if r["name"] == "text-only oracle")
        rows.append((step, oracle))
    if not rows:
        raise SystemExit(f"{args.curve}: no evaluated checkpoints (FOLDER/base_state.json + FOLDER/bench/toybench.json)")
    print("| images seen | step | ID | Prompt | " + " | ".join(f"{g}: {a.replace('_', ' ')}" for g, a in ATTRS) + " |")
    print("|" + " ---: |" * (4 + len(ATTRS)))
    for step, r in sorted(rows, key=lambda x: x[0]):
        acc = r["attribute_accuracy"]
        cells = [f"{acc[g][a]:.3f}" if acc.get(g, {}).get(a) is not None else "-" for g, a in ATTRS]
        print(f"| {step * args.batch_size:,} | {step} | {r['id']:.3f} | {r['prompt']:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
