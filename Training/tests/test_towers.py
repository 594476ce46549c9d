"""The tower report, the clip stage's hard negatives and attribute labels, the shape check and the
base stage's second-model levers."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from likeness_train import levers, models, shape_check, stage_base, stage_clip, towers, world


def _scene(**kw):
    rng = np.random.default_rng(3)
    ident = world.Identity("heart", "red", "striped", "blue")
    return world.sample_scene(ident, rng, companion=None, **kw)


def test_one_attribute_edits_change_exactly_that_attribute():
    sc = _scene()
    for attribute in towers.ATTRIBUTES:
        edits = towers.one_attribute_edits(sc, attribute)
        assert edits, attribute
        for e in edits:
            a, b = towers.labels(sc), towers.labels(e)
            changed = {k for k in a if a[k] != b[k]}
            # a plain object has no pattern colour: that edit removes it too
            expect = {"pattern", "pattern_color"} if e.identity.pattern == "plain" else {attribute}
            assert changed == expect, (attribute, changed)
            assert world.caption(e) != world.caption(sc)


def test_pattern_edits_of_a_plain_object_add_a_pattern_colour():
    plain = dataclasses.replace(_scene(), identity=world.Identity("circle", "white", "plain", None))
    edits = towers.one_attribute_edits(plain, "pattern")
    assert {e.identity.pattern for e in edits} == set(world.PATTERNS[1:])
    assert all(e.identity.pattern_color == "black" for e in edits)


def test_hard_negatives_are_mostly_shape_edits():
    rng = np.random.default_rng(0)
    sc = _scene()
    negs = [towers.hard_negative(sc, rng) for _ in range(400)]
    shape_edits = sum(n.identity.shape != sc.identity.shape for n in negs)
    assert 150 < shape_edits < 250
    assert all(world.caption(n) != world.caption(sc) for n in negs)


def test_scene_of_reproduces_the_cached_caption():
    sc = _scene(size="large", position="left", background="snow")
    meta = {"size": sc.size, "position": sc.position, "background": sc.background}
    assert world.caption(towers.scene_of(sc.identity.key(), meta)) == world.caption(sc)


def test_token_cosines_find_each_value_word():
    from transformers import CLIPTextConfig, CLIPTextModel

    from likeness_train import common
    tok = common.build_tokenizer(__import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "tok", 32)
    torch.manual_seed(0)
    text = CLIPTextModel(CLIPTextConfig(**models.clip_text_config(len(tok), 32, quick=True))).eval()
    out = towers.token_cosines(text, tok, [_scene()])
    assert set(out) == set(towers.ATTRIBUTES)
    for a, v in out.items():
        assert -1.0 <= v["max"] <= 1.0 + 1e-5, a
        assert v["pair"][0] != v["pair"][1]


def test_linear_probe_separates_separable_features_and_not_noise():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (400,), generator=g)
    x = torch.randn(400, 16, generator=g)
    sep = x.clone()
    sep[:, :4] += 6 * torch.nn.functional.one_hot(y, 4)
    assert towers.linear_probe(sep[:300], y[:300], sep[300:], y[300:], 4) > 0.95
    assert towers.linear_probe(x[:300], y[:300], x[300:], y[300:], 4) < 0.5


def test_separation_loss_is_zero_below_the_margin_and_positive_above():
    labels = torch.tensor([0, 1])
    apart = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    close = torch.tensor([[1.0, 0.0], [1.0, 0.1]])
    assert float(stage_clip.separation(apart, labels, 0.3)) == 0.0
    assert float(stage_clip.separation(close, labels, 0.3)) > 0.3


def test_constant_schedule_holds_then_decays():
    assert levers.lr_factor(500, 1000, 100, "constant", 0.1, 0.1) == 1.0
    assert levers.lr_factor(900, 1000, 100, "constant", 0.1, 0.1) == pytest.approx(1.0)
    assert levers.lr_factor(950, 1000, 100, "constant", 0.1, 0.1) == pytest.approx(0.55)
    assert levers.lr_factor(1000, 1000, 100, "constant", 0.1, 0.1) == pytest.approx(0.1)


def test_head_dim_gives_heads_per_block():
    from diffusers import UNet2DConditionModel
    cfg = models.unet_config(128, head_dim=32)
    assert cfg["attention_head_dim"] == [2, 4, 6]
    unet = UNet2DConditionModel(**cfg)
    attn = unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1
    assert attn.heads == 4
    assert models.unet_config(128)["attention_head_dim"] == 16


def test_balanced_subjects_cover_every_shape_from_the_heldout_split():
    idents = shape_check.balanced_subjects(2, 0)
    assert [i.shape for i in idents] == [s for s in world.SHAPES for _ in range(2)]
    assert all(world.split_of(i) == "heldout" for i in idents)


def test_clip_stage_trains_heads_and_writes_the_projection_model(chain):
    # the chain fixture ran the clip stage with the default terms on
    assert (chain / "clip" / "clip_model" / "config.json").exists()
    state = torch.load(chain / "clip" / "state.pt", weights_only=False)
    assert any(k.startswith("vision.shape") for k in state["modules"]["heads"])


def test_tower_report_and_shape_check_run_on_the_quick_chain(chain, tmp_path):
    rep = towers.report(chain / "clip", towers.TowerConfig(fit=40, test=20, contexts=2))
    assert set(rep["vision_probe"]) == set(towers.ATTRIBUTES)
    assert set(rep["retrieval"]) == set(towers.ATTRIBUTES)
    assert "shape" in towers.format_report(rep)


def test_base_stage_with_the_levers_resumes_and_base_folder_reads_its_heads(chain, tmp_path):
    import shutil

    from likeness_train import stage_base_folder
    run = tmp_path / "run"
    for part in ("data", "clip", "vae"):
        shutil.copytree(chain / part, run / part)
    args = ["--run-dir", str(run), "--quick", "true", "--batch-size", "4", "--head-dim", "16",
            "--mask-weight", "3", "--lr-schedule", "constant", "--init-unet", str(chain / "base" / "unet")]
    stage_base.main(args + ["--steps", "2"])
    stage_base.main(args + ["--steps", "3"])
    cfg = json.loads((run / "base" / "unet" / "config.json").read_text())
    assert cfg["attention_head_dim"] == [2, 4, 4]
    out = stage_base_folder.run(stage_base_folder.BaseFolderConfig(run_dir=str(run), out=str(tmp_path / "folder")))
    assert json.loads((out / "base_state.json").read_text())["step"] == 3


def test_clip_stage_stops_at_a_step_of_a_longer_schedule_and_freezes_the_text_tower(chain, tmp_path):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(chain / "data", run / "data")
    stage_clip.main(["--run-dir", str(run), "--quick", "true", "--steps", "50", "--stop-at", "3", "--batch-size", "8"])
    state = torch.load(run / "clip" / "state.pt", weights_only=False)
    assert state["step"] == 3
    assert (run / "clip" / "text_encoder" / "config.json").exists()
    run2 = tmp_path / "run2"
    shutil.copytree(chain / "data", run2 / "data")
    stage_clip.main(["--run-dir", str(run2), "--quick", "true", "--steps", "2", "--batch-size", "8", "--init-state",
                     str(run / "clip" / "state.pt"), "--train-text", "false", "--mask-weight", "1"])
    a = torch.load(run / "clip" / "state.pt", weights_only=False)["modules"]["model"]
    b = torch.load(run2 / "clip" / "state.pt", weights_only=False)["modules"]["model"]
    text = [k for k in a if k.startswith("text_model.")]
    vision = [k for k in a if k.startswith("vision_model.encoder")]
    assert text and all(torch.equal(a[k], b[k]) for k in text)
    assert any(not torch.equal(a[k], b[k]) for k in vision)


def test_patch_shape_loss_weights_patches_by_object_coverage():
    heads = stage_clip.AttributeHeads(16, 16, patch=4)
    masks = torch.zeros(1, 8, 8)
    masks[0, :4, :4] = 1.0  # the object covers the first patch only
    states = torch.zeros(1, 4, 16)
    shape = torch.tensor([2])
    with torch.no_grad():
        heads.patch_shape.weight.zero_()
        heads.patch_shape.bias.zero_()
        heads.patch_shape.bias[2] = 20.0  # every patch predicts shape 2: near-zero loss
    assert float(heads.patch_shape_loss(states, masks, 4, shape)) < 1e-6
    # a wrong prediction on a patch the object does not cover costs nothing
    states2 = states.clone()
    states2[0, 3, 0] = 1.0
    with torch.no_grad():
        heads.patch_shape.weight[5, 0] = 100.0
    assert float(heads.patch_shape_loss(states2, masks, 4, shape)) < 1e-6
    # on the covered patch it does
    states3 = states.clone()
    states3[0, 0, 0] = 1.0
    assert float(heads.patch_shape_loss(states3, masks, 4, shape)) > 10.0


def test_clip_stage_starts_from_a_clip_model_folder_with_fresh_heads(chain, tmp_path):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(chain / "data", run / "data")
    stage_clip.main(["--run-dir", str(run), "--quick", "true", "--steps", "2", "--batch-size", "8"])
    run2 = tmp_path / "run2"
    shutil.copytree(chain / "data", run2 / "data")
    stage_clip.main(["--run-dir", str(run2), "--quick", "true", "--steps", "2", "--batch-size", "8", "--init-state",
                     str(run / "clip" / "clip_model"), "--train-text", "false", "--mask-weight", "1",
                     "--patch-shape-weight", "1"])
    a = torch.load(run / "clip" / "state.pt", weights_only=False)["modules"]["model"]
    b = torch.load(run2 / "clip" / "state.pt", weights_only=False)["modules"]["model"]
    text = [k for k in a if k.startswith("text_model.")]
    assert text and all(torch.equal(a[k], b[k]) for k in text)


def test_clip_stage_fresh_scenes_renders_every_batch_from_training_identities(tmp_path, monkeypatch, capsys):
    """fresh_scenes: each step renders batch_size new scenes (none from the cache, which is not
    rendered at all), all of training identities, and trains on them with the mask and per-patch
    shape heads."""
    from likeness_train import common, stage_clip, world

    real_render, rendered = world.render, []

    def counting_render(scene):
        rendered.append(scene)
        return real_render(scene)

    monkeypatch.setattr(world, "render", counting_render)
    stage_clip.main(["--run-dir", str(tmp_path), "--quick", "true", "--steps", "3", "--batch-size", "8",
                     "--fresh-scenes", "true", "--mask-weight", "1", "--patch-shape-weight", "1"])
    out = capsys.readouterr().out
    assert "step 3/3" in out and "nan" not in out
    assert len(rendered) == 3 * 8
    assert all(world.split_of(s.identity) == "train" for s in rendered)
    assert len({(s.identity.key(), s.bg_seed) for s in rendered}) == 24  # new scenes every batch
    assert not common.data_paths(tmp_path)["train"].exists()


def test_base_warm_start_carries_a_unet_to_another_latent_space(chain):
    from diffusers import UNet2DConditionModel
    four = UNet2DConditionModel.from_pretrained(chain / "base" / "unet")
    cross = four.config.cross_attention_dim
    torch.manual_seed(1)
    eight = UNet2DConditionModel(**models.unet_config(cross, quick=True, latent_channels=8))
    before = {k: v.clone() for k, v in eight.state_dict().items()}
    fresh = stage_base.warm_start(eight, four.state_dict())
    # conv_in's bias is per output feature: it does not depend on the latent channels and carries over
    assert sorted(fresh) == ["conv_in.weight", "conv_out.bias", "conv_out.weight"]
    after, src = eight.state_dict(), four.state_dict()
    for k in after:
        if k in fresh:
            assert torch.equal(after[k], before[k]), k
        else:
            assert torch.equal(after[k], src[k]), k
    assert after["conv_in.weight"].shape[1] == 8 and after["conv_out.weight"].shape[0] == 8
    # the same latent space loads whole
    same = UNet2DConditionModel(**models.unet_config(cross, quick=True, latent_channels=four.config.in_channels))
    assert stage_base.warm_start(same, four.state_dict()) == []
    # another architecture (other block widths) is refused, not half-loaded
    wide = UNet2DConditionModel(**models.unet_config(cross, quick=False, latent_channels=4))
    with pytest.raises(ValueError, match="another architecture"):
        stage_base.warm_start(wide, four.state_dict())
