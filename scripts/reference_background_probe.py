"""Does a reference's own background keep the asked background away? For each sample object
(Samples/objects/), `a <obj> in the ASKED` with N seeds from the reference as it is and from the
same identity re-rendered large and centred on another background; the ToyBench probes read the
background of every image.

    python scripts/reference_background_probe.py [--model Models/toybox] [--probes runs/e6/probes]
        [--asked jungle] [--other wooden_floor] [--seeds 8] [--objects NAME ...]
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Training"))

from likeness_train import world  # noqa: E402
from likeness_train.evaluate import Probes  # noqa: E402
from likeness_train.pipeline import LikenessPipeline  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "Models" / "toybox"))
    ap.add_argument("--probes", default=str(ROOT / "runs" / "e6" / "probes"))
    ap.add_argument("--asked", default="jungle")
    ap.add_argument("--other", default="wooden_floor")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--objects", nargs="*", default=[])
    args = ap.parse_args(argv)
    pipe = LikenessPipeline.from_folder(args.model)
    probes = Probes.load(Path(args.probes))
    rng = np.random.default_rng(5)
    hits = collections.defaultdict(list)
    files = sorted((ROOT / "Samples" / "objects").glob("*.png"))
    for f in [p for p in files if not args.objects or p.stem in args.objects]:
        shape, color, pattern, pc = f.stem.split("-")
        ident = world.Identity(shape, color, pattern, None if pc == "none" else pc)
        sample = Image.open(f).convert("RGB")
        ref_bg = probes.read([sample])[0]["background"]
        alt = world.render(world.sample_scene(ident, rng, background=args.other, size="large", position="center"))[0]
        for name, ref in [("sample", sample), (f"on {args.other}", alt)]:
            tokens = pipe.encode_object(ref)
            images = [pipe(f"a <obj> in the {args.asked}", object_tokens=tokens, steps=20, seed=s)
                      for s in range(args.seeds)]
            reads = [r["background"] for r in probes.read(images)]
            hits[(f"reference background {'is' if ref_bg == args.asked else 'is not'} {args.asked}", name)].append(
                sum(r == args.asked for r in reads))
            print(f"{f.stem} (reference: {ref_bg}) {name}: {reads}", flush=True)
    for (group, name), v in sorted(hits.items()):
        print(f"{group}, reference {name}: {sum(v)} / {args.seeds * len(v)} images show the {args.asked}")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(2)
    sys.exit(main())
