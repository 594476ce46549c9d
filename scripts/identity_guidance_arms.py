"""Inference-time variants of identity guidance, scored by ToyBench on an exported model.

    python scripts/identity_guidance_arms.py VARIANT [evaluate's flags]
    e.g. python scripts/identity_guidance_arms.py attention-mask --run-dir runs/e6 --model runs/e6/model \
             --oracle false --vae-ceiling false --out runs/toybench-e6m

The Likeness row's pipeline (Training/likeness_train/pipeline.py) computes
    e = e_u + s_text (e_t - e_u) + s_id (e_o - e_t).
VARIANT changes one thing:
- later-words: e_o's states after the object's slots are e_t's states of the same words, so the object
  tokens reach the caption's later words only through the UNet's attention to the tokens themselves
  (the causal text encoder otherwise rewrites "on the beach" after a strong object).
- attention-mask: the identity term is weighted per latent pixel by M = the e_o branch's attention mass
  on the object's slots (mean over heads and the cross-attention layers at 16x16 and 8x8, bilinearly
  to 16x16), divided by its maximum: e = e_u + s_text (e_t - e_u) + s_id M (e_o - e_t).
Other rows (text branch at id_scale 0, oracle, ...) run unchanged. DDIM, text-to-image only.
docs/RESULTS.md, "Identity guidance kept to the object", has what each measured."""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Training"))
from likeness_train import evaluate, models, pipeline  # noqa: E402

VARIANTS = ("later-words", "attention-mask")


class SlotAttentionMap:
    """diffusers' AttnProcessor for the cross-attention layers that also keeps, for the third batch
    item (e_o), the attention mass on the object's slots per query pixel."""

    def __init__(self, state: dict):
        self.state = state

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        b, n, _ = hidden_states.shape
        q = attn.head_to_batch_dim(attn.to_q(hidden_states))
        k = attn.head_to_batch_dim(attn.to_k(encoder_hidden_states))
        v = attn.head_to_batch_dim(attn.to_v(encoder_hidden_states))
        probs = attn.get_attention_scores(q, k, None)
        out = attn.to_out[1](attn.to_out[0](attn.batch_to_head_dim(torch.bmm(probs, v))))
        slots, side_out = self.state.get("slots"), self.state["side"]
        side = int(round(n ** 0.5))
        if slots is not None and b == 3 and side * 2 >= side_out:
            s, kk = slots
            mass = probs.view(b, attn.heads, n, -1)[2, :, :, s:s + kk].sum(-1).mean(0)
            self.state["maps"].append(F.interpolate(mass.view(1, 1, side, side), size=(side_out, side_out),
                                                    mode="bilinear", align_corners=False))
        return out


def variant_call(variant: str):
    @torch.no_grad()
    def call(self, prompt, object_tokens=None, negative_prompt="", steps=25, text_scale=5.0, id_scale=3.0, seed=0,
             sampler="ddim", **kw):
        placeholder = self.object_encoder.cfg.placeholder_token if self.object_encoder is not None else "<obj>"
        if object_tokens is None or id_scale == 0 or models.split_placeholder(prompt, placeholder) is None:
            return ORIGINAL(self, prompt, object_tokens=object_tokens, negative_prompt=negative_prompt, steps=steps,
                            text_scale=text_scale, id_scale=id_scale, seed=seed, sampler=sampler, **kw)
        if kw or sampler != "ddim":
            raise ValueError(f"{variant}: text-to-image with DDIM only, got sampler {sampler} and {sorted(kw)}")
        k = object_tokens.shape[1]
        max_len = self.text_encoder.config.max_position_embeddings
        _, start = models.slot_ids(self.tokenizer, prompt, placeholder, k, max_len)
        e_u = self.encode_prompt([negative_prompt], None)
        e_t = self.encode_prompt([models.replace_placeholder(prompt, placeholder, self.object_encoder.cfg.null_word)],
                                 None)
        e_o = self.encode_prompt([prompt], object_tokens)
        if variant == "later-words":
            # e_t has the one-token null word where e_o has k slots: its later words sit k-1 places earlier.
            e_o = torch.cat([e_o[:, :start + k], e_t[:, start + 1:start + 1 + max_len - start - k]], 1)
        side = self.unet.config.sample_size
        state = {"maps": [], "slots": (start, k) if variant == "attention-mask" else None, "side": side}
        if variant == "attention-mask":
            self.unet.set_attn_processor({name: SlotAttentionMap(state) if name.endswith("attn2.processor") else p
                                          for name, p in self.unet.attn_processors.items()})
        cond = torch.cat([e_u, e_t, e_o])
        sched = self.scheduler(sampler)
        sched.set_timesteps(steps)
        gen = torch.Generator("cpu").manual_seed(seed)
        x = torch.randn((1, self.unet.config.in_channels, side, side), generator=gen, dtype=torch.float32)
        x = x * sched.init_noise_sigma
        for t in sched.timesteps:
            state["maps"] = []
            e = self.unet(sched.scale_model_input(torch.cat([x] * 3), t), t, encoder_hidden_states=cond).sample
            u, tx, o = e.chunk(3)
            weight = 1.0
            if variant == "attention-mask":
                a = torch.cat(state["maps"]).mean(0, keepdim=True)
                weight = a / a.amax()
            x = sched.step(u + text_scale * (tx - u) + id_scale * weight * (o - tx), t, x, generator=gen).prev_sample
        img = self.vae.decode(x / self.vae.config.scaling_factor).sample.clamp(-1, 1)
        arr = ((img[0].permute(1, 2, 0).float().numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr)

    return call


ORIGINAL = pipeline.LikenessPipeline.__call__

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in VARIANTS:
        sys.exit(f"usage: identity_guidance_arms.py {{{'|'.join(VARIANTS)}}} [evaluate's flags]")
    pipeline.LikenessPipeline.__call__ = variant_call(sys.argv[1])
    evaluate.main(sys.argv[2:])
