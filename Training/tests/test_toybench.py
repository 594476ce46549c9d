"""ToyBench: prompt grammar, scoring on known reads, probes (tiny budget), the evaluate command end to
end on the quick chain model, textual inversion, and the errors a user can reach."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from likeness_train import evaluate, probes, textual_inversion, world
from likeness_train.evaluate import PromptSpec, parse_prompt, score_image


# ---------------------------------------------------------------- prompt grammar


def test_parse_prompt_reads_the_grammar():
    assert parse_prompt("a <obj> in the snow") == PromptSpec("a <obj> in the snow", background="snow")
    s = parse_prompt("a <obj> on a wooden floor, at the right")
    assert (s.background, s.position, s.size, s.edit) == ("wooden_floor", "right", None, None)
    s = parse_prompt("a large <obj> in the city")
    assert (s.size, s.background) == ("large", "city")
    assert parse_prompt("a red <obj>").edit == ("color", "red")
    assert parse_prompt("a small striped <obj>, at the left").edit == ("pattern", "striped")
    assert parse_prompt("a small striped <obj>, at the left").position == "left"
    for p in evaluate.DEFAULT_PROMPTS:
        parse_prompt(p)


@pytest.mark.parametrize("prompt, word", [
    ("a teal <obj>", "'teal'"),
    ("a <obj> on the moon", "'on the moon'"),
    ("a <obj> in the snow, at the top", "'top'"),
    ("a red blue <obj>", "two properties"),
    ("a red star", "no <obj>"),
    ("the <obj> in the snow", "must start with 'a'"),
])
def test_parse_prompt_names_what_it_does_not_know(prompt, word):
    with pytest.raises(ValueError, match=word):
        parse_prompt(prompt)


def test_property_prompts_target_and_oracle_text():
    ident = world.Identity("star", "blue", "striped", "red")
    spec = parse_prompt("a red <obj>")
    tgt = evaluate.target_identity(ident, spec)
    assert tgt == world.Identity("star", "red", "plain", None)  # world.property_prompt's rule
    assert evaluate.oracle_prompt(spec, tgt) == "a red star"
    spec = parse_prompt("a large <obj> in the snow, at the left")
    assert evaluate.oracle_prompt(spec, ident) == "a large blue star with red stripes in the snow, at the left"


# ---------------------------------------------------------------- scoring on known reads


def _ref():
    ident = world.Identity("heart", "green", "dotted", "white")
    return world.sample_scene(ident, np.random.default_rng(0), background="beach", position="left", companion=None)


def _read(scene, **changes):
    out = probes.scene_attributes(scene)
    out.update(changes)
    return out


def test_score_ground_truth_is_perfect_and_copy_is_detected():
    ref = _ref()
    spec = parse_prompt("a <obj> in the snow, at the right")
    truth = world.sample_scene(ref.identity, np.random.default_rng(1), companion=None, **spec.context())
    s = score_image(ref, spec, ref.identity, _read(truth))
    assert (s["id"], s["prompt"], s["copy_eligible"], s["copied"]) == (1.0, 1.0, True, False)
    # the reference's background instead of snow: a copy, and half the prompt missed
    s = score_image(ref, spec, ref.identity, _read(truth, background="beach"))
    assert s["copied"] and s["prompt"] == 0.5 and s["id"] == 1.0
    s = score_image(ref, spec, ref.identity, _read(truth, position="left"))
    assert s["copied"] and s["prompt"] == 0.5
    # a wrong background that is not the reference's is a miss, not a copy
    s = score_image(ref, spec, ref.identity, _read(truth, background="desert"))
    assert not s["copied"] and s["prompt"] == 0.5
    # identity errors lower ID only
    s = score_image(ref, spec, ref.identity, _read(truth, shape="circle", color="red"))
    assert s["id"] == 0.5 and s["prompt"] == 1.0


def test_copy_not_eligible_when_prompt_asks_for_the_reference_context():
    ref = _ref()
    spec = parse_prompt("a <obj> on the beach, at the left")
    s = score_image(ref, spec, ref.identity, _read(ref))
    assert not s["copy_eligible"] and not s["copied"]


def test_property_prompt_leaves_edited_attribute_out_of_id():
    ref = _ref()
    spec = parse_prompt("a red <obj>")
    tgt = evaluate.target_identity(ref.identity, spec)
    # the probe reads the edit: full prompt score, identity kept on shape, pattern, pattern colour
    s = score_image(ref, spec, tgt, _read(ref, color="red"))
    assert s["prompt"] == 1.0 and s["id"] == 1.0 and set(s["id_hits"]) == {"shape", "pattern", "pattern_color"}
    # the probe reads the reference's colour: the edit failed, identity still intact
    s = score_image(ref, spec, tgt, _read(ref))
    assert s["prompt"] == 0.0 and s["id"] == 1.0 and not s["copy_eligible"]
    # an edit that changes the pattern colour too (white body asked on white dots) leaves both out
    spec = parse_prompt("a white <obj>")
    tgt = evaluate.target_identity(ref.identity, spec)
    assert tgt.pattern == "plain"
    s = score_image(ref, spec, tgt, _read(ref, color="white", pattern="plain", pattern_color="none"))
    assert set(s["id_hits"]) == {"shape"} and s["prompt"] == 1.0


def test_summarize_averages_over_images_and_counts_copies_over_eligible():
    rows = [
        {"id": 1.0, "prompt": 0.5, "copy_eligible": True, "copied": True, "id_hits": {"shape": True},
         "prompt_hits": {"background": False, "position": True}},
        {"id": 0.0, "prompt": None, "copy_eligible": False, "copied": False, "id_hits": {"shape": False},
         "prompt_hits": {}},
        {"id": None, "prompt": 1.0, "copy_eligible": True, "copied": False, "id_hits": {},
         "prompt_hits": {"background": True}},
    ]
    s = evaluate.summarize(rows)
    assert s["id"] == 0.5 and s["prompt"] == 0.75 and s["copy"] == 0.5 and s["copy_eligible"] == 2
    assert s["attribute_accuracy"] == {"id": {"shape": 0.5}, "prompt": {"background": 0.5, "position": 1.0}}
    edit = evaluate.summarize([{"id": 1.0, "prompt": 0.5, "copy_eligible": False, "copied": False,
                                "id_hits": {"shape": True}, "prompt_hits": {"color": True, "pattern": False}}])
    assert edit["attribute_accuracy"]["prompt"] == {"color": 1.0, "edit": 0.5, "pattern": 0.0}


def test_subjects_are_heldout_and_fixed():
    a, b = evaluate.subjects(5, 0), evaluate.subjects(5, 0)
    assert a == b and len(set(a)) == 5
    assert all(world.split_of(i) == "heldout" for i in a)
    with pytest.raises(ValueError, match="--subjects"):
        evaluate.subjects(0, 0)


# ---------------------------------------------------------------- probes


def test_mask_boxes_and_crop_find_the_object():
    sc = world.sample_scene(world.Identity("square", "red", "plain", None), np.random.default_rng(3),
                            position="right", size="small", background="snow", companion=None, dy=0.0, angle=0.0)
    im, m = world.render(sc)
    m16 = torch.nn.functional.avg_pool2d(torch.from_numpy(m).float().div(255)[None, None], 4)
    box = probes.mask_boxes(m16, 2.2, 64)[0]
    assert abs(box[0].item() - 0.73 * 64) < 1.5 and abs(box[1].item() - 0.58 * 64) < 1.5
    assert 8 < box[2].item() < 20
    x = probes.to_input([im])
    c = probes.crop(x, box[None], 32)[0]  # [3, 32, 32]
    centre = c[:, 12:20, 12:20].mean((1, 2))  # red body in [-1, 1]
    assert centre[0] > 0.5 and centre[1] < -0.3
    # the mirrored reading view is the mirror image of the crop
    assert torch.allclose(probes.crop(x, box[None], 32, flip=True)[0], c.flip(-1), atol=1e-5)
    turned = probes.crop(x, box[None], 32, angle=8.0)[0]
    assert (turned - c).abs().max() > 0.1 and (turned[:, 12:20, 12:20].mean((1, 2)) - centre).abs().max() < 0.05
    empty = probes.mask_boxes(torch.zeros(1, 1, 16, 16), 2.2, 64)[0].tolist()
    assert empty == [32.0, 32.0, 32.0]


def test_mask_boxes_keep_the_largest_region():
    m = torch.zeros(1, 1, 16, 16)
    m[0, 0, 6:12, 9:15] = 0.9   # main object, 36 cells
    m[0, 0, 10:13, 1:4] = 0.9   # companion, 9 cells
    box = probes.mask_boxes(m, 2.0, 64)[0]
    assert abs(box[0].item() - 12 * 4) < 1e-4 and abs(box[1].item() - 9 * 4) < 1e-4
    only = m.clone()
    only[0, 0, 10:13, 1:4] = 0
    assert torch.allclose(probes.mask_boxes(only, 2.0, 64), box[None])


def test_augment_keeps_colours_nearest_their_own_name():
    palette = torch.tensor([world.COLORS[c] for c in world.COLOR_NAMES], dtype=torch.float32) / 127.5 - 1
    gen = torch.Generator().manual_seed(0)
    for name in world.COLOR_NAMES:
        sc = world.sample_scene(world.Identity("square", name, "plain", None), np.random.default_rng(0),
                                size="large", companion=None)
        im, m = world.render(sc)
        x = probes.to_input([im]).expand(16, -1, -1, -1)
        y = probes.augment(x, gen)
        assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1 and (y - x).abs().max() > 0.01
        inside = torch.from_numpy(m > 0)
        inner = torch.nn.functional.max_pool2d((~inside).float()[None, None], 5, 1, 2)[0, 0] == 0  # away from edges
        means = y[:, :, inner].mean(-1)  # [16, 3]
        nearest = torch.cdist(means, palette).argmin(1)
        assert (nearest == world.COLOR_NAMES.index(name)).all(), name


def test_probes_train_with_a_vae_round_trip(chain, tmp_path):
    cfg = probes.ProbeConfig(run_dir=str(tmp_path), train_scenes=48, test_scenes=16, epochs=1, object_epochs=1,
                             batch_size=16, width=4, object_width=4, vae_model=str(chain / "model"))
    net, metrics = probes.train(cfg)
    assert set(metrics["test_accuracy_vae"]) == set(probes.ATTRIBUTES)
    with pytest.raises(FileNotFoundError, match="no vae/ folder"):
        probes.train(dataclasses.replace(cfg, vae_model=str(tmp_path)))


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory):
    cfg = probes.ProbeConfig(run_dir=str(tmp_path_factory.mktemp("probe_run")), train_scenes=384,
                             test_scenes=128, epochs=3, object_epochs=2, batch_size=32, width=8, object_width=8,
                             lr=3e-3)
    return probes.run(cfg)


def test_probes_train_save_and_read(probe_dir):
    metrics = json.loads((probe_dir / "metrics.json").read_text())
    assert set(metrics["test_accuracy"]) == set(probes.ATTRIBUTES)
    assert metrics["split"] == "any"
    # even this tiny budget reads the coarse scene attributes far above chance (1/10 and 1/3)
    assert metrics["test_accuracy"]["background"] > 0.5
    assert metrics["test_accuracy"]["position"] > 0.7
    p = probes.Probes.load(probe_dir)
    rng = np.random.default_rng(5)
    ims = [world.render(world.sample_scene(world.sample_identity(rng, None), rng))[0] for _ in range(3)]
    reads = p.read(ims)
    assert len(reads) == 3 and all(set(r) == set(probes.ATTRIBUTES) for r in reads)
    assert all(r[k] in probes.ATTRIBUTES[k] for r in reads for k in r)
    # reading is deterministic and batch-independent
    assert p.read(ims[:1])[0] == reads[0]


def test_probes_load_errors(tmp_path, probe_dir):
    with pytest.raises(FileNotFoundError, match="train the probes first"):
        probes.Probes.load(tmp_path / "nowhere")
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("model.safetensors",):
        (bad / f).write_bytes((probe_dir / f).read_bytes())
    cfg = json.loads((probe_dir / "config.json").read_text())
    cfg["heads"]["color"] = cfg["heads"]["color"][:-1]
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="'color'"):
        probes.Probes.load(bad)


# ---------------------------------------------------------------- evaluate end to end


class TruthReader:
    """A perfect probe for ground-truth renders (looked up by their pixels, recorded while
    world.render runs) that reads every other image as the subject's reference scene: a model
    that copies its reference."""

    def __init__(self, monkeypatch):
        self.known = {}
        self.refs = []
        real = world.render

        def recording(scene):
            im, m = real(scene)
            self.known[im.tobytes()] = probes.scene_attributes(scene)
            return im, m

        monkeypatch.setattr(world, "render", recording)
        real_ref = evaluate.reference_scene

        def ref_scene(identity, seed, index):
            sc = real_ref(identity, seed, index)
            self.refs.append(sc)
            return sc

        monkeypatch.setattr(evaluate, "reference_scene", ref_scene)
        self.reqs = None
        real_reqs = evaluate.requests

        def reqs(*a, **k):
            self.reqs = real_reqs(*a, **k)
            return self.reqs

        monkeypatch.setattr(evaluate, "requests", reqs)

    def read(self, images):
        out = []
        for im, r in zip(images, self.reqs):
            out.append(self.known.get(im.tobytes()) or probes.scene_attributes(self.refs[r.subject]))
        return out


def test_evaluate_scores_truth_as_ceiling_and_a_copying_model_as_copies(chain, tmp_path, monkeypatch):
    reader = TruthReader(monkeypatch)
    monkeypatch.setattr(evaluate.Probes, "load", classmethod(lambda cls, folder: reader))
    prompts = ["a <obj> in the snow, at the left", "a <obj> in the city, at the right", "a red <obj>"]
    res = evaluate.run(evaluate.EvalConfig(
        run_dir=str(tmp_path), model=str(chain / "model"), out=str(tmp_path / "tb"), subjects=2, prompts=prompts,
        images_per_prompt=2, steps=2, oracle=False, vae_ceiling=False))
    rows = {r["name"]: r for r in res["rows"]}
    assert rows["ceiling"]["id"] == 1.0 and rows["ceiling"]["prompt"] == 1.0 and rows["ceiling"]["copy"] == 0.0
    assert rows["ceiling"]["images"] == 2 * 3 * 2
    # generated images are read as the reference scene: identity kept, context copied wherever asked
    lk = rows["Likeness"]
    assert lk["id"] == 1.0
    assert lk["copy"] == 1.0 and lk["copy_eligible"] > 0
    assert lk["prompt"] < 1.0


def test_evaluate_end_to_end_writes_table_json_and_grids(chain, tmp_path, probe_dir):
    out = tmp_path / "tb"
    argv = ["--run-dir", str(tmp_path), "--probes", str(probe_dir), "--model", str(chain / "model"),
            "--models", f"hs={chain / 'model_hs'}", "--out", str(out), "--subjects", "2",
            "--prompts", "a <obj> in the snow, at the left", "a striped <obj>",
            "--images-per-prompt", "1", "--steps", "2", "--ti-steps", "2", "--ti-batch-size", "2"]
    evaluate.main(argv)
    res = json.loads((out / "toybench.json").read_text())
    names = [r["name"] for r in res["rows"]]
    assert names == ["ceiling", "ceiling (VAE)", "text-only oracle", "Likeness", "TI (2 steps)", "hs"]
    for r in res["rows"]:
        assert r["images"] == 4
        for k in ("id", "prompt", "copy"):
            assert r[k] is None or 0.0 <= r[k] <= 1.0
    ti = res["rows"][4]
    assert ti["ti_steps"] == 2 and ti["ti_seconds_per_object"] > 0
    assert len(res["images"]) == 6 * 4 and len(res["subjects"]) == 2
    table = (out / "toybench.md").read_text()
    assert table.startswith("| Row | ID | Prompt | Copy |") and "| TI (2 steps) |" in table
    assert len(list((out / "ti").glob("*.safetensors"))) == 2
    saved = np.load(out / "images_likeness.npz")["images"]
    assert saved.shape == (4, 64, 64, 3) and saved.dtype == np.uint8
    g = Image.open(out / "grid_likeness.png")
    assert g.size == (3 * 128 + 3 * 4, 2 * 128 + 4)  # reference + 2 prompts, 2 subjects, scale 2


def test_evaluate_text_branch_row_is_the_prompt_with_the_null_word(chain, tmp_path, probe_dir):
    from likeness_train import models
    from likeness_train.pipeline import LikenessPipeline
    out = tmp_path / "tb"
    prompt = "a <obj> on the beach"
    evaluate.main(["--run-dir", str(tmp_path), "--probes", str(probe_dir), "--model", str(chain / "model"),
                   "--out", str(out), "--subjects", "1", "--prompts", prompt, "--images-per-prompt", "2",
                   "--steps", "2", "--oracle", "false", "--vae-ceiling", "false", "--text-branch", "true"])
    res = json.loads((out / "toybench.json").read_text())
    assert [r["name"] for r in res["rows"]] == ["ceiling", "Likeness", "text branch (id_scale 0)"]
    saved = np.load(out / "images_text_branch_id_scale_0.npz")["images"]
    likeness = np.load(out / "images_likeness.npz")["images"]
    pipe = LikenessPipeline.from_folder(chain / "model")
    null = pipe.object_encoder.cfg.null_word
    seeds = [rec["seed"] for rec in res["images"] if rec["row"] == "text branch (id_scale 0)"]
    for img, seed in zip(saved, seeds):
        alone = np.asarray(pipe(models.replace_placeholder(prompt, "<obj>", null), steps=2, seed=seed))
        assert np.abs(img.astype(int) - alone.astype(int)).max() <= 2
    assert not np.array_equal(saved, likeness)  # the object tokens change the Likeness row's images


def test_evaluate_errors(chain, tmp_path, probe_dir):
    with pytest.raises(ValueError, match="'teal'"):
        evaluate.main(["--prompts", "a teal <obj>", "--run-dir", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="probes"):
        evaluate.main(["--run-dir", str(tmp_path), "--model", str(chain / "model")])
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        evaluate.main(["--run-dir", str(tmp_path), "--probes", str(probe_dir), "--model", str(tmp_path / "no_such_model")])
    with pytest.raises(FileNotFoundError, match="no_such_ablation"):
        evaluate.main(["--run-dir", str(tmp_path), "--probes", str(probe_dir), "--model", str(chain / "model"),
                       "--models", f"abl={tmp_path / 'no_such_ablation'}"])
    with pytest.raises(ValueError, match="NAME=PATH"):
        evaluate.main(["--run-dir", str(tmp_path), "--probes", str(probe_dir), "--models", "justapath"])


# ---------------------------------------------------------------- textual inversion


def test_textual_inversion_learns_tokens_and_leaves_the_model_alone(chain):
    from likeness_train.pipeline import LikenessPipeline

    pipe = LikenessPipeline.from_folder(chain / "model")
    before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    pipe.text_encoder.requires_grad_(False)  # a mixed set of flags, to see that they come back as they were
    flags = [p.requires_grad for m in (pipe.unet, pipe.text_encoder, pipe.vae) for p in m.parameters()]
    assert any(flags) and not all(flags)
    im = world.render(world.sample_scene(world.Identity("star", "red", "plain", None), np.random.default_rng(0)))[0]
    cfg = textual_inversion.TIConfig(steps=3, batch_size=2, views=4, lr=0.05)
    tokens, info = textual_inversion.invert(pipe, im, cfg)
    d = pipe.text_encoder.config.hidden_size
    assert tokens.shape == (1, 4, d) and not tokens.requires_grad
    init = textual_inversion.initial_tokens(pipe, 4, "object", cfg.init_noise, torch.Generator().manual_seed(cfg.seed))
    assert (tokens - init).abs().max().item() > 1e-3  # the optimisation moved them
    assert info["steps"] == 3 and info["seconds"] > 0 and np.isfinite(info["loss"])
    after = pipe.unet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [p.requires_grad for m in (pipe.unet, pipe.text_encoder, pipe.vae) for p in m.parameters()] == flags
    # the learned tokens drive the reference pipeline like encoder tokens
    img = pipe("a <obj> in the snow", object_tokens=tokens, steps=2, seed=0, output_type="pt")
    assert img.shape == (1, 3, 64, 64)


def test_textual_inversion_cli_and_errors(chain, tmp_path):
    from likeness_train.pipeline import LikenessPipeline

    ref = tmp_path / "ref.png"
    world.render(world.sample_scene(world.Identity("circle", "blue", "plain", None), np.random.default_rng(1)))[0].save(ref)
    out = tmp_path / "ti" / "tok.safetensors"
    textual_inversion.main(["--model", str(chain / "model"), "--image", str(ref), "--out", str(out), "--steps", "2",
                            "--batch-size", "2", "--views", "2"])
    from safetensors.torch import load_file
    assert load_file(str(out))["object_tokens"].shape[:2] == (1, 4)
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 2
    with pytest.raises(FileNotFoundError, match="not found"):
        textual_inversion.main(["--model", str(tmp_path / "none"), "--image", str(ref), "--out", str(out)])
    with pytest.raises(ValueError, match="--image"):
        textual_inversion.main(["--model", str(chain / "model")])
    hs = LikenessPipeline.from_folder(chain / "model_hs")
    with pytest.raises(ValueError, match="input_embedding"):
        textual_inversion.invert(hs, Image.open(ref), textual_inversion.TIConfig(steps=1))
    pipe = LikenessPipeline.from_folder(chain / "model")
    with pytest.raises(ValueError, match="<obj>"):
        textual_inversion.invert(pipe, Image.open(ref), dataclasses.replace(textual_inversion.TIConfig(steps=1),
                                                                           templates=["a photo"]))


def test_evaluate_vae_ceiling_of_a_vae_folder_alone(chain, tmp_path, probe_dir):
    # a VAE folder (the chain model's own VAE) without any model folder: only the two ceiling rows
    out = tmp_path / "tb"
    argv = ["--run-dir", str(tmp_path), "--probes", str(probe_dir), "--model", str(tmp_path / "no-such-model"),
            "--out", str(out), "--subjects", "1", "--prompts", "a <obj> in the snow", "a red <obj>",
            "--images-per-prompt", "2", "--oracle", "false", "--likeness", "false"]
    evaluate.main(argv + ["--vae", str(chain / "model" / "vae")])
    res = json.loads((out / "toybench.json").read_text())
    assert [r["name"] for r in res["rows"]] == ["ceiling", "ceiling (VAE)"]
    # the same VAE through the model folder reads the same images the same way
    evaluate.main(argv[:5] + [str(chain / "model")] + argv[6:] + ["--out", str(tmp_path / "tb2")])
    via_model = json.loads((tmp_path / "tb2" / "toybench.json").read_text())
    assert [r["id"] for r in via_model["rows"]] == [r["id"] for r in res["rows"]]
    a = np.load(out / "images_ceiling_vae.npz")["images"].astype(int)
    b = np.load(tmp_path / "tb2" / "images_ceiling_vae.npz")["images"].astype(int)
    assert np.abs(a - b).max() <= 1
    with pytest.raises(ValueError, match="vae-ceiling"):
        evaluate.main(argv + ["--vae", str(chain / "model" / "vae"), "--vae-ceiling", "false"])
    with pytest.raises(FileNotFoundError, match="--vae"):
        evaluate.main(argv + ["--vae", str(tmp_path / "missing")])
