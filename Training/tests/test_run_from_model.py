"""A run folder refilled from a committed model folder (`clip-from-model`), so the vae, base and
encoder stages run where the clip stage's output is gone, and `base-folder`, a text-only model
folder from any base checkpoint for the base stage's learning curve."""
import json
import shutil

import pytest
import torch

from likeness_train import towers


def test_clip_from_model_then_base_and_encoder_stages(chain, tmp_path):
    from safetensors.torch import load_file
    from transformers import CLIPTextModel, CLIPVisionModel

    from likeness_train import stage_base, stage_clip_from_model, stage_encoder
    shutil.copytree(chain / "data", tmp_path / "data")
    shutil.copytree(chain / "vae", tmp_path / "vae")
    stage_clip_from_model.main(["--run-dir", str(tmp_path), "--model", str(chain / "model")])

    text = CLIPTextModel.from_pretrained(tmp_path / "clip" / "text_encoder")
    assert text.dtype == torch.float32
    committed = CLIPTextModel.from_pretrained(chain / "model" / "text_encoder", torch_dtype=torch.float32)
    for name, p in committed.state_dict().items():
        assert torch.equal(p, text.state_dict()[name]), name
    vision = CLIPVisionModel.from_pretrained(tmp_path / "clip" / "vision_model")
    enc = load_file(str(chain / "model" / "object_encoder" / "model.safetensors"))
    tower = getattr(vision, "vision_model", vision).state_dict()
    assert tower and all(torch.equal(v, enc["vision_model." + k].float()) for k, v in tower.items())
    assert (tmp_path / "clip" / "tokenizer" / "tokenizer.json").exists()

    stage_base.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4"])
    stage_encoder.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4"])
    assert (tmp_path / "encoder" / "object_encoder" / "model.safetensors").exists()

    # A saved clip folder (what a run's clip/ holds) fills another run the same way.
    other = tmp_path / "other"
    stage_clip_from_model.main(["--run-dir", str(other), "--model", str(tmp_path / "clip")])
    again = CLIPVisionModel.from_pretrained(other / "clip" / "vision_model")
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in vision.state_dict().items())
    text2 = CLIPTextModel.from_pretrained(other / "clip" / "text_encoder")
    assert all(torch.equal(v, text2.state_dict()[k]) for k, v in text.state_dict().items())


def test_clip_from_model_names_what_is_missing(tmp_path):
    import pytest

    from likeness_train import stage_clip_from_model
    (tmp_path / "model" / "text_encoder").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        stage_clip_from_model.main(["--run-dir", str(tmp_path / "run"), "--model", str(tmp_path / "model")])


def test_base_folder_holds_the_checkpoints_ema_and_generates(chain, tmp_path):
    from diffusers import UNet2DConditionModel
    from PIL import Image

    from likeness_train import stage_base, stage_base_folder
    from likeness_train.pipeline import LikenessPipeline
    for part in ("data", "clip", "vae"):
        shutil.copytree(chain / part, tmp_path / part)
    stage_base.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "2", "--batch-size", "4",
                     "--ema-decay", "0.9", "--keep-every", "1"])
    state = torch.load(tmp_path / "base" / "state.pt", weights_only=False)
    kept = sorted(p.name for p in (tmp_path / "base" / "snapshots").iterdir())
    assert kept == ["step-1.pt", "step-2.pt"]
    first = torch.load(tmp_path / "base" / "snapshots" / "step-1.pt", weights_only=False)
    assert first["step"] == 1 and "optimizer" not in first and first["modules"]["ema"]["updates"] == 1
    folder1 = tmp_path / "folder1"
    stage_base_folder.main(["--run-dir", str(tmp_path), "--state", str(tmp_path / "base" / "snapshots" / "step-1.pt"),
                            "--out", str(folder1)])
    assert json.loads((folder1 / "base_state.json").read_text())["step"] == 1
    out = tmp_path / "folder"
    stage_base_folder.main(["--run-dir", str(tmp_path), "--out", str(out)])
    unet = UNet2DConditionModel.from_pretrained(out / "unet")
    for name, p in unet.state_dict().items():
        assert torch.equal(p, state["modules"]["ema"]["model"][name]), name
    assert json.loads((out / "base_state.json").read_text()) == {
        "state": str(tmp_path / "base" / "state.pt"), "step": 2, "weights": "ema"}
    raw = tmp_path / "raw"
    stage_base_folder.main(["--run-dir", str(tmp_path), "--out", str(raw), "--raw", "true"])
    unet_raw = UNet2DConditionModel.from_pretrained(raw / "unet")
    assert any(not torch.equal(p, unet.state_dict()[n]) for n, p in unet_raw.state_dict().items())

    pipe = LikenessPipeline.from_folder(out)
    assert pipe.object_encoder is None
    image = pipe("a red star in the snow", steps=2, seed=0)
    side = pipe.unet.config.sample_size * 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    assert isinstance(image, Image.Image) and image.size == (side, side)


