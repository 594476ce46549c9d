"""The encoder stage on a Stable Diffusion folder (--base), a CLIP vision folder (--vision-model) and a
.jsonl image dataset (--dataset), then export and the reference pipeline; and the dataset's checks.

No pretrained weights exist here, so the folders are tiny random models in the real layouts:
- SD folder as diffusers writes SD 1.5: model_index.json (with safety checker and feature extractor
  entries), scheduler/ (SD 1.5's PNDMScheduler config), text_encoder/ (CLIPTextModel, weights with
  the transformers-4 `text_model.` prefix), tokenizer/ (vocab.json + merges.txt + tokenizer_config.json
  + special_tokens_map.json), unet/, vae/ (3 blocks: factor 4; unet sample_size 8 -> 32x32 images).
- The tokenizer is real-format CLIP BPE: the byte vocabulary, the first 2000 merges of open_clip's
  bpe_simple_vocab_16e6.txt.gz (the file the real vocab was made from) and the two specials, so ids
  of common words equal the real CLIP ids (checked below).
- CLIP vision folder: a CLIPVisionModel (image_size 32, `vision_model.` prefix as transformers 4
  wrote it) with a preprocessor_config.json whose mean/std differ from every default.
- Dataset: Toybox renders saved as PNG (one cropped to 64x48) with mask files, boxes and neither.
"""
import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from likeness_train import datasets, export, sources, stage_encoder, world
from likeness_train.pipeline import LikenessPipeline

N_MERGES = 2000
MEAN = [0.40, 0.45, 0.50]
STD = [0.20, 0.25, 0.30]


# ---------------------------------------------------------------- tiny folders


def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_clip_tokenizer(out: Path, n_merges: int = N_MERGES) -> int:
    """vocab.json + merges.txt in the CLIP BPE format, built the way the real vocab was; returns the vocab size."""
    pkg = importlib.util.find_spec("open_clip").submodule_search_locations[0]  # no import: needs torchvision
    lines = gzip.open(Path(pkg) / "bpe_simple_vocab_16e6.txt.gz").read().decode("utf-8").split("\n")
    merges = [tuple(l.split()) for l in lines[1:1 + n_merges]]
    chars = _bytes_to_unicode()
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    specials = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>"}
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    (out / "tokenizer_config.json").write_text(json.dumps(dict(
        specials, tokenizer_class="CLIPTokenizer", model_max_length=77, do_lower_case=True, errors="replace",
        add_prefix_space=False), indent=2))
    return len(vocab)


def _prefix_weights(file: Path, prefix: str):
    from safetensors.torch import load_file, save_file
    sd = load_file(str(file))
    save_file({prefix + k: v.contiguous() for k, v in sd.items()}, str(file))


def make_sd_folder(root: Path, prediction_type: str = "epsilon") -> Path:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    vocab = write_clip_tokenizer(root / "tokenizer")
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, hidden_act="quick_gelu", pad_token_id=1, bos_token_id=vocab - 2,
        eos_token_id=vocab - 1, projection_dim=32))
    text.save_pretrained(root / "text_encoder")
    _prefix_weights(root / "text_encoder" / "model.safetensors", "text_model.")
    UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=16).save_pretrained(root / "unet")
    AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 3,
        up_block_types=["UpDecoderBlock2D"] * 3, block_out_channels=[8, 16, 16], layers_per_block=1,
        latent_channels=4, norm_num_groups=8, sample_size=32).save_pretrained(root / "vae")
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text(json.dumps({
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
        "clip_sample": False, "prediction_type": prediction_type}, indent=2))
    (root / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.6.0",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
        "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]}, indent=2))
    return root


def make_vision_folder(root: Path, preprocessor: bool = True) -> Path:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(1)
    CLIPVisionModel(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
        patch_size=8, projection_dim=32, hidden_act="quick_gelu")).save_pretrained(root)
    _prefix_weights(root / "model.safetensors", "vision_model.")
    if preprocessor:
        (root / "preprocessor_config.json").write_text(json.dumps({
            "crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_normalize": True,
            "do_resize": True, "image_mean": MEAN, "image_std": STD, "resample": 3,
            "size": {"shortest_edge": 32}, "image_processor_type": "CLIPImageProcessor"}, indent=2))
    return root


