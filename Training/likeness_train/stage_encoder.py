"""Stage 4, encoder: the method of DESIGN.md section 3, every part switchable for the ablations.

- object encoder: the stage-1 CLIP vision tower + a projection to K tokens (--num-tokens, --injection)
- caption scheme (--caption-scheme): context in words, the object only as <obj>; off: "a photo of <obj>"
- cross-reference regularization (--cross-reference): the encoder sees another scene of the same
  object than the one the loss reconstructs; off: the same scene
- object-embedding dropping (--drop-rate): that share of each batch is plain text-image data with
  full captions and no object tokens
- whole-network tuning (--tune-base): UNet and text encoder train too, with small learning rates
- --lr-vision: the vision tower's own learning rate (0 keeps the tower as the clip stage left it and
  trains only the projection; the default, the encoder's rate, lets the denoising loss rewrite it)
- --vision-attr-weight: linear heads on the tower's pooled output of each reference image predict its
  ground-truth attributes (Toybox scenes only; shape weighted by --vision-shape-weight), so the tower
  keeps what the clip stage taught it to tell apart while the denoising loss adapts it
- --token-norm: "layer_norm" (tokens start at the projection's LayerNorm norm, sqrt(D)), "words"
  (they start at the text encoder's mean word-embedding norm, like the words they stand among) or a
  number (they start at that norm)
- --word-align-weight: pulls object token k toward the direction of the k-th word of the reference's
  description in the text encoder's own embedding table (colour, shape, pattern colour, pattern
  noun: "red star with blue stripes" -> red, star, blue, stripes; a plain object's last two tokens are
  free), by 1 - cosine (Toybox scenes only), so the tokens land where the base already draws the
  words' looks: the conditioning at <obj> reads colour and pattern nearly as well as the tower, the
  images do not (scripts/token_probe_diag.py, docs/RESULTS.md)
- --align-steps: before the denoising loop of a fresh run, that many steps train the encoder alone
  (tower, projection and attribute heads; no UNet) on the word alignment and attribute terms, with
  batches of --batch-size references, so the denoising loop starts with tokens at the words'
  directions, where the base already draws their looks (needs --word-align-weight)
- --edit-rate: that share of the object rows are property edits (Toybox scenes only): the reference
  is a scene of one cached identity, the target a scene of the cached identity that
  world.property_prompt makes of it with one colour or pattern word, and the caption names the
  word before the placeholder ("a large red <obj> on the beach, at the left"), so a prompt such as
  "a red <obj>" recolours the object instead of the tokens' own colour winning
- --short-caption-rate: that share of the rows leave context words out of their caption at random
  (world.partial_caption: size, position, companion, sometimes the background; "a <obj> on the
  beach"), so the short prompts people write are inside what the encoder and the tuned base saw
  (Toybox scenes only)
- identity preservation loss (--id-loss): denoising loss up-weighted inside the object mask
  (--mask-weight) plus a consistency term between the encoder's tokens for the reference and for
  the decoded predicted clean image (--consistency-weight)
Parts (defaults: the Toybox run's outputs and scene cache):
- --base PATH: a diffusers Stable Diffusion folder (text_encoder, tokenizer, unet, vae, scheduler)
  instead of the run's clip/, vae/ and base/ outputs; its noise schedule and prediction type are used
- --vision-model PATH: a transformers CLIPVisionModel (or CLIPModel) folder for the encoder's
  backbone instead of the run's clip/vision_model; image size, mean and std follow sources.py
- --dataset PATH.jsonl: an image-folder dataset (datasets.py) instead of the Toybox scene cache
Images are trained at the base's resolution (unet sample_size x the VAE's factor).
A further share (--null-rate) uses the prompt with the placeholder replaced by the null word and no
object, and --uncond-rate the empty prompt: these train the e_text and e_uncond terms that text
and identity guidance need at inference.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import common, datasets, models, sources, towers, world
from .stage_base import encode_latents, load_frozen, noise_scheduler


@dataclasses.dataclass
class EncoderConfig:
    """Train the object encoder and tune the base (stage 4)."""
    run_dir: str = "runs/toybox"
    out_name: str = "encoder"
    base: str = ""
    vision_model: str = ""
    dataset: str = ""
    steps: int = 600
    batch_size: int = 48
    num_tokens: int = 4
    injection: str = "input_embedding"
    caption_scheme: bool = True
    cross_reference: bool = True
    drop_rate: float = 0.2
    null_rate: float = 0.1
    uncond_rate: float = 0.1
    tune_base: bool = True
    id_loss: bool = True
    mask_weight: float = 2.0
    consistency_weight: float = 0.05
    consistency_max_t: int = 400
    lr_encoder: float = 3e-4
    lr_vision: float = -1.0  # the vision tower's rate; < 0: lr_encoder, 0: frozen (the projection still trains)
    vision_attr_weight: float = 0.0  # > 0: attribute heads on the tower's pooled output (Toybox scenes)
    vision_shape_weight: float = 4.0  # the shape head's share of that loss
    token_norm: str = "layer_norm"  # "words": the word embeddings' mean norm; a number: that norm
    word_align_weight: float = 0.0  # > 0: token k toward the k-th description word's direction (Toybox scenes)
    align_steps: int = 0  # encoder-only steps on the alignment (and attribute) terms before the denoising loop
    edit_rate: float = 0.0  # share of object rows that are one-property edits between cached identities
    short_caption_rate: float = 0.0  # share of rows whose caption leaves context words out (Toybox scenes)
    lr_unet: float = 5e-5
    lr_text: float = 1e-5
    seed: int = 0
    quick: bool = False
    save_every: int = 200
    max_minutes: float = 0.0  # stop, save and write the weights after this much wall time (0: no limit)


def main(argv=None):
    run(common.parse_config(EncoderConfig, argv))


def build_encoder(run_dir: Path, cfg: EncoderConfig, text_hidden: int,
                  word_norm: float | None = None) -> models.ObjectEncoder:
    from transformers import CLIPVisionModel

    if cfg.vision_model:
        folder = Path(cfg.vision_model)
        vision = sources.load_vision(folder)
    else:
        folder = run_dir / "clip" / "vision_model"
        if not folder.exists():
            raise FileNotFoundError(f"{folder} does not exist: run the clip stage, or pass --vision-model")
        vision = CLIPVisionModel.from_pretrained(folder)
    pre = sources.vision_preprocessing(folder, vision.config.to_dict(), toybox_default=not cfg.vision_model)
    print(f"object encoder input: {pre['image_size']}px, mean/std from {pre['source']}", flush=True)
    ocfg = models.ObjectEncoderConfig(vision_config=vision.config.to_dict(), text_hidden_size=text_hidden,
                                      num_tokens=cfg.num_tokens, injection=cfg.injection,
                                      placeholder_token=common.PLACEHOLDER, image_size=pre["image_size"],
                                      image_mean=pre["image_mean"], image_std=pre["image_std"],
                                      word_slots=word_slots_of(cfg))
    keep = {k: ocfg.vision_config[k] for k in models.clip_vision_config(False)}
    if ocfg.vision_config.get("layer_norm_eps", 1e-5) != 1e-5:
        keep["layer_norm_eps"] = ocfg.vision_config["layer_norm_eps"]
    ocfg.vision_config = keep
    enc = models.ObjectEncoder(ocfg)
    src = getattr(vision, "vision_model", vision)
    enc.vision_model.load_state_dict(src.state_dict())
    if cfg.token_norm == "words":
        if word_norm is None:
            raise ValueError("--token-norm words needs the text encoder's word embeddings")
        enc.projection.match_norm(word_norm)
        print(f"object tokens start at the word embeddings' mean norm {word_norm:.3f}", flush=True)
    elif cfg.token_norm != "layer_norm":
        try:
            norm = float(cfg.token_norm)
        except ValueError:
            raise ValueError(f"unknown --token-norm {cfg.token_norm!r}; use layer_norm, words or a number") from None
        if not norm > 0:
            raise ValueError(f"--token-norm must be positive, got {norm}")
        enc.projection.match_norm(norm)
        print(f"object tokens start at norm {norm:.3f}", flush=True)
    return enc


def run(cfg: EncoderConfig):
    from accelerate import Accelerator
    from diffusers import UNet2DConditionModel

    if cfg.word_align_weight > 0 and cfg.dataset:
        raise ValueError("--word-align-weight needs Toybox scenes (no --dataset): their descriptions are the targets")
    if cfg.align_steps and not cfg.word_align_weight > 0:
        raise ValueError("--align-steps trains the encoder toward the description words: it needs --word-align-weight")
    if cfg.align_steps < 0:
        raise ValueError(f"--align-steps is a number of steps, >= 0; got {cfg.align_steps}")
    if cfg.edit_rate > 0 and cfg.dataset:
        raise ValueError("--edit-rate needs Toybox scenes (no --dataset): edits pair identities by their attributes")
    if cfg.short_caption_rate > 0 and cfg.dataset:
        raise ValueError("--short-caption-rate needs Toybox scenes (no --dataset): it leaves out words of their caption grammar")
    if cfg.short_caption_rate > 0 and not cfg.caption_scheme:
        raise ValueError("--short-caption-rate needs --caption-scheme: it leaves out the context words around <obj>")
    if not 0 <= cfg.edit_rate <= 1:
        raise ValueError(f"--edit-rate is a share of the object rows, in [0, 1]; got {cfg.edit_rate}")
    acc = Accelerator(cpu=not torch.cuda.is_available())
    dev = acc.device
    run_dir = Path(cfg.run_dir)
    out = run_dir / cfg.out_name
    common.save_config(cfg, out / "train_config.json")
    if cfg.base:
        vae, text, tok, unet, sched_cfg = sources.load_base(Path(cfg.base), dev)
        noise_sched = sources.training_scheduler(sched_cfg)
    else:
        vae, text, tok = load_frozen(run_dir, dev)
        unet = UNet2DConditionModel.from_pretrained(run_dir / "base" / "unet").to(dev)
        noise_sched = noise_scheduler()
    res, factor = sources.resolution(unet, vae), sources.vae_factor(vae)
    if cfg.dataset:
        data = datasets.load(Path(cfg.dataset), res, common.PLACEHOLDER)
        print(f"dataset {cfg.dataset}: {len(data)} images of {len(data.by_ident)} subjects at {res}x{res}, "
              f"{data.single_image_ids()} subjects with one image (cross-reference uses that image)", flush=True)
    elif res != 64:
        raise ValueError(f"the base draws {res}x{res} images but Toybox scenes are 64x64: pass --dataset")
    else:
        data = common.SceneCache(common.ensure_data(run_dir, quick=cfg.quick)["train"])
    latents = encode_latents(vae, data, dev, batch=max(1, 256 * 64 * 64 // (res * res)))
    masks = torch.cat([F.avg_pool2d(data.mask_tensor(range(s, min(s + 1024, len(data)))), factor)
                       for s in range(0, len(data), 1024)]).to(dev)  # [N, 1, res/f, res/f], pooled in chunks
    torch.manual_seed(cfg.seed)
    tm = getattr(text, "text_model", text)
    word_norm = tm.embeddings.token_embedding.weight.detach().norm(dim=-1).mean().item()
    enc = build_encoder(run_dir, cfg, text.config.hidden_size, word_norm).to(dev)
    text.train(cfg.tune_base).requires_grad_(cfg.tune_base)
    unet.train(cfg.tune_base).requires_grad_(cfg.tune_base)
    lr_vision = cfg.lr_encoder if cfg.lr_vision < 0 else cfg.lr_vision
    vision_params = list(enc.vision_model.parameters())
    if lr_vision == 0:
        enc.vision_model.requires_grad_(False)
    groups = [{"params": [p for n, p in enc.named_parameters() if not n.startswith("vision_model.")],
               "lr": cfg.lr_encoder}]
    if lr_vision > 0:
        groups.append({"params": vision_params, "lr": lr_vision})
    heads = None
    # the cached scenes' labels, for the Toybox-only terms (attribute heads, word alignment)
    scenes = ([towers.scene_of(data.ident_keys[i], m) for i, m in zip(data.ident, data.meta)]
              if (cfg.vision_attr_weight > 0 or cfg.word_align_weight > 0 or cfg.edit_rate > 0)
              and not cfg.dataset else None)
    if cfg.vision_attr_weight > 0:
        if cfg.dataset or lr_vision == 0:
            raise ValueError("--vision-attr-weight needs Toybox scenes (no --dataset) and a tower that trains")
        heads = torch.nn.ModuleDict({a: torch.nn.Linear(enc.vision_model.config.hidden_size, len(v))
                                     for a, v in towers.ATTRIBUTES.items()}).to(dev)
        attr_labels = {a: torch.tensor([towers._image_label(s, a) for s in scenes]) for a in towers.ATTRIBUTES}
        groups.append({"params": list(heads.parameters()), "lr": cfg.lr_encoder})
    word_ids = None
    if cfg.word_align_weight > 0:
        word_ids = description_word_ids(tok, [s.identity for s in scenes], cfg.num_tokens)
    pairs = []
    if cfg.edit_rate > 0:
        pairs = edit_pairs([scenes[rows[0]].identity for rows in data.by_ident.values()], list(data.by_ident))
        if not pairs:
            raise ValueError("--edit-rate: no two cached identities differ by one property edit")
        print(f"edits: {len(pairs)} one-property pairs among {len(data.by_ident)} cached identities", flush=True)
    if cfg.tune_base:
        groups += [{"params": list(unet.parameters()), "lr": cfg.lr_unet},
                   {"params": list(text.parameters()), "lr": cfg.lr_text}]
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    ckpt = common.Checkpoint(out / "state.pt")
    modules = {"encoder": enc, "unet": unet, "text": text} | ({"heads": heads} if heads is not None else {})
    step = ckpt.load(modules, opt)
    if step == 0 and cfg.align_steps:
        align_encoder(enc, heads, data, word_ids, attr_labels if heads is not None else None,
                      tm.embeddings.token_embedding.weight, cfg, dev)
    enc, unet, text, opt = acc.prepare(enc, unet, text, opt)
    kind_pred = noise_sched.config.prediction_type
    print(f"noise schedule: {noise_sched.config.beta_schedule}, {noise_sched.config.num_train_timesteps} steps, "
          f"predicts {kind_pred}", flush=True)
    acp = noise_sched.alphas_cumprod.to(dev)
    vae.requires_grad_(False)
    e_mod, t_mod, u_mod = acc.unwrap_model(enc), acc.unwrap_model(text), acc.unwrap_model(unet)

    def batch(gen):
        b = cfg.batch_size
        idx = torch.randint(len(data), (b,), generator=gen)
        r = torch.rand(b, generator=gen)
        kind = torch.zeros(b, dtype=torch.long)  # 0 object, 1 dropped (full caption), 2 null word, 3 uncond
        kind[r < cfg.drop_rate + cfg.null_rate + cfg.uncond_rate] = 3
        kind[r < cfg.drop_rate + cfg.null_rate] = 2
        kind[r < cfg.drop_rate] = 1
        obj = (kind == 0).nonzero().flatten()
        ref_idx = idx.clone()
        if cfg.cross_reference:
            for j in obj.tolist():
                ref_idx[j] = datasets.cross_reference(data, int(idx[j]), gen)
        edit_word = {}
        if pairs and len(obj):
            for j in obj[torch.rand(len(obj), generator=gen) < cfg.edit_rate].tolist():
                src, dst, word = pairs[int(torch.randint(len(pairs), (1,), generator=gen))]
                for rows, where in ((data.by_ident[dst], idx), (data.by_ident[src], ref_idx)):
                    where[j] = rows[int(torch.randint(len(rows), (1,), generator=gen))]
                edit_word[j] = word
        prompts = []
        short, rng = [False] * b, None
        if cfg.short_caption_rate > 0:  # no draws otherwise: runs without the lever keep their random stream
            short = (torch.rand(b, generator=gen) < cfg.short_caption_rate).tolist()
            rng = np.random.default_rng(int(torch.randint(2 ** 31, (1,), generator=gen)))
        for j in range(b):
            i = int(idx[j])
            ph = data.placeholder[i] if cfg.caption_scheme else f"a photo of {common.PLACEHOLDER}"
            obj_words = f"{edit_word[j]} {common.PLACEHOLDER}" if j in edit_word else common.PLACEHOLDER
            if j in edit_word:
                ph = ph.replace(common.PLACEHOLDER, obj_words)
            k = int(kind[j])
            if short[j] and k < 3:
                # the context with words left out ("a <obj> on the beach"), as people write prompts
                prompts.append(world.partial_caption(data.full[i], rng, e_mod.cfg.null_word,
                                                     obj=[obj_words, None, e_mod.cfg.null_word][k]))
                continue
            prompts.append([ph, data.full[i], ph.replace(common.PLACEHOLDER, e_mod.cfg.null_word), ""][k])
        tokens_ref = None
        if len(obj):
            ref_images = data.image_tensor(ref_idx[obj].numpy()).to(dev)
            if heads is None:
                tokens_ref = e_mod(ref_images)  # [n, K, D]
            else:
                pooled = e_mod.vision_model(pixel_values=e_mod.preprocess(ref_images)).pooler_output
                tokens_ref = e_mod.projection(pooled)
                attr = attribute_loss(heads, pooled, attr_labels, ref_idx[obj], cfg, dev)
            full_tokens = torch.zeros(b, cfg.num_tokens, t_mod.config.hidden_size, device=dev)
            full_tokens = full_tokens.index_put((obj.to(dev),), tokens_ref)
        else:
            full_tokens = torch.zeros(b, cfg.num_tokens, t_mod.config.hidden_size, device=dev)
        slot = getattr(e_mod, "slot_embedding", None)
        cond = models.encode_prompts(t_mod, tok, prompts, full_tokens, cfg.injection, slot, common.PLACEHOLDER)
        x0 = latents[idx.to(dev)]
        noise = torch.randn(x0.shape, generator=gen).to(dev)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (b,), generator=gen).to(dev)
        a = acp[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        pred = unet(xt, t, encoder_hidden_states=cond).sample
        err = (pred - sources.diffusion_target(kind_pred, x0, noise, a)).pow(2)
        if cfg.id_loss:
            w = 1 + cfg.mask_weight * masks[idx.to(dev)] * (kind == 0).to(dev).view(-1, 1, 1, 1).float()
            diff_loss = (err * w).sum() / (w.sum() * err.shape[1])
        else:
            diff_loss = err.mean()
        loss = diff_loss
        terms = {}
        if heads is not None and len(obj):
            loss = loss + cfg.vision_attr_weight * attr / len(towers.ATTRIBUTES)
            terms["attr"] = attr.item()
        if word_ids is not None and len(obj):
            align = word_align_loss(tokens_ref, word_ids[ref_idx[obj]].to(dev),
                                    getattr(t_mod, "text_model", t_mod).embeddings.token_embedding.weight)
            loss = loss + cfg.word_align_weight * align
            terms["align"] = align.item()
        cons = torch.zeros((), device=dev)
        if cfg.id_loss and cfg.consistency_weight > 0 and len(obj):
            sel = obj.to(dev)[t[obj.to(dev)] < cfg.consistency_max_t]
            if len(sel):
                a_s = a[sel]
                x0_pred = sources.predicted_x0(kind_pred, xt[sel], pred[sel], a_s)
                img = vae.decode(x0_pred / vae.config.scaling_factor).sample.clamp(-1, 1)
                tok_pred = e_mod(img)
                pos = {int(o): n for n, o in enumerate(obj.tolist())}
                ref_sel = tokens_ref[[pos[int(s)] for s in sel.tolist()]].detach()
                cons = (1 - F.cosine_similarity(tok_pred, ref_sel, dim=-1)).mean()
                loss = loss + cfg.consistency_weight * cons
        return loss, {"loss": diff_loss.item(), "cons": cons.item()} | terms

    saved = {"encoder": e_mod, "unet": u_mod, "text": t_mod} | ({"heads": heads} if heads is not None else {})
    common.train_loop(acc, cfg, "encoder", opt, ckpt, saved, step, batch,
                      lambda s: min(1.0, (s + 1) / 100) * max(0.1, 1 - s / cfg.steps),
                      clip_params=[p for g in opt.param_groups for p in g["params"]], max_minutes=cfg.max_minutes)
    save_weights(out, e_mod, u_mod, t_mod)


def word_slots_of(cfg) -> list:
    """The word slots an encoder run's tokens have (models.ObjectEncoderConfig.word_slots): those of
    world.word_slots when --word-align-weight aligned them to the description words (Toybox scenes,
    input_embedding injection); none otherwise. `cfg`: an EncoderConfig or its train_config.json."""
    get = cfg.get if isinstance(cfg, dict) else lambda k, d=None: getattr(cfg, k, d)
    if (get("word_align_weight", 0.0) or 0) <= 0 or get("dataset", "") \
            or get("injection", "input_embedding") != "input_embedding":
        return []
    return world.word_slots(int(get("num_tokens", 4)))


def description_word_ids(tok, identities, k: int) -> torch.Tensor:
    """[N, k] token ids of each identity's description words in slot order (colour, shape, pattern
    colour, pattern noun), -1 where a slot has no word (a plain object's pattern slots, k > 4)."""
    from .world import PATTERN_NOUNS

    out = torch.full((len(identities), k), -1, dtype=torch.long)
    cache = {}

    def word(w):
        if w not in cache:
            ids = tok(w, add_special_tokens=False)["input_ids"]
            if len(ids) != 1:
                raise ValueError(f"--word-align-weight: {w!r} is {len(ids)} tokens in this tokenizer; one each is needed")
            cache[w] = ids[0]
        return cache[w]

    for n, ident in enumerate(identities):
        words = [ident.color, ident.shape]
        if ident.pattern != "plain":
            words += [ident.pattern_color, PATTERN_NOUNS[ident.pattern]]
        for slot, w in enumerate(words[:k]):
            out[n, slot] = word(w)
    return out


def attribute_loss(heads, pooled, attr_labels, rows, cfg, dev) -> torch.Tensor:
    """The attribute heads' summed cross-entropy on the pooled tower outputs of the cached scenes
    `rows`, the shape head weighted by --vision-shape-weight."""
    return sum(F.cross_entropy(heads[a](pooled), attr_labels[a][rows].to(dev)) *
               (cfg.vision_shape_weight if a == "shape" else 1.0) for a in towers.ATTRIBUTES)


def align_encoder(enc, heads, data, word_ids, attr_labels, table, cfg, dev) -> None:
    """--align-steps: the encoder alone (and the attribute heads) on 1 - cosine to the description
    words plus the attribute terms, its own AdamW at the encoder's rate (warm-up over the first 10%),
    batches of the stage's size; the UNet and text encoder are not run."""
    params = [p for p in enc.parameters() if p.requires_grad] + (list(heads.parameters()) if heads is not None else [])
    opt = torch.optim.AdamW(params, lr=cfg.lr_encoder, weight_decay=0.01)
    warm = max(1, cfg.align_steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
    gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
    log = common.Log()
    b = cfg.batch_size
    for step in range(cfg.align_steps):
        rows = torch.randint(len(data), (b,), generator=gen)
        images = data.image_tensor(rows.numpy()).to(dev)
        pooled = enc.vision_model(pixel_values=enc.preprocess(images)).pooler_output
        tokens = enc.projection(pooled)
        align = word_align_loss(tokens, word_ids[rows].to(dev), table)
        loss, terms = cfg.word_align_weight * align, {"align": align.item()}
        if heads is not None:
            attr = attribute_loss(heads, pooled, attr_labels, rows, cfg, dev)
            loss = loss + cfg.vision_attr_weight * attr / len(towers.ATTRIBUTES)
            terms["attr"] = attr.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        log(step + 1, cfg.align_steps, b, **terms)


def edit_pairs(identities, ids) -> list:
    """(source id, target id, word) for every one-property edit world.property_prompt makes of one
    identity (a colour word, or a pattern word) whose result is another identity of the list."""
    where = {ident: i for ident, i in zip(identities, ids)}
    pairs = []
    for ident, i in zip(identities, ids):
        for attribute, values in (("color", world.COLOR_NAMES), ("pattern", world.PATTERNS[1:])):
            for value in values:
                j = where.get(world.property_prompt(ident, attribute, value)[1])
                if j is not None and j != i:
                    pairs.append((i, j, value))
    return pairs


def word_align_loss(tokens: torch.Tensor, ids: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cosine between tokens [n, K, D] and the embedding rows of ids [n, K] (-1: no target)
    over the slots that have a word; the table is read, not trained, by this term."""
    have = ids >= 0
    if not have.any():
        return tokens.sum() * 0
    target = table.detach()[ids.clamp(min=0)]
    cos = F.cosine_similarity(tokens, target.to(tokens.dtype), dim=-1)
    return (1 - cos)[have].mean()


def save_weights(out: Path, enc: models.ObjectEncoder, unet, text):
    from safetensors.torch import save_file

    (out / "object_encoder").mkdir(parents=True, exist_ok=True)
    (out / "object_encoder" / "config.json").write_text(json.dumps(enc.cfg.to_json(), indent=2))
    save_file({k: v.detach().contiguous() for k, v in enc.state_dict().items()},
              str(out / "object_encoder" / "model.safetensors"))
    unet.save_pretrained(out / "unet")
    text.save_pretrained(out / "text_encoder")
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