def test_max_minutes_stops_saves_and_finishes(chain, tmp_path):
    """--max-minutes: a stage out of wall time saves its checkpoint and writes its weights as if
    its steps were done (for fixed-length sessions and device leases)."""
    from likeness_train import stage_base, stage_encoder, stage_vae
    for part in ("data", "clip"):
        shutil.copytree(chain / part, tmp_path / part)
    stage_vae.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "100000", "--batch-size", "2",
                    "--max-minutes", "0.0001"])
    assert torch.load(tmp_path / "vae" / "state.pt", weights_only=False)["step"] == 1
    assert (tmp_path / "vae" / "model" / "config.json").exists()
    stage_base.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "100000", "--batch-size", "2",
                     "--max-minutes", "0.0001"])
    assert torch.load(tmp_path / "base" / "state.pt", weights_only=False)["step"] == 1
    assert (tmp_path / "base" / "unet" / "config.json").exists()
    stage_encoder.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "100000", "--batch-size", "2",
                        "--max-minutes", "0.0001"])
    assert torch.load(tmp_path / "encoder" / "state.pt", weights_only=False)["step"] == 1
    assert (tmp_path / "encoder" / "object_encoder" / "model.safetensors").exists()


def test_deadline_fits_the_steps_to_the_budget(monkeypatch):
    from likeness_train import common
    now = [100.0]
    monkeypatch.setattr(common.time, "time", lambda: now[0])
    d = common.Deadline(1.0, probe=20, margin=0.95)  # 60 s, of which 57 s are planned
    steps = 1000
    for step in range(0, 21):  # one step per second
        now[0] = 100.0 + step
        steps = d.fit(step, steps)
    assert steps == 20 + 37 and not d.passed()
    assert d.fit(30, steps) == steps  # fitted once
    now[0] = 160.0
    assert d.passed()
    assert common.Deadline(0).fit(5, 1000) == 1000 and not common.Deadline(0).passed()
    fast = common.Deadline(1.0, probe=2)
    for step in range(3):
        assert fast.fit(step, 10) == 10  # fits, nothing to shorten