def make_dataset(root: Path) -> tuple[Path, list]:
    """7 records: 3 subjects with 2 images each, 1 subject with one; masks, boxes, neither; one 64x48 image."""
    rng = np.random.default_rng(3)
    idents = [world.Identity("star", "red", "plain", None), world.Identity("circle", "blue", "striped", "white"),
              world.Identity("heart", "green", "dotted", "yellow"), world.Identity("square", "pink", "plain", None)]
    (root / "images").mkdir(parents=True)
    lines, scenes = [], []
    for s, ident in enumerate(idents):
        for k in range(1 if s == 3 else 2):
            sc = world.sample_scene(ident, rng)
            im, m = world.render(sc)
            name = f"images/s{s}_{k}.png"
            rec = {"image": name, "caption": world.caption(sc, "<obj>"), "object": ident.description(),
                   "id": f"subject{s}" if s != 2 else s}
            if (s + k) % 3 == 0:
                Image.fromarray(m).save(root / f"images/s{s}_{k}_mask.png")
                rec["mask"] = f"images/s{s}_{k}_mask.png"
            elif (s + k) % 3 == 1:
                ys, xs = np.nonzero(m)
                rec["box"] = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            if s == 1 and k == 1:
                im = im.crop((0, 8, 64, 56))  # 64x48: resized to 43x32 and centre-cropped
                rec.pop("mask", None)
                rec["box"] = [10, 5, 30, 20]
            im.save(root / name)
            lines.append(json.dumps(rec))
            scenes.append(sc)
    path = root / "train.jsonl"
    path.write_text("\n".join(lines) + "\n\n")  # a trailing blank line is allowed
    return path, scenes


# ---------------------------------------------------------------- the stage on a base


@pytest.fixture(scope="module")
def sd_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    base = make_sd_folder(root / "sd")
    vision = make_vision_folder(root / "clip_vision")
    data, scenes = make_dataset(root / "data")
    run = root / "run"
    stage_encoder.main(["--run-dir", str(run), "--base", str(base), "--vision-model", str(vision),
                        "--dataset", str(data), "--steps", "3", "--batch-size", "4", "--drop-rate", "0.25",
                        "--null-rate", "0", "--uncond-rate", "0", "--consistency-max-t", "1000"])
    export.main(["--run-dir", str(run), "--out", str(root / "model"), "--dtype", "fp32"])
    return {"root": root, "base": base, "vision": vision, "data": data, "scenes": scenes, "run": run,
            "model": root / "model"}


def test_object_encoder_config_follows_the_vision_model(sd_run):
    cfg = json.loads((sd_run["model"] / "object_encoder" / "config.json").read_text())
    assert cfg["image_size"] == 32
    assert cfg["image_mean"] == pytest.approx(MEAN) and cfg["image_std"] == pytest.approx(STD)
    assert cfg["vision_config"]["hidden_size"] == 32 and cfg["vision_config"]["image_size"] == 32
    assert cfg["text_hidden_size"] == 32
    recorded = json.loads((sd_run["run"] / "encoder" / "train_config.json").read_text())
    assert recorded["base"] == str(sd_run["base"]) and recorded["dataset"] == str(sd_run["data"])


def test_export_takes_the_base_parts_and_the_tuned_weights(sd_run):
    from safetensors.torch import load_file

    m, base = sd_run["model"], sd_run["base"]
    for f in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        assert (m / "tokenizer" / f).read_bytes() == (base / "tokenizer" / f).read_bytes(), f
    assert json.loads((m / "scheduler" / "scheduler_config.json").read_text())["_class_name"] == "PNDMScheduler"
    index = json.loads((m / "model_index.json").read_text())
    assert index["tokenizer"] == ["transformers", "CLIPTokenizer"]
    assert index["safety_checker"] == [None, None] and index["feature_extractor"] == [None, None]
    assert len(json.loads((m / "preview" / "latent_rgb.json").read_text())["weights"]) == 3
    vae_base = load_file(str(base / "vae" / "diffusion_pytorch_model.safetensors"))
    vae_out = load_file(str(m / "vae" / "diffusion_pytorch_model.safetensors"))
    assert vae_base.keys() == vae_out.keys()
    assert max((vae_base[k] - vae_out[k]).abs().max().item() for k in vae_base) == 0.0
    unet_base = load_file(str(base / "unet" / "diffusion_pytorch_model.safetensors"))
    unet_out = load_file(str(m / "unet" / "diffusion_pytorch_model.safetensors"))
    assert max((unet_base[k] - unet_out[k]).abs().max().item() for k in unet_base) > 0  # tuned (--tune-base)
    text_base = {k.removeprefix("text_model."): v for k, v in
                 load_file(str(base / "text_encoder" / "model.safetensors")).items()}
    text_out = {k.removeprefix("text_model."): v for k, v in
                load_file(str(m / "text_encoder" / "model.safetensors")).items()}
    assert set(text_out) <= set(text_base)
    assert max((text_base[k] - text_out[k]).abs().max().item() for k in text_out) > 0


