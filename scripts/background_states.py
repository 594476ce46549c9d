"""Where a text tower puts the background word of a short caption: the cosine between the state at
"beach" in short captions and in the full caption "a large red star on the beach, at the left",
and between the beach's and the pink fabric's states (full captions, then null-word ones), each
at its own word. One row per text encoder folder (a model's text_encoder/, a run's
base/text_encoder or clip/text_encoder); docs/RESULTS.md, "Short captions".

    python scripts/background_states.py --tokenizer Models/toybox/tokenizer Models/toybox/text_encoder runs/x2/base/text_encoder
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import common  # noqa: E402

FULL = "a large red star on the beach, at the left"
SHORT = ["a star on the beach", "a red object on the beach", "a object on the beach", "on the beach"]
PAIRS = [(FULL, "beach", "a large red star on pink fabric, at the left", "pink"),
         ("a object on the beach", "beach", "a object on pink fabric", "pink")]


def state_at(model, tok, text: str, word: str) -> torch.Tensor:
    ids = common.tokenize(tok, [text])
    pieces = tok.convert_ids_to_tokens(ids[0].tolist())
    where = [k for k, p in enumerate(pieces) if p.startswith(word)]
    if not where:
        raise ValueError(f"{word!r} is not a token of {text!r}")
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state[0, where[0]]


def main(argv=None):
    from transformers import CLIPTextModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("towers", nargs="+")
    args = ap.parse_args(argv)
    tok = common.load_tokenizer(args.tokenizer)
    cols = [f'"{s}"' for s in SHORT] + ["full: beach vs pink fabric", "null word: beach vs pink fabric"]
    print("| text tower | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for folder in args.towers:
        model = CLIPTextModel.from_pretrained(folder).eval()
        ref = state_at(model, tok, FULL, "beach")
        row = [torch.cosine_similarity(ref, state_at(model, tok, s, "beach"), dim=0) for s in SHORT]
        row += [torch.cosine_similarity(state_at(model, tok, a, wa), state_at(model, tok, b, wb), dim=0)
                for a, wa, b, wb in PAIRS]
        print(f"| {folder} | " + " | ".join(f"{float(v):.3f}" for v in row) + " |")


if __name__ == "__main__":
    main()