def test_from_snapshots_fills_vae_and_base_in_float32_then_the_encoder_runs(chain, tmp_path):
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from likeness_train import stage_clip_from_model, stage_encoder, stage_from_snapshots
    # fp16 snapshots, as Training/checkpoints keeps them
    snaps = tmp_path / "snaps"
    vae16 = AutoencoderKL.from_pretrained(chain / "model" / "vae", torch_dtype=torch.float16)
    vae16.save_pretrained(snaps / "vae")
    unet16 = UNet2DConditionModel.from_pretrained(chain / "model" / "unet", torch_dtype=torch.float16)
    unet16.save_pretrained(snaps / "unet")
    run = tmp_path / "run"
    shutil.copytree(chain / "data", run / "data")
    stage_clip_from_model.main(["--run-dir", str(run), "--model", str(chain / "model")])
    stage_from_snapshots.main(["--run-dir", str(run), "--vae", str(snaps / "vae"), "--unet", str(snaps / "unet")])

    for cls, written, snap in ((AutoencoderKL, run / "vae" / "model", vae16),
                               (UNet2DConditionModel, run / "base" / "unet", unet16)):
        model = cls.from_pretrained(written)
        assert model.dtype == torch.float32
        for name, p in snap.state_dict().items():
            assert torch.equal(model.state_dict()[name], p.float()), name
    stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "1", "--batch-size", "4"])
    assert (run / "encoder" / "object_encoder" / "model.safetensors").exists()

    # --lr-vision 0: the tower stays as the clip stage left it, the projection trains
    from safetensors.torch import load_file
    from transformers import CLIPVisionModel
    stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "2", "--batch-size", "4",
                        "--lr-vision", "0", "--out-name", "frozen"])
    tower = CLIPVisionModel.from_pretrained(run / "clip" / "vision_model")
    tower = getattr(tower, "vision_model", tower).state_dict()
    for name, out in (("frozen", True), ("encoder", False)):
        enc = load_file(str(run / name / "object_encoder" / "model.safetensors"))
        same = all(torch.equal(enc["vision_model." + k].float(), v) for k, v in tower.items())
        assert same == out, name

    # --vision-attr-weight: the tower's attribute heads train with it and are checkpointed; a
    # frozen tower has nothing for them to keep, so that combination is refused
    import pytest
    stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "2", "--batch-size", "4",
                        "--vision-attr-weight", "1", "--out-name", "heads"])
    state = torch.load(run / "heads" / "state.pt", weights_only=False)
    heads = state["modules"]["heads"]
    assert sorted(k.split(".")[0] for k in heads if k.endswith("weight")) == sorted(towers.ATTRIBUTES)
    assert heads["shape.weight"].shape[0] == len(towers.ATTRIBUTES["shape"])
    enc = load_file(str(run / "heads" / "object_encoder" / "model.safetensors"))
    assert not any(k.startswith("heads") for k in enc)
    with pytest.raises(ValueError, match="tower that trains"):
        stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "1", "--batch-size", "4",
                            "--vision-attr-weight", "1", "--lr-vision", "0", "--out-name", "refused"])

    # --word-align-weight: the stage runs with the term (and refuses an image dataset, which has no descriptions)
    stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "2", "--batch-size", "4",
                        "--word-align-weight", "1", "--out-name", "align"])
    assert (run / "align" / "object_encoder" / "model.safetensors").exists()
    with pytest.raises(ValueError, match="Toybox scenes"):
        stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "1", "--batch-size", "4",
                            "--word-align-weight", "1", "--dataset", str(tmp_path / "none.jsonl"),
                            "--out-name", "refused"])

    # --align-steps: the encoder alone moves its tokens toward the description words before the
    # denoising loop (the term falls), the stage runs with it, and it needs --word-align-weight
    from likeness_train import common as lk_common
    from likeness_train.stage_base import load_frozen
    cfg = stage_encoder.EncoderConfig(run_dir=str(run), quick=True, batch_size=16, word_align_weight=1.0,
                                      token_norm="words", align_steps=30, lr_encoder=1e-3)
    _, text, tok = load_frozen(run, torch.device("cpu"))
    table = getattr(text, "text_model", text).embeddings.token_embedding.weight.detach()
    torch.manual_seed(0)
    enc = stage_encoder.build_encoder(run, cfg, text.config.hidden_size, table.norm(dim=-1).mean().item())
    data = lk_common.SceneCache(lk_common.ensure_data(run, quick=True)["train"])
    scenes = [towers.scene_of(data.ident_keys[i], m) for i, m in zip(data.ident, data.meta)]
    ids = stage_encoder.description_word_ids(tok, [sc.identity for sc in scenes], cfg.num_tokens)
    rows = torch.arange(min(32, len(data)))

    def align_now():
        with torch.no_grad():
            tokens = enc.projection(enc.vision_model(pixel_values=enc.preprocess(data.image_tensor(rows.numpy()))).pooler_output)
            return stage_encoder.word_align_loss(tokens, ids[rows], table).item()

    before = align_now()
    stage_encoder.align_encoder(enc, None, data, ids, None, table, cfg, torch.device("cpu"))
    after = align_now()
    assert after < before - 0.05, (before, after)
    stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "1", "--batch-size", "4",
                        "--word-align-weight", "1", "--align-steps", "3", "--vision-attr-weight", "1",
                        "--out-name", "aligned"])
    assert (run / "aligned" / "object_encoder" / "model.safetensors").exists()
    with pytest.raises(ValueError, match="needs --word-align-weight"):
        stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "1", "--batch-size", "4",
                            "--align-steps", "3", "--out-name", "refused"])

    # --edit-rate: every object row an edit between the quick cache's one-edit neighbours
    stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "2", "--batch-size", "4",
                        "--edit-rate", "1", "--out-name", "edits"])
    assert (run / "edits" / "object_encoder" / "model.safetensors").exists()
    for bad in (["--dataset", str(tmp_path / "none.jsonl")], ["--edit-rate", "1.5"]):
        with pytest.raises(ValueError, match="Toybox scenes|share of the object rows"):
            stage_encoder.main(["--run-dir", str(run), "--quick", "true", "--steps", "1", "--batch-size", "4",
                                "--edit-rate", "0.5", *bad, "--out-name", "refused"])


def test_edit_pairs_follow_the_property_prompts():
    from likeness_train import stage_encoder, world
    red_star = world.Identity("star", "red", "plain", None)
    blue_star = world.Identity("star", "blue", "plain", None)
    striped_red_star = world.Identity("star", "red", "striped", "white")
    blue_heart = world.Identity("heart", "blue", "plain", None)
    # a blue star with red stripes: recolouring it red would leave red on red, so world.property_prompt
    # drops the pattern (a plain red star)
    blue_red_stripes = world.Identity("star", "blue", "striped", "red")
    pairs = stage_encoder.edit_pairs([red_star, blue_star, striped_red_star, blue_heart, blue_red_stripes],
                                     [10, 11, 12, 13, 14])
    expect = {(10, 11, "blue"), (11, 10, "red"),  # colour edits both ways
              (10, 12, "striped"),                 # a plain star given stripes gets white ones
              (14, 10, "red")}                     # red on the red-striped star: plain red
    assert set(pairs) == expect, set(pairs) ^ expect
    # no pair changes the shape, and none maps an identity to itself
    assert all(i != j for i, j, _ in pairs) and (13, 11, "blue") not in pairs