def test_export_generates_with_an_object(sd_run):
    lp = LikenessPipeline.from_folder(sd_run["model"])
    assert type(lp.tokenizer).__name__ == "CLIPTokenizer"
    a = Image.open(sd_run["data"].parent / "images" / "s0_0.png")
    b = Image.open(sd_run["data"].parent / "images" / "s1_0.png")
    ta, tb = lp.encode_object(a), lp.encode_object(b)
    assert ta.shape == (1, 4, 32)
    img = lp("a <obj> on the beach", object_tokens=ta, steps=2, seed=1)
    assert img.size == (32, 32)
    ia = lp("a <obj> on the beach", object_tokens=ta, steps=2, seed=1, output_type="pt")
    ib = lp("a <obj> on the beach", object_tokens=tb, steps=2, seed=1, output_type="pt")
    assert (ia - ib).abs().max().item() > 1e-4
    za = lp("a <obj> on the beach", object_tokens=ta, steps=2, seed=1, id_scale=0.0, output_type="pt")
    zb = lp("a <obj> on the beach", object_tokens=tb, steps=2, seed=1, id_scale=0.0, output_type="pt")
    assert (za - zb).abs().max().item() < 1e-6


def test_export_loads_in_diffusers(sd_run):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(sd_run["model"], torch_dtype=torch.float32)
    out = pipe("a dog on the beach", num_inference_steps=2, output_type="np").images
    assert out.shape == (1, 32, 32, 3)


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction"])
def test_targets_match_diffusers(kind):
    """The training target is what diffusers' schedulers expect, and the x0 estimate inverts it."""
    from diffusers import DDPMScheduler

    sched = sources.training_scheduler({"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear",
                                        "beta_start": 0.00085, "beta_end": 0.012, "prediction_type": kind,
                                        "skip_prk_steps": True})
    ref = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type=kind,
                         clip_sample=False)
    assert torch.equal(sched.alphas_cumprod, ref.alphas_cumprod)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(3, 4, 8, 8, generator=g), torch.randn(3, 4, 8, 8, generator=g)
    t = torch.tensor([10, 500, 990])
    a = sched.alphas_cumprod[t].view(-1, 1, 1, 1)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    assert (xt - ref.add_noise(x0, noise, t)).abs().max().item() < 1e-6
    target = sources.diffusion_target(kind, x0, noise, a)
    want = ref.get_velocity(x0, noise, t) if kind == "v_prediction" else noise
    assert (target - want).abs().max().item() < 1e-6
    assert (sources.predicted_x0(kind, xt, target, a) - x0).abs().max().item() < 1e-3
    # diffusers' own x0 estimate from the same prediction (DDPM step, "pred_original_sample")
    step = ref.step(target[1:2], int(t[1]), xt[1:2], generator=torch.Generator().manual_seed(0))
    assert (step.pred_original_sample - x0[1:2]).abs().max().item() < 1e-4
    with pytest.raises(ValueError, match="prediction_type 'sample' is not supported"):
        sources.training_scheduler({"prediction_type": "sample"})


