"""How much a model's object tokens rewrite the other words of the caption.

With the input-embedding injection the K object tokens enter the causal text encoder at the
placeholder, so every later word ("in the snow") attends to them. For held-out references and
ToyBench's prompts this prints, per model: the object tokens' norm against the word embeddings',
and the cosine between each later word's final state with the object tokens and with the null
word in their place (1.0: the tokens leave the context as the text branch has it).

    python scripts/context_drift.py --heldout runs/e6/data/heldout.npz Models/toybox runs/e6/model
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Training"))
from likeness_train import common, models  # noqa: E402
from likeness_train.evaluate import DEFAULT_PROMPTS  # noqa: E402
from likeness_train.pipeline import LikenessPipeline  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--refs", type=int, default=16)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    data = common.SceneCache(Path(a.heldout))
    rng = np.random.default_rng(0)
    idx = rng.choice(len(data), a.refs, replace=False)
    images = data.image_tensor(idx)
    for folder in a.models:
        p = LikenessPipeline.from_folder(Path(folder))
        enc = p.object_encoder
        ph, null = enc.cfg.placeholder_token, enc.cfg.null_word
        tm = getattr(p.text_encoder, "text_model", p.text_encoder)
        wnorm = tm.embeddings.token_embedding.weight.norm(dim=-1)
        with torch.no_grad():
            toks = torch.cat([p.encode_object(images[i]) for i in range(len(idx))])  # [R, K, D]
        print(f"{folder}: object token norm {toks.norm(dim=-1).mean():.2f} (word embeddings {wnorm.mean():.2f} "
              f"+- {wnorm.std():.2f}); token cosine between references {pairwise(toks):.3f}")
        rows = []
        for prompt in DEFAULT_PROMPTS:
            null_prompt = prompt.replace(ph, null)
            with torch.no_grad():
                e_t = p.encode_prompt([null_prompt], None)[0]
                ids, start = models.slot_ids(p.tokenizer, prompt, ph, toks.shape[1],
                                             tm.embeddings.position_embedding.weight.shape[0])
                n_ctx = ids.index(p.tokenizer.eos_token_id) if p.tokenizer.eos_token_id in ids else len(ids)
                cos = []
                for r in range(len(idx)):
                    e_o = p.encode_prompt([prompt], toks[r:r + 1])[0]
                    after = range(start + toks.shape[1], n_ctx + 1)
                    # the null word is one token where the object has K: align the later words
                    shift = toks.shape[1] - 1
                    cos += [F.cosine_similarity(e_o[j], e_t[j - shift], dim=0).item() for j in after]
            rows.append((prompt, float(np.mean(cos)) if cos else float("nan"), float(np.min(cos)) if cos else float("nan")))
        for prompt, m, lo in rows:
            print(f"  {prompt:45s} later words' cosine mean {m:.3f} min {lo:.3f}")
        print(f"  all prompts: mean {np.nanmean([r[1] for r in rows]):.3f}")


def pairwise(t):
    f = F.normalize(t.flatten(1), dim=-1)
    s = f @ f.T
    n = len(f)
    return ((s.sum() - n) / (n * n - n)).item()


if __name__ == "__main__":
    main()
