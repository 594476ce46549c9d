"""Model definitions for the Toybox model and the object encoder. No I/O here.

The object encoder and the placeholder injection follow docs/FORMAT.md (DESIGN.md section 2):
the prompt is split at the placeholder (a whole word, once), each part is tokenized without
special tokens, and K slots go between them:
    BOS, ids(before), slot_1..slot_K, ids(after), EOS, pad... (max length; text after is cut first)
injection "input_embedding": the slots' input embeddings are the K object tokens.
injection "hidden_state": the slots' inputs are `slot_embedding`; after the text transformer
their output states are replaced by the K object tokens.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- toybox configs


def clip_text_config(vocab_size: int, max_len: int, quick: bool = False) -> dict:
    return dict(vocab_size=vocab_size, hidden_size=64 if quick else 128, intermediate_size=128 if quick else 512,
                num_hidden_layers=1 if quick else 3, num_attention_heads=4, max_position_embeddings=max_len,
                hidden_act="quick_gelu", pad_token_id=0, bos_token_id=2, eos_token_id=3, projection_dim=64)


def clip_vision_config(quick: bool = False) -> dict:
    return dict(hidden_size=64 if quick else 128, intermediate_size=128 if quick else 512,
                num_hidden_layers=1 if quick else 3, num_attention_heads=4, image_size=64, patch_size=8,
                num_channels=3, hidden_act="quick_gelu", projection_dim=64)


def clip_config(vocab_size: int, max_len: int, quick: bool = False):
    """the tiny CLIP's transformers CLIPConfig (both towers, 64-wide projections)"""
    from transformers import CLIPConfig

    return CLIPConfig(text_config=clip_text_config(vocab_size, max_len, quick),
                      vision_config=clip_vision_config(quick), projection_dim=64)


def vae_config(quick: bool = False, channels: str = "", layers_per_block: int = 0, latent_channels: int = 4) -> dict:
    """AutoencoderKL for 64x64 scenes; len(channels) - 1 halvings of the side."""
    chans = [int(c) for c in channels.split(",")] if channels else ([8, 16, 16] if quick else [32, 64, 64])
    return dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * len(chans),
                up_block_types=["UpDecoderBlock2D"] * len(chans),
                block_out_channels=chans, layers_per_block=layers_per_block or 1,
                latent_channels=latent_channels, norm_num_groups=8, sample_size=64)