def test_v_prediction_base_and_hidden_state(tmp_path, sd_run, capsys):
    """A v-prediction scheduler trains and exports too (hidden_state injection, a CLIPModel folder)."""
    from transformers import CLIPConfig, CLIPModel

    base = make_sd_folder(tmp_path / "sd_v", prediction_type="v_prediction")
    torch.manual_seed(2)
    clip = CLIPModel(CLIPConfig(
        text_config=dict(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, max_position_embeddings=16),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                           image_size=32, patch_size=16, projection_dim=32, hidden_act="quick_gelu"),
        projection_dim=32))
    clip.save_pretrained(tmp_path / "clip_full")
    run = tmp_path / "run"
    stage_encoder.main(["--run-dir", str(run), "--base", str(base), "--vision-model", str(tmp_path / "clip_full"),
                        "--dataset", str(sd_run["data"]), "--steps", "2", "--batch-size", "3",
                        "--injection", "hidden_state", "--num-tokens", "2", "--consistency-max-t", "1000"])
    assert "predicts v_prediction" in capsys.readouterr().out
    export.main(["--run-dir", str(run), "--out", str(tmp_path / "model")])
    cfg = json.loads((tmp_path / "model" / "object_encoder" / "config.json").read_text())
    assert cfg["image_mean"] == pytest.approx(list(sources.OPENAI_CLIP_MEAN))  # no preprocessor_config.json
    assert cfg["vision_config"]["patch_size"] == 16
    lp = LikenessPipeline.from_folder(tmp_path / "model")
    tokens = lp.encode_object(Image.open(sd_run["data"].parent / "images" / "s0_1.png"))
    assert tokens.shape == (1, 2, 32)
    assert lp("a <obj> in the snow", object_tokens=tokens, steps=2, seed=0).size == (32, 32)


def test_base_at_another_resolution_needs_a_dataset(sd_run, tmp_path):
    with pytest.raises(ValueError, match="32x32 images but Toybox scenes are 64x64: pass --dataset"):
        stage_encoder.main(["--run-dir", str(tmp_path / "run"), "--base", str(sd_run["base"]),
                            "--vision-model", str(sd_run["vision"]), "--steps", "1"])


def test_base_folder_checks(tmp_path):
    (tmp_path / "unet").mkdir()
    with pytest.raises(FileNotFoundError, match="missing text_encoder, tokenizer, vae"):
        sources.load_base(tmp_path, "cpu")


def test_vision_folder_that_is_not_a_vision_model(sd_run):
    with pytest.raises(ValueError, match="not a CLIPVisionModel checkpoint: missing"):
        sources.load_vision(sd_run["base"] / "text_encoder")


# ---------------------------------------------------------------- pieces


def test_clip_tokenizer_has_real_clip_ids(sd_run):
    tok = sources.load_tokenizer(sd_run["base"] / "tokenizer")
    # ids from the released CLIP vocabulary (openai/clip-vit-large-patch14, SD 1.x)
    assert tok("a photo of a dog", add_special_tokens=False)["input_ids"] == [320, 1125, 539, 320, 1929]
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (N_MERGES + 512, N_MERGES + 513, N_MERGES + 513)


def test_dataset_loads_fits_and_masks(sd_run):
    data = datasets.load(sd_run["data"], 32)
    assert len(data) == 7 and data.images.shape == (7, 32, 32, 3) and data.masks.shape == (7, 32, 32)
    assert data.full == [world.caption(sc) for sc in sd_run["scenes"]]
    assert data.placeholder == [world.caption(sc, "<obj>") for sc in sd_run["scenes"]]
    assert data.ident_keys == ["subject0", "subject1", "2", "subject3"]
    assert data.single_image_ids() == 1
    # record 0 has a mask file: the fitted mask is the rendered mask downscaled
    _, m0 = world.render(sd_run["scenes"][0])
    want = np.asarray(Image.fromarray(m0).resize((32, 32), Image.Resampling.BILINEAR)).astype(int)
    assert np.abs(data.masks[0].astype(int) - want).max() <= 1
    # record 3 (subject 1, image 2) is 64x48 with box [10, 5, 30, 20]: scale 32/48, crop 5 px left
    # -> columns 10*2/3-5 .. 30*2/3-5 = 1.7 .. 15, rows 3.3 .. 13.3: pixels more than half covered are
    # rows 3..12 and columns 2..14
    rows, cols = np.nonzero(data.masks[3] > 127)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 12, 2, 14)
    assert data.masks[3][0].max() == 0 and data.masks[3][:, 20:].max() == 0
    # the image fit: resize 64x48 -> 43x32, crop columns 5..37
    src = Image.open(sd_run["data"].parent / "images" / "s1_1.png")
    want = np.asarray(src.resize((43, 32), Image.Resampling.LANCZOS))[:, 5:37]
    assert np.array_equal(data.images[3], want)
    assert [r.mask is not None for r in data.records] == [True, False, False, False, False, True, True]
    assert [r.box is not None for r in data.records] == [False, True, True, True, False, False, False]
    assert data.masks[4].max() == 0  # neither mask nor box: uniform weighting
    assert data.masks[1].max() == 255


