#!/usr/bin/env python
"""Writes Sources/LikenessEngine/Resources/clip-bpe/merges.txt, the CLIP BPE merges Likeness ships
for single-file checkpoints (which carry no tokenizer).

Source: bpe_simple_vocab_16e6.txt.gz from OpenAI CLIP (MIT), as the open_clip wheel ships it. CLIP
uses its first 49152 - 256 - 2 = 48894 merges; the vocabulary (49408 entries) follows from them:
the 256 byte characters, the same with "</w>", each merge's concatenation in order, then
<|startoftext|> and <|endoftext|> (Sources/LikenessEngine/Tokenizers/BundledCLIPTokenizer.swift).
Run: .venv/bin/python scripts/clip_vocab.py
"""

import gzip
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "Sources" / "LikenessEngine" / "Resources" / "clip-bpe" / "merges.txt"


def main():
    spec = importlib.util.find_spec("open_clip")
    if spec is None or spec.origin is None:
        sys.exit("open_clip is not installed in this venv (make venv installs open-clip-torch for its BPE file)")
    lines = gzip.open(Path(spec.origin).parent / "bpe_simple_vocab_16e6.txt.gz").read().decode("utf-8").split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]
    assert len(merges) == 48894 and all(len(m.split(" ")) == 2 for m in merges)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(merges)} merges)")


if __name__ == "__main__":
    main()
