"""Training levers: EMA warm-up and averaging, min-SNR-gamma weights, learning-rate schedules."""
import math

import pytest
import torch

from likeness_train import levers


def test_ema_follows_weights_with_warmup():
    m = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        m.weight.fill_(0.0)
    ema = levers.EMA(m, decay=0.99)
    with torch.no_grad():
        m.weight.fill_(1.0)
    ema.update(m)  # decay_1 = min(0.99, 2/11): mostly the new weights
    assert ema.model.weight[0, 0].item() == pytest.approx(1 - 2 / 11)
    for _ in range(2000):
        ema.update(m)
    assert ema.model.weight[0, 0].item() == pytest.approx(1.0, abs=1e-6)
    assert not ema.model.weight.requires_grad


def test_ema_state_round_trip():
    m = torch.nn.Linear(2, 2)
    ema = levers.EMA(m, 0.9)
    ema.update(m)
    other = levers.EMA(torch.nn.Linear(2, 2), 0.9)
    other.load_state_dict(ema.state_dict())
    assert other.updates == 1
    assert torch.equal(other.model.weight, ema.model.weight)


def test_min_snr_weights():
    ac = torch.tensor([0.99, 0.5, 0.01])
    t = torch.tensor([0, 1, 2])
    w = levers.min_snr_weights(ac, t, gamma=5.0)
    snr = ac / (1 - ac)
    assert w[0].item() == pytest.approx(5.0 / snr[0].item(), rel=1e-5)  # high SNR: down-weighted
    assert w[1].item() == pytest.approx(1.0) and w[2].item() == pytest.approx(1.0)
    assert torch.equal(levers.min_snr_weights(ac, t, gamma=0.0), torch.ones(3))


def test_lr_schedules():
    assert levers.lr_factor(0, 1000, 100, "linear", 0.1) == pytest.approx(0.01)
    assert levers.lr_factor(500, 1000, 100, "linear", 0.1) == pytest.approx(0.5)
    assert levers.lr_factor(999, 1000, 100, "linear", 0.1) == pytest.approx(0.1)
    assert levers.lr_factor(500, 1000, 100, "cosine", 0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert levers.lr_factor(1000, 1000, 100, "cosine", 0.0) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="cosine"):
        levers.lr_factor(1, 10, 1, "step", 0.1)
    assert math.isclose(levers.lr_factor(50, 1000, 100, "cosine", 0.1), 0.51 * levers.lr_factor(100, 1000, 100, "cosine", 0.1) / 1.0, rel_tol=0.02)


def test_base_stage_with_levers_trains_resumes_and_exports_the_ema(chain, tmp_path):
    import shutil

    from diffusers import UNet2DConditionModel

    from likeness_train import stage_base
    for part in ("data", "clip", "vae"):
        shutil.copytree(chain / part, tmp_path / part)
    flags = ["--run-dir", str(tmp_path), "--quick", "true", "--batch-size", "4", "--save-every", "2",
             "--ema-decay", "0.9", "--min-snr-gamma", "5", "--lr-schedule", "cosine"]
    stage_base.main(flags + ["--steps", "2"])
    state = torch.load(tmp_path / "base" / "state.pt", weights_only=False)
    assert state["step"] == 2 and state["modules"]["ema"]["updates"] == 2
    stage_base.main(flags + ["--steps", "3"])  # resumes at step 2, EMA included
    state = torch.load(tmp_path / "base" / "state.pt", weights_only=False)
    assert state["step"] == 3 and state["modules"]["ema"]["updates"] == 3
    exported = UNet2DConditionModel.from_pretrained(tmp_path / "base" / "unet")
    ema_weights = state["modules"]["ema"]["model"]
    for name, p in exported.state_dict().items():
        assert torch.equal(p, ema_weights[name]), name


def test_base_stage_short_captions_are_partial_captions_of_the_batch(chain, tmp_path, monkeypatch):
    import shutil

    from likeness_train import common, stage_base, world
    for part in ("data", "clip", "vae"):
        shutil.copytree(chain / part, tmp_path / part)
    full = set(common.SceneCache(common.data_paths(tmp_path)["train"]).full)
    asked, made = [], []
    real = world.partial_caption

    def spy(text, rng, null_word="object", **kw):
        asked.append(text)
        made.append(real(text, rng, null_word, **kw))
        return made[-1]
    monkeypatch.setattr(world, "partial_caption", spy)
    stage_base.main(["--run-dir", str(tmp_path), "--quick", "true", "--batch-size", "8", "--steps", "2",
                     "--caption-dropout", "0", "--short-caption-rate", "1"])
    assert len(asked) == 16 and set(asked) <= full
    assert any("object" in m for m in made)
    assert (tmp_path / "base" / "unet" / "config.json").exists()


