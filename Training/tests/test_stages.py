"""The whole training chain at --quick size: every stage runs, resumes, and exports a folder that
diffusers and the reference pipeline load.
The `chain` fixture lives in conftest.py (other test files use the quick model too)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from likeness_train import stage_clip, world
from likeness_train.pipeline import LikenessPipeline


def test_stages_write_configs_and_weights(chain):
    for stage in ("clip", "vae", "base", "encoder"):
        cfg = json.loads((chain / stage / "train_config.json").read_text())
        assert cfg["quick"] is True
        assert (chain / stage / "state.pt").exists()
    assert json.loads((chain / "vae" / "metrics.json").read_text())["heldout_psnr_db"] > 0


def test_stage_resumes_from_checkpoint(chain, capsys):
    stage_clip.main(["--run-dir", str(chain), "--quick", "true", "--steps", "6", "--batch-size", "16"])
    out = capsys.readouterr().out
    assert "resumed" in out and "at step 4" in out
    assert "step 6/6" in out


def test_heldout_identities_never_in_training_data(chain):
    z = np.load(chain / "data" / "train.npz")
    keys = {str(k) for k in z["ident_keys"]}
    held = {i.key() for i in world.identities("heldout")}
    assert keys and not (keys & held)


def test_export_layout_and_diffusers_load(chain):
    from diffusers import StableDiffusionPipeline

    m = chain / "model"
    for f in ("model_index.json", "scheduler/scheduler_config.json", "text_encoder/model.safetensors",
              "tokenizer/tokenizer.json", "unet/diffusion_pytorch_model.safetensors",
              "vae/diffusion_pytorch_model.safetensors", "object_encoder/config.json",
              "object_encoder/model.safetensors", "preview/latent_rgb.json"):
        assert (m / f).exists(), f
    w = json.loads((m / "preview" / "latent_rgb.json").read_text())["weights"]
    assert len(w) == 3 and all(len(r) == 5 for r in w)
    vae = json.loads((m / "vae" / "config.json").read_text())  # the README says the VAE's own latent shape
    side = 64 // 2 ** (len(vae["block_out_channels"]) - 1)
    assert f"64x64 images, {side}x{side}x{vae['latent_channels']} latents" in (m / "README.md").read_text()
    pipe = StableDiffusionPipeline.from_pretrained(m, torch_dtype=torch.float32)
    img = pipe("a red star on the beach", num_inference_steps=2, height=64, width=64, output_type="np").images
    assert img.shape == (1, 64, 64, 3)


def test_reference_pipeline_without_object_is_the_base_pipeline(chain):
    from diffusers import StableDiffusionPipeline

    m = chain / "model"
    sd = StableDiffusionPipeline.from_pretrained(m, torch_dtype=torch.float32)
    ref = sd("a red star on the beach", num_inference_steps=4, guidance_scale=4.0,
             generator=torch.Generator("cpu").manual_seed(5), output_type="pt").images * 2 - 1
    lp = LikenessPipeline.from_folder(m)
    mine = lp("a red star on the beach", steps=4, text_scale=4.0, seed=5, output_type="pt")
    assert (ref - mine).abs().max().item() < 1e-5


@pytest.mark.parametrize("name", ["model", "model_hs"])
def test_reference_pipeline_uses_the_object(chain, name):
    lp = LikenessPipeline.from_folder(chain / name)
    rng = np.random.default_rng(0)
    a = world.render(world.sample_scene(world.Identity("star", "red", "plain", None), rng))[0]
    b = world.render(world.sample_scene(world.Identity("circle", "blue", "striped", "white"), rng))[0]
    ta, tb = lp.encode_object(a), lp.encode_object(b)
    assert ta.shape[1] == (4 if name == "model" else 2)
    ia = lp("a <obj> on the beach", object_tokens=ta, steps=2, seed=1, output_type="pt")
    ib = lp("a <obj> on the beach", object_tokens=tb, steps=2, seed=1, output_type="pt")
    assert (ia - ib).abs().max().item() > 1e-4
    # identity guidance 0 removes the object's influence
    za = lp("a <obj> on the beach", object_tokens=ta, steps=2, seed=1, id_scale=0.0, output_type="pt")
    zb = lp("a <obj> on the beach", object_tokens=tb, steps=2, seed=1, id_scale=0.0, output_type="pt")
    assert (za - zb).abs().max().item() < 1e-6


def test_reference_pipeline_errors(chain, tmp_path):
    lp = LikenessPipeline.from_folder(chain / "model")
    with pytest.raises(ValueError, match="no object was given"):
        lp("a <obj> on the beach", steps=1)
    tok = torch.zeros(1, 4, lp.text_encoder.config.hidden_size)
    with pytest.raises(ValueError, match="once"):
        lp("a <obj> next to a <obj>", object_tokens=tok, steps=1)
    with pytest.raises(ValueError, match="unknown sampler"):
        lp("a red star", steps=1, sampler="plms")
    with pytest.raises(FileNotFoundError, match="missing"):
        LikenessPipeline.from_folder(tmp_path)


def test_vae_decoder_only_keeps_the_latent_space(chain, tmp_path):
    """--decoder-only trains the decoder of an existing VAE and leaves its encoder, quant_conv and
    scaling factor as they were, so a base trained on its latents stays valid."""
    from diffusers import AutoencoderKL
    from likeness_train import stage_vae

    start = AutoencoderKL.from_pretrained(chain / "vae" / "model")
    run = tmp_path / "run"
    run.mkdir()
    (run / "data").symlink_to(chain / "data")
    stage_vae.main(["--run-dir", str(run), "--quick", "true", "--steps", "3", "--batch-size", "8",
                    "--init-from", str(chain / "vae" / "model"), "--decoder-only", "true", "--lr", "1e-2"])
    tuned = AutoencoderKL.from_pretrained(run / "vae" / "model")
    before, after = start.state_dict(), tuned.state_dict()
    for name in before:
        same = torch.equal(before[name], after[name])
        if name.startswith(("encoder.", "quant_conv.")):
            assert same, f"{name} changed"
    assert any(not torch.equal(before[n], after[n]) for n in before if n.startswith("decoder."))
    assert tuned.config.scaling_factor == start.config.scaling_factor
    assert json.loads((run / "vae" / "metrics.json").read_text())["decoder_only"] is True

    # a snapshot of the run keeps the scaling factor too (no new latent statistics)
    from likeness_train import snapshot_vae
    snapshot_vae.main(["--run-dir", str(run), "--out", str(tmp_path / "snap")])
    assert AutoencoderKL.load_config(tmp_path / "snap")["scaling_factor"] == start.config.scaling_factor

    # export ships it in place of the run's VAE, and refuses a VAE with another latent space
    from likeness_train import export
    out = tmp_path / "model"
    export.main(["--run-dir", str(chain), "--quick", "true", "--out", str(out), "--vae", str(run / "vae" / "model")])
    shipped = AutoencoderKL.from_pretrained(out / "vae").state_dict()
    key = next(n for n in after if n.startswith("decoder.") and not torch.equal(before[n], after[n]))
    assert torch.allclose(shipped[key].float(), after[key], atol=1e-3)
    other = AutoencoderKL.from_pretrained(chain / "vae" / "model")
    with torch.no_grad():
        other.encoder.conv_in.weight.add_(0.1)
    other.save_pretrained(tmp_path / "other")
    with pytest.raises(ValueError, match="encoder.conv_in.weight differs"):
        export.main(["--run-dir", str(chain), "--quick", "true", "--out", str(tmp_path / "bad"),
                     "--vae", str(tmp_path / "other")])


def test_vae_decoder_only_needs_a_starting_vae(tmp_path):
    from likeness_train import stage_vae

    with pytest.raises(ValueError, match="--init-from"):
        stage_vae.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--decoder-only", "true"])
