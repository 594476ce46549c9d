"""A VAE run's weights snapshot as a model folder (fp16 weights, float32 config) and a new run
starting from it (`vae --init-from`), as a later session on a fresh machine resumes."""
import json
import shutil

import pytest
import torch


def test_snapshot_then_init_from(chain, tmp_path):
    from diffusers import AutoencoderKL

    from likeness_train import snapshot_vae, stage_vae
    a, b = tmp_path / "a", tmp_path / "b"
    for run in (a, b):
        shutil.copytree(chain / "data", run / "data")
    stage_vae.main(["--run-dir", str(a), "--quick", "true", "--steps", "2", "--batch-size", "4",
                    "--channels", "8,16", "--latent-channels", "8"])
    snap = tmp_path / "snap"
    snapshot_vae.main(["--run-dir", str(a), "--out", str(snap)])
    meta = json.loads((snap / "snapshot.json").read_text())
    assert meta["step"] == 2 and meta["train_config"]["latent_channels"] == 8
    assert json.loads((snap / "config.json").read_text()).get("dtype", "float32") == "float32"
    loaded = AutoencoderKL.from_pretrained(snap)
    assert loaded.dtype == torch.float32 and loaded.config.latent_channels == 8
    # Zero steps: the run only loads the snapshot, evaluates and saves it.
    stage_vae.main(["--run-dir", str(b), "--quick", "true", "--steps", "0", "--channels", "8,16",
                    "--latent-channels", "8", "--init-from", str(snap)])
    resumed = AutoencoderKL.from_pretrained(b / "vae" / "model")
    for name, p in loaded.state_dict().items():
        assert torch.equal(p, resumed.state_dict()[name]), name
    # the snapshot carries the scaling factor measured on the run's scenes, as the vae stage writes it
    factor = json.loads((a / "vae" / "model" / "config.json").read_text())["scaling_factor"]
    assert loaded.config.scaling_factor != AutoencoderKL().config.scaling_factor
    assert loaded.config.scaling_factor == pytest.approx(factor, rel=2e-2)  # fp16 weights against fp32
    assert resumed.config.scaling_factor == pytest.approx(factor, rel=2e-2)


def test_base_stage_follows_the_vae_latent_channels(chain, tmp_path):
    from diffusers import UNet2DConditionModel

    from likeness_train import stage_base, stage_vae
    for part in ("data", "clip"):
        shutil.copytree(chain / part, tmp_path / part)
    stage_vae.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4",
                    "--latent-channels", "8"])
    stage_base.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4"])
    unet = UNet2DConditionModel.from_pretrained(tmp_path / "base" / "unet")
    assert unet.config.in_channels == 8 and unet.config.out_channels == 8


def test_schedule_steps_sets_the_length_of_the_decay(chain, tmp_path):
    """A run stopped early on a longer schedule (the committed VAE: 3000 steps of a 6000-step
    decay) is reproduced with --steps and --schedule-steps."""
    from likeness_train import levers, stage_vae
    lrs = {}
    for name, extra in (("short", ["--schedule-steps", "0"]), ("long", ["--schedule-steps", "100"])):
        run = tmp_path / name
        shutil.copytree(chain / "data", run / "data")
        stage_vae.main(["--run-dir", str(run), "--quick", "true", "--steps", "2", "--batch-size", "2"] + extra)
        state = torch.load(run / "vae" / "state.pt", weights_only=False)
        lrs[name] = state["optimizer"]["param_groups"][0]["lr"]
    assert lrs["short"] == pytest.approx(1e-3 * levers.lr_factor(2, 2, 50, "linear", 0.05))
    assert lrs["long"] == pytest.approx(1e-3 * levers.lr_factor(2, 100, 50, "linear", 0.05))
    assert lrs["long"] > lrs["short"]