def test_word_align_targets_and_loss(chain):
    from transformers import AutoTokenizer

    from likeness_train import stage_encoder, world
    tok = AutoTokenizer.from_pretrained(chain / "model" / "tokenizer")
    plain = world.Identity("star", "red", "plain", None)
    striped = world.Identity("heart", "blue", "striped", "white")
    ids = stage_encoder.description_word_ids(tok, [plain, striped], 4)
    one = lambda w: tok(w, add_special_tokens=False)["input_ids"][0]  # noqa: E731
    assert ids[0].tolist() == [one("red"), one("star"), -1, -1]
    assert ids[1].tolist() == [one("blue"), one("heart"), one("white"), one("stripes")]
    assert stage_encoder.description_word_ids(tok, [striped], 2)[0].tolist() == [one("blue"), one("heart")]

    table = torch.randn(int(ids.max()) + 1, 8, generator=torch.Generator().manual_seed(0))
    target = table[ids.clamp(min=0)]
    # the targets' own directions, at another norm: no loss; the free slots are not counted
    aligned = target * 3.0
    aligned[0, 2:] = torch.randn(2, 8)
    assert stage_encoder.word_align_loss(aligned, ids, table).item() < 1e-6
    # elsewhere: a loss in (0, 2], and a gradient step on the tokens lowers it; the table gets none
    tokens = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(1), requires_grad=True)
    table.requires_grad_(True)
    loss = stage_encoder.word_align_loss(tokens, ids, table)
    assert 0 < loss.item() <= 2
    loss.backward()
    assert table.grad is None and tokens.grad[0, 2:].abs().max() == 0
    with torch.no_grad():
        lower = stage_encoder.word_align_loss(tokens - 0.5 * tokens.grad, ids, table)
    assert lower < loss


def test_from_snapshots_names_what_is_missing(tmp_path):
    import pytest

    from likeness_train import stage_from_snapshots
    (tmp_path / "vae").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        stage_from_snapshots.main(["--run-dir", str(tmp_path / "run"), "--vae", str(tmp_path / "vae"),
                                   "--unet", str(tmp_path / "vae")])
    with pytest.raises(SystemExit, match="--unet"):
        stage_from_snapshots.main(["--run-dir", str(tmp_path / "run"), "--vae", str(tmp_path / "vae")])


def test_from_snapshots_refuses_a_vae_without_a_measured_scaling_factor(chain, tmp_path):
    import pytest
    from diffusers import AutoencoderKL

    from likeness_train import stage_from_snapshots
    vae = AutoencoderKL.from_pretrained(chain / "model" / "vae")
    vae.register_to_config(scaling_factor=AutoencoderKL().config.scaling_factor)
    vae.save_pretrained(tmp_path / "vae")
    with pytest.raises(ValueError, match="scaling_factor is diffusers' default"):
        stage_from_snapshots.main(["--run-dir", str(tmp_path / "run"), "--vae", str(tmp_path / "vae"),
                                   "--unet", str(chain / "model" / "unet")])


def test_encoder_short_captions_leave_context_out_and_keep_the_object(chain, tmp_path, monkeypatch):
    from likeness_train import models, stage_encoder
    for part in ("data", "clip", "vae", "base"):
        shutil.copytree(chain / part, tmp_path / part)
    seen = []
    real = models.encode_prompts

    def spy(text, tok, prompts, *a, **kw):
        seen.extend(prompts)
        return real(text, tok, prompts, *a, **kw)
    monkeypatch.setattr(models, "encode_prompts", spy)
    stage_encoder.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "3", "--batch-size", "16",
                        "--short-caption-rate", "1", "--drop-rate", "0.3", "--null-rate", "0.3",
                        "--uncond-rate", "0.1", "--edit-rate", "0.3", "--out-name", "short"])
    assert (tmp_path / "short" / "object_encoder" / "model.safetensors").exists()
    texts = [p for p in seen if p]
    assert len(texts) > 20
    assert all(p.startswith("a ") for p in texts)
    assert any("<obj>" in p for p in texts) and any(" object" in p for p in texts)
    assert sum(", at the " in p for p in texts) < 0.8 * len(texts), "positions are left out"
    assert all(p.count("<obj>") <= 1 for p in texts)
    with pytest.raises(ValueError, match="Toybox scenes"):
        stage_encoder.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4",
                            "--short-caption-rate", "0.5", "--dataset", str(tmp_path / "none.jsonl"),
                            "--out-name", "refused"])
    with pytest.raises(ValueError, match="needs --caption-scheme"):
        stage_encoder.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "1", "--batch-size", "4",
                            "--short-caption-rate", "0.5", "--caption-scheme", "false", "--out-name", "refused"])