def test_cross_reference_picks_the_same_subject(sd_run):
    data = datasets.load(sd_run["data"], 32)
    gen = torch.Generator().manual_seed(0)
    for i in range(len(data)):
        same = data.by_ident[int(data.ident[i])]
        for _ in range(5):
            j = datasets.cross_reference(data, i, gen)
            assert data.ident[j] == data.ident[i]
            assert (j != i) == (len(same) > 1)


def test_full_caption():
    assert datasets.full_caption("a <obj> on the beach", "brown dog") == "a brown dog on the beach"


def test_rgba_image_goes_on_white(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    (tmp_path / "d.jsonl").write_text(json.dumps({"image": "a.png", "caption": "a <obj>", "object": "x", "id": 1}))
    im = datasets.load(tmp_path / "d.jsonl", 20).images[0]
    assert tuple(im[10, 2]) == (255, 0, 0) and tuple(im[10, 17]) == (255, 255, 255)


# ---------------------------------------------------------------- dataset errors


@pytest.fixture()
def good(tmp_path):
    im, m = world.render(world.sample_scene(world.Identity("star", "red", "plain", None), np.random.default_rng(0)))
    im.save(tmp_path / "a.png")
    Image.fromarray(m).save(tmp_path / "a_mask.png")
    Image.fromarray(m[:32]).save(tmp_path / "half_mask.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8)
    (tmp_path / "truncated.png").write_bytes((tmp_path / "a.png").read_bytes()[:200])
    return {"image": "a.png", "mask": "a_mask.png", "caption": "a <obj> on the beach", "object": "red star", "id": "s1"}


def _write(tmp_path, lines):
    p = tmp_path / "data.jsonl"
    p.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    return p


def _error(tmp_path, lines, resolution=32):
    """The DatasetError message for a file of these lines, and the file's path."""
    p = _write(tmp_path, lines)
    with pytest.raises(datasets.DatasetError) as e:
        datasets.load(p, resolution)
    return str(e.value), p


def _line(msg, p, n):
    """The message's entry for line n of file p."""
    found = [l for l in msg.splitlines() if l.startswith(f"{p}:{n}: ")]
    assert len(found) == 1, msg
    return found[0]


def test_good_file_loads(tmp_path, good):
    assert len(datasets.load(_write(tmp_path, [good, good]), 32)) == 2


@pytest.mark.parametrize("bad, problem", [
    ('{"image": "a.png", "caption": "a <obj>",', "bad JSON"),
    ('["a.png"]', "expected a JSON object, found list"),
    ({"image": "a.png", "caption": "a <obj>", "id": 1}, "missing field object"),
    ({"caption": "a <obj>", "object": "x"}, "missing fields image, id"),
    ({"image": "a.png", "caption": "a <obj>", "object": "x", "id": 1, "bbox": [0, 0, 1, 1]}, "unknown field bbox"),
    ({"image": "missing.png", "caption": "a <obj>", "object": "x", "id": 1}, "image file not found: "),
    ({"image": "a.png", "caption": "a dog on the beach", "object": "x", "id": 1}, "caption has no <obj>"),
    ({"image": "a.png", "caption": "a <obj> and a <obj>", "object": "x", "id": 1}, "caption has <obj> 2 times"),
    ({"image": "a.png", "caption": "a <obj>, on the beach", "object": "x", "id": 1}, "not as a word of its own"),
    ({"image": "a.png", "caption": "a <obj>", "object": "", "id": 1}, "field object must be a non-empty string"),
    ({"image": "a.png", "caption": "a <obj>", "object": "x", "id": True}, "field id must be"),
    ({"image": "a.png", "caption": "a <obj>", "object": "x", "id": 1, "mask": "a_mask.png", "box": [0, 0, 1, 1]},
     "give mask or box, not both"),
    ({"image": "a.png", "caption": "a <obj>", "object": "x", "id": 1, "mask": "nope.png"}, "mask file not found"),
    ({"image": "a.png", "caption": "a <obj>", "object": "x", "id": 1, "box": [0, 0, 10]}, "field box must be"),
])
def test_parse_errors_name_line_and_problem(tmp_path, good, bad, problem):
    msg, p = _error(tmp_path, [good, bad])
    assert problem in _line(msg, p, 2)
    assert f"{p}:1:" not in msg  # the good line is not blamed


@pytest.mark.parametrize("change, problem", [
    ({"image": "corrupt.png"}, "cannot read image "),
    ({"image": "truncated.png"}, "cannot read image "),
    ({"mask": "corrupt.png"}, "cannot read mask "),
    ({"mask": "half_mask.png"}, "is 64x32 but the image is 64x64"),
    ({"mask": None, "box": [10, 10, 70, 20]}, "box [10.0, 10.0, 70.0, 20.0] out of range for a 64x64 image"),
    ({"mask": None, "box": [30, 10, 20, 20]}, "out of range"),
    ({"mask": None, "box": [-1, 0, 20, 20]}, "out of range"),
])
def test_image_errors_name_line_and_problem(tmp_path, good, change, problem):
    rec = {k: v for k, v in dict(good, **change).items() if v is not None}
    msg, p = _error(tmp_path, [good, rec])
    assert problem in _line(msg, p, 2)


def test_all_problems_are_reported_at_once(tmp_path, good):
    msg, p = _error(tmp_path, ["{", good, {"image": "a.png"}, "", dict(good, caption="no placeholder")])
    assert msg.startswith(f"{p}: 3 problems")
    assert f"{p}:1: bad JSON" in msg and f"{p}:3: missing fields caption, object, id" in msg
    assert f"{p}:5: caption has no <obj>" in msg


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(datasets.DatasetError, match="dataset file not found"):
        datasets.load(tmp_path / "none.jsonl", 32)
    with pytest.raises(datasets.DatasetError, match="no records"):
        datasets.load(_write(tmp_path, ["", "  "]), 32)


def test_stage_checks_the_dataset_before_training(sd_run, tmp_path, good):
    p = _write(tmp_path, [good, dict(good, image="missing.png")])
    with pytest.raises(datasets.DatasetError, match=r"data.jsonl:2: image file not found"):
        stage_encoder.main(["--run-dir", str(tmp_path / "run"), "--base", str(sd_run["base"]),
                            "--vision-model", str(sd_run["vision"]), "--dataset", str(p), "--steps", "1"])
    assert not (tmp_path / "run" / "encoder" / "state.pt").exists()


@pytest.mark.parametrize("setting, norm", [("words", 0.37), ("1.5", 1.5), ("layer_norm", 32 ** 0.5)])
def test_token_norm_sets_where_the_object_tokens_start(sd_run, setting, norm):
    cfg = stage_encoder.EncoderConfig(vision_model=str(sd_run["vision"]), token_norm=setting)
    enc = stage_encoder.build_encoder(sd_run["run"], cfg, 32, word_norm=0.37)
    with torch.no_grad():
        tokens = enc(torch.rand(3, 3, 32, 32) * 2 - 1)
    assert tokens.shape == (3, 4, 32)
    assert tokens.norm(dim=-1).mean().item() == pytest.approx(norm, rel=1e-3)


@pytest.mark.parametrize("setting", ["loud", "0", "-1"])
def test_token_norm_refuses_what_it_cannot_use(sd_run, setting):
    cfg = stage_encoder.EncoderConfig(vision_model=str(sd_run["vision"]), token_norm=setting)
    with pytest.raises(ValueError, match="token-norm"):
        stage_encoder.build_encoder(sd_run["run"], cfg, 32, word_norm=0.37)