def test_base_stage_trains_its_text_encoder_and_later_stages_use_that_tower(chain, tmp_path):
    import shutil

    import pytest
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    from likeness_train import stage_base, stage_base_folder, stage_encoder, stage_from_snapshots
    from likeness_train.stage_base import text_encoder_dir
    for part in ("data", "clip", "vae"):
        shutil.copytree(chain / part, tmp_path / part)
    clip_tower = CLIPTextModel.from_pretrained(tmp_path / "clip" / "text_encoder").state_dict()
    flags = ["--run-dir", str(tmp_path), "--quick", "true", "--batch-size", "4", "--save-every", "2",
             "--ema-decay", "0.9", "--lr", "1e-3", "--lr-text", "1e-2", "--lr-schedule", "constant",
             "--short-caption-rate", "0.5"]
    stage_base.main(flags + ["--steps", "2"])
    stage_base.main(flags + ["--steps", "3"])  # resumes at step 2, the tower and its EMA included
    state = torch.load(tmp_path / "base" / "state.pt", weights_only=False)
    assert state["step"] == 3 and state["modules"]["text_ema"]["updates"] == 3
    written = CLIPTextModel.from_pretrained(tmp_path / "base" / "text_encoder").state_dict()
    for name, p in written.items():  # the written tower is the EMA, as the UNet is
        assert torch.equal(p, state["modules"]["text_ema"]["model"][name]), name
    assert any(not torch.equal(written[k], clip_tower[k]) for k in clip_tower if "layers" in k)
    assert text_encoder_dir(tmp_path) == tmp_path / "base" / "text_encoder"

    # base-folder takes the checkpoint's tower; the encoder stage starts from it (kept as it is
    # with --tune-base false) and exports it
    stage_base_folder.main(["--run-dir", str(tmp_path), "--out", str(tmp_path / "folder")])
    folder = CLIPTextModel.from_pretrained(tmp_path / "folder" / "text_encoder").state_dict()
    assert all(torch.equal(folder[k], written[k]) for k in written)
    stage_encoder.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4",
                        "--tune-base", "false"])
    enc_tower = CLIPTextModel.from_pretrained(tmp_path / "encoder" / "text_encoder").state_dict()
    assert all(torch.equal(enc_tower[k], written[k]) for k in written)

    # embeddings only: the token table moves, every other weight stays the clip stage's
    emb = tmp_path / "emb"
    for part in ("data", "clip", "vae"):
        shutil.copytree(chain / part, emb / part)
    stage_base.main(["--run-dir", str(emb), "--quick", "true", "--batch-size", "4", "--steps", "2", "--ema-decay", "0",
                     "--lr-text", "1e-2", "--lr-schedule", "constant", "--text-train", "embeddings"])
    tuned = CLIPTextModel.from_pretrained(emb / "base" / "text_encoder").state_dict()
    moved = {k for k in clip_tower if not torch.equal(tuned[k], clip_tower[k])}
    assert moved == {k for k in clip_tower if k.endswith("token_embedding.weight")}
    with pytest.raises(ValueError, match="all or embeddings"):
        stage_base.main(["--run-dir", str(emb), "--quick", "true", "--steps", "1", "--text-train", "layers"])

    # from-snapshots: --text-encoder brings a trained tower into a run; without it an earlier
    # base's tower is removed, so the run uses the clip stage's
    unet = tmp_path / "snap_unet"
    UNet2DConditionModel.from_pretrained(tmp_path / "base" / "unet").save_pretrained(unet)
    snap = ["--run-dir", str(emb), "--vae", str(chain / "model" / "vae"), "--unet", str(unet)]
    stage_from_snapshots.main(snap + ["--text-encoder", str(tmp_path / "base" / "text_encoder")])
    brought = CLIPTextModel.from_pretrained(text_encoder_dir(emb)).state_dict()
    assert all(torch.equal(brought[k], written[k]) for k in written)
    stage_from_snapshots.main(snap)
    assert text_encoder_dir(emb) == emb / "clip" / "text_encoder"
    with pytest.raises(FileNotFoundError, match="CLIPTextModel"):
        stage_from_snapshots.main(snap + ["--text-encoder", str(tmp_path / "nothing")])
