"""Writes Samples/objects/*.png: reference renders of held-out Toybox identities (never seen by
any training stage), one per file, named after the identity. Deterministic."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Training"))
from likeness_train import world  # noqa: E402

CHOSEN = [
    ("star", "red", "striped", "blue"), ("circle", "yellow", "dotted", "purple"),
    ("heart", "pink", "checkered", "black"), ("square", "green", "zigzag", "white"),
    ("triangle", "orange", "plain", None), ("hexagon", "blue", "striped", "yellow"),
    ("diamond", "purple", "dotted", "orange"), ("cross", "white", "checkered", "red"),
    ("star", "brown", "zigzag", "green"), ("circle", "black", "striped", "pink"),
    ("heart", "blue", "plain", None), ("square", "red", "dotted", "white"),
]


def main():
    out = Path(__file__).resolve().parents[1] / "Samples" / "objects"
    out.mkdir(parents=True, exist_ok=True)
    held = world.identities("heldout")
    rng = np.random.default_rng(2024)
    picked = []
    for s, c, p, pc in CHOSEN:
        # nearest held-out identity: same shape and colour where possible
        cands = [i for i in held if i.shape == s and i.color == c] or [i for i in held if i.shape == s]
        ident = cands[int(rng.integers(len(cands)))]
        if ident in picked:
            continue
        picked.append(ident)
        scene = world.sample_scene(ident, rng, size="large", position="center", companion=None)
        img, _ = world.render(scene)
        img.save(out / f"{ident.key()}.png")
        print(out / f"{ident.key()}.png", "|", world.caption(scene))


if __name__ == "__main__":
    main()