def unet_config(cross_dim: int, quick: bool = False, latent_channels: int = 4, head_dim: int = 0) -> dict:
    """head_dim 0 keeps the first models' config: diffusers reads `attention_head_dim` as the number
    of heads (16 heads of 4-12 channels). head_dim > 0 gives each block width // head_dim heads,
    written as the list diffusers expects in that same field."""
    chans = [32, 64, 64] if quick else [64, 128, 192]
    heads = [max(1, c // head_dim) for c in chans] if head_dim > 0 else (8 if quick else 16)
    return dict(sample_size=16, in_channels=latent_channels, out_channels=latent_channels, layers_per_block=1,
                block_out_channels=chans,
                down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                cross_attention_dim=cross_dim, attention_head_dim=heads, norm_num_groups=16 if quick else 32,
                use_linear_projection=True)


def scheduler_config() -> dict:
    return {"_class_name": "DDIMScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085,
            "beta_end": 0.012, "beta_schedule": "scaled_linear", "clip_sample": False,
            "set_alpha_to_one": False, "steps_offset": 1, "prediction_type": "epsilon",
            "timestep_spacing": "leading"}


# ---------------------------------------------------------------- object encoder


@dataclasses.dataclass
class ObjectEncoderConfig:
    vision_config: dict
    text_hidden_size: int
    num_tokens: int = 4
    injection: str = "input_embedding"  # or "hidden_state"
    placeholder_token: str = "<obj>"
    null_word: str = "object"  # stands in for the object in the e_text term of identity guidance
    image_size: int = 64
    image_mean: tuple = (0.5, 0.5, 0.5)
    image_std: tuple = (0.5, 0.5, 0.5)
    # Word slots (input_embedding only): object token `slot` was trained toward the embedding of the
    # word that names the reference's `attribute` (the encoder stage's --word-align-weight). A prompt
    # word of `words` right before the placeholder ("a red <obj>") puts words[word]'s embedding in
    # that slot, so the prompt's property replaces the reference's (apply_word_slots).
    # [{"slot": 0, "attribute": "color", "words": {"red": "red", ...}}, ...]; empty: none.
    word_slots: list = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_mean"], d["image_std"] = list(self.image_mean), list(self.image_std)
        return d


class Projection(nn.Module):
    """pooled vision state [B, Dv] -> K object tokens [B, K, D]: linear, then a LayerNorm whose
    learned scale sets the tokens' norm. It starts at 1 (tokens of norm sqrt(D)) unless
    `match_norm` sets it so the tokens start at a given norm, e.g. the word embeddings' typical one."""

    def __init__(self, dv: int, d: int, k: int):
        super().__init__()
        self.k, self.d = k, d
        self.linear = nn.Linear(dv, k * d)
        self.norm = nn.LayerNorm(d)

    @torch.no_grad()
    def match_norm(self, norm: float):
        """Scales the LayerNorm so a token starts at about this norm (its bias starts at 0)."""
        self.norm.weight.fill_(norm / self.d ** 0.5)

    def forward(self, pooled):
        x = self.linear(pooled).view(-1, self.k, self.d)  # [B, K, D]
        return self.norm(x)


class ObjectEncoder(nn.Module):
    def __init__(self, cfg: ObjectEncoderConfig):
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModel

        self.cfg = cfg
        vm = CLIPVisionModel(CLIPVisionConfig(**cfg.vision_config))
        self.vision_model = getattr(vm, "vision_model", vm)  # transformers 4 nests, 5 does not
        self.projection = Projection(cfg.vision_config["hidden_size"], cfg.text_hidden_size, cfg.num_tokens)
        if cfg.injection == "hidden_state":
            self.slot_embedding = nn.Parameter(torch.randn(cfg.num_tokens, cfg.text_hidden_size) * 0.02)
        elif cfg.injection != "input_embedding":
            raise ValueError(f"unknown injection {cfg.injection!r}; use input_embedding or hidden_state")
        for entry in cfg.word_slots:
            if cfg.injection != "input_embedding":
                raise ValueError("word_slots need input_embedding injection (a slot holds a word's input embedding)")
            if not 0 <= int(entry.get("slot", -1)) < cfg.num_tokens or not entry.get("words"):
                raise ValueError(f"word slot {entry!r}: slot must be in [0, {cfg.num_tokens}) with a non-empty words map")

    def preprocess(self, images):
        """images in [-1, 1], [B, 3, H, W] -> normalised with the config's mean and std"""
        x = (images + 1) / 2
        if x.shape[-1] != self.cfg.image_size:
            x = F.interpolate(x, size=(self.cfg.image_size, self.cfg.image_size), mode="bilinear",
                              align_corners=False, antialias=True)
        mean = torch.tensor(self.cfg.image_mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.cfg.image_std, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def forward(self, images):
        """images [B, 3, H, W] in [-1, 1] -> object tokens [B, K, D]"""
        out = self.vision_model(pixel_values=self.preprocess(images))
        return self.projection(out.pooler_output)


# ---------------------------------------------------------------- prompt encoding with slots


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def placeholder_spans(prompt: str, placeholder: str) -> list[int]:
    """Start offsets of the placeholder where it stands as a word of its own: the characters
    around it are not letters, digits or '_' (so `<obj>,` and `(<obj>)` match, `x<obj>` does not)."""
    starts, i = [], prompt.find(placeholder)
    while i >= 0:
        j = i + len(placeholder)
        if (i == 0 or not _is_word_char(prompt[i - 1])) and (j == len(prompt) or not _is_word_char(prompt[j])):
            starts.append(i)
            i = prompt.find(placeholder, j)
        else:
            i = prompt.find(placeholder, i + 1)
    return starts


def split_placeholder(prompt: str, placeholder: str) -> Optional[tuple[str, str]]:
    """(text before, text after) the placeholder, each with whitespace runs made single spaces."""
    starts = placeholder_spans(prompt, placeholder)
    if not starts:
        return None
    if len(starts) > 1:
        raise ValueError(f"the placeholder {placeholder} may appear once in a prompt, found {len(starts)} times: {prompt!r}")
    i = starts[0]
    return " ".join(prompt[:i].split()), " ".join(prompt[i + len(placeholder):].split())


def replace_placeholder(prompt: str, placeholder: str, word: str) -> str:
    """The prompt with each standalone placeholder replaced by `word` (identity guidance's e_text)."""
    for i in reversed(placeholder_spans(prompt, placeholder)):
        prompt = prompt[:i] + word + prompt[i + len(placeholder):]
    return prompt


def word_slot_edits(prompt: str, placeholder: str, word_slots: list) -> list[tuple[int, str]]:
    """(slot, word) for each property word in the run of words right before the placeholder that a
    word slot knows, nearest the placeholder first; the run ends at the first other word
    ("a small red striped <obj>" -> [(pattern slot, "stripes"), (colour slot, "red")]). A slot is
    set once (by the word nearest the placeholder). Words match case-insensitively."""
    parts = split_placeholder(prompt, placeholder) if word_slots else None
    if parts is None:
        return []
    known = {}
    for entry in word_slots:
        for w, token_word in entry["words"].items():
            known[w.lower()] = (int(entry["slot"]), token_word)
    out, used = [], set()
    for w in reversed(parts[0].split()):
        hit = known.get(w.lower())
        if hit is None:
            break
        if hit[0] not in used:
            used.add(hit[0])
            out.append(hit)
    return out


def apply_word_slots(tokens: torch.Tensor, edits: list[tuple[int, str]], tokenizer, text_encoder) -> torch.Tensor:
    """Object tokens [B, K, D] with each edited slot set to its word's input embedding, scaled to
    the norm of the token it replaces (the word's direction, the object's token norm)."""
    if not edits:
        return tokens
    table = getattr(text_encoder, "text_model", text_encoder).embeddings.token_embedding.weight
    out = tokens.clone()
    for slot, word in edits:
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"word slot {slot}: {word!r} is {len(ids)} tokens in this tokenizer; a slot word must be one")
        v = table[ids[0]].detach().to(out.dtype)
        out[:, slot] = v / v.norm() * out[:, slot].norm(dim=-1, keepdim=True)
    return out


def slot_ids(tokenizer, prompt: str, placeholder: str, k: int, max_len: int):
    """ids [max_len] with -1 at the K slots, and the slot start index (or None without a placeholder)."""
    parts = split_placeholder(prompt, placeholder)
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    if parts is None:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"][: max_len - 2]
        seq = [bos] + ids + [eos]
        return seq + [pad] * (max_len - len(seq)), None
    before = tokenizer(parts[0], add_special_tokens=False)["input_ids"] if parts[0] else []
    after = tokenizer(parts[1], add_special_tokens=False)["input_ids"] if parts[1] else []
    room = max_len - 2 - k
    if len(before) > room:
        raise ValueError(f"the text before {placeholder} is too long: {len(before)} tokens, at most {room}")
    if len(before) + len(after) > room:
        warnings.warn(f"prompt truncated to {max_len} tokens: text after {placeholder} was cut")
        after = after[: room - len(before)]
    seq = [bos] + before + [-1] * k + after + [eos]
    return seq + [pad] * (max_len - len(seq)), 1 + len(before)


def encode_prompts(text_encoder, tokenizer, prompts: list[str], object_tokens: Optional[torch.Tensor],
                   injection: str = "input_embedding", slot_embedding: Optional[torch.Tensor] = None,
                   placeholder: str = "<obj>"):
    """Text conditioning [B, L, D] with the object tokens [B, K, D] put at the placeholder.
    A prompt without the placeholder ignores its object tokens; object_tokens None means no object
    (a placeholder is then an error)."""
    tm = getattr(text_encoder, "text_model", text_encoder)  # transformers 4 nests, 5 does not
    max_len = tm.embeddings.position_embedding.weight.shape[0]
    k = object_tokens.shape[1] if object_tokens is not None else 0
    rows, starts = [], []
    for p in prompts:
        if object_tokens is None and split_placeholder(p, placeholder) is not None:
            raise ValueError(f"prompt {p!r} has {placeholder} but no object was given")
        ids, start = slot_ids(tokenizer, p, placeholder, k, max_len)
        rows.append(ids)
        starts.append(start)
    ids = torch.tensor(rows, device=tm.embeddings.token_embedding.weight.device)
    safe = ids.clamp(min=0)
    emb = tm.embeddings.token_embedding(safe)  # [B, L, D]
    fill = None
    if k:
        fill = object_tokens if injection == "input_embedding" else slot_embedding.expand(len(prompts), -1, -1)
        emb = _put_slots(emb, fill, starts, k)
    pos = tm.embeddings.position_embedding(torch.arange(max_len, device=ids.device))[None]
    hidden = emb + pos
    from transformers.masking_utils import create_causal_mask
    mask = create_causal_mask(config=tm.config, inputs_embeds=hidden, attention_mask=None, cache=None)
    states = tm.encoder(inputs_embeds=hidden, attention_mask=mask, is_causal=True).last_hidden_state
    states = tm.final_layer_norm(states)
    if k and injection == "hidden_state":
        states = _put_slots(states, object_tokens, starts, k)
    return states


def _put_slots(x, fill, starts, k):
    rows = []
    for b, s in enumerate(starts):
        if s is None:
            rows.append(x[b])
        else:
            rows.append(torch.cat([x[b, :s], fill[b].to(x.dtype), x[b, s + k:]], 0))
    return torch.stack(rows)
