"""How often the Swift CLI draws the asked background for each sample object (Samples/objects/):
every eye-test prompt (scripts/eye_test.py) with each object, over several seeds, each image read
by ToyBench's background probe. Prints one row per prompt: images whose background reads as asked,
and what the others read as.

    python scripts/background_rate.py --probes runs/e6/probes [--model Models/toybox] [--seeds 8]

With `--text WORD` it measures the text alone instead: `<obj>` replaced by WORD and no object (the
text branch of identity guidance writes the object encoder's null word, "object", there), so a
base model folder without an object encoder can be scored too.

Needs the release binary (`swift build -c release`) and a probes folder (`python -m likeness_train
probes`). Each object and prompt is `likeness generate --model M --object OBJ --prompt P --steps 20
--seeds 1+N`.
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Training"))
sys.path.insert(0, str(ROOT / "scripts"))
from eye_test import BINARY, PROMPTS  # noqa: E402
from likeness_train import world  # noqa: E402


def asked_background(prompt: str) -> str:
    """The world's background whose caption phrase the prompt holds."""
    for name, phrase in world.BACKGROUNDS.items():
        if phrase in prompt:
            return name
    raise ValueError(f"no background named in {prompt!r}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "Models" / "toybox"))
    ap.add_argument("--probes", required=True)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--text", metavar="WORD", help="no object: <obj> replaced by WORD in each prompt")
    args = ap.parse_args(argv)
    if not BINARY.exists():
        print(f"{BINARY} is missing: run `swift build -c release`", file=sys.stderr)
        return 1
    from likeness_train.probes import Probes

    probes = Probes.load(args.probes)
    objects = sorted((ROOT / "Samples" / "objects").glob("*.png"))
    total_hit = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for prompt in PROMPTS:
            want, reads = asked_background(prompt), []
            for run, obj in enumerate(objects if args.text is None else [None]):  # text alone: one run of the seeds
                out = Path(tmp) / f"{run}.png"
                asked = ["--prompt", prompt.replace("<obj>", args.text)] if obj is None else \
                    ["--object", str(obj), "--prompt", prompt]
                cmd = [str(BINARY), "generate", "--model", args.model, *asked,
                       "--steps", str(args.steps), "--seeds", f"1+{args.seeds}", "--threads", str(args.threads),
                       "--output", str(out)]
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    print(f"failed: {' '.join(cmd)}\n{res.stderr}", file=sys.stderr)
                    return 1
                files = [Path(tmp) / f"{run}-{s}.png" for s in range(1, args.seeds + 1)]
                reads += [r["background"] for r in probes.read([Image.open(f) for f in files])]
            counts = collections.Counter(reads)
            hit = counts.pop(want, 0)
            total_hit, total = total_hit + hit, total + len(reads)
            others = ", ".join(f"{k} {v}" for k, v in counts.most_common())
            print(f"{prompt}: {hit}/{len(reads)} {want}" + (f" (others: {others})" if others else ""), flush=True)
    print(f"all prompts: {total_hit}/{total} ({total_hit / max(1, total):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
