"""The eye test: a grid of what the Swift CLI makes from each sample object (Samples/objects/, all
held-out Toybox identities that no training stage saw): one row per object, the reference, then
one image per prompt, 2x nearest-neighbour upscaled, prompts written above the columns.

    python scripts/eye_test.py [--model Models/toybox] [--out docs/results/eye_test.png] [--seed 1]

Needs the release binary (`swift build -c release`). Each cell is
`likeness generate --model M --object Samples/objects/NAME.png --prompt P --steps 20 --seed S`.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / ".build" / "release" / "likeness"
PROMPTS = ["a <obj> on the beach", "a <obj> in the snow", "a <obj> in the jungle", "a <obj> in the city, at the left"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "Models" / "toybox"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "eye_test.png"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--prompts", nargs="*", default=PROMPTS)
    ap.add_argument("--scale", type=int, default=2)
    args = ap.parse_args(argv)
    if not BINARY.exists():
        print(f"{BINARY} is missing: run `swift build -c release`", file=sys.stderr)
        return 1
    objects = sorted((ROOT / "Samples" / "objects").glob("*.png"))
    side, pad, header = 64 * args.scale, 4, 28
    cols = 1 + len(args.prompts)
    sheet = Image.new("RGB", (cols * (side + pad) + pad, header + len(objects) * (side + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(["reference"] + args.prompts):
        x = pad + c * (side + pad)
        lines, cur = [], ""
        for w in text.split():  # wrap the caption to the column
            t = (cur + " " + w).strip()
            if draw.textlength(t) <= side - 6 or not cur:
                cur = t
            else:
                lines.append(cur)
                cur = w
        lines.append(cur)
        draw.multiline_text((x, 2), "\n".join(lines[:2]), fill="black", spacing=1)
    with tempfile.TemporaryDirectory() as tmp:
        for r, obj in enumerate(objects):
            y = header + pad + r * (side + pad)
            ref = Image.open(obj).convert("RGB").resize((side, side), Image.NEAREST)
            sheet.paste(ref, (pad, y))
            for c, prompt in enumerate(args.prompts):
                out = Path(tmp) / f"{r}-{c}.png"
                cmd = [str(BINARY), "generate", "--model", args.model, "--object", str(obj), "--prompt", prompt,
                       "--steps", str(args.steps), "--seed", str(args.seed), "--output", str(out)]
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    print(f"failed: {' '.join(cmd)}\n{res.stderr}", file=sys.stderr)
                    return 1
                img = Image.open(out).convert("RGB").resize((side, side), Image.NEAREST)
                sheet.paste(img, (pad + (c + 1) * (side + pad), y))
            print(f"{obj.stem}: done", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
