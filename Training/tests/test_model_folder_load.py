"""The built-in model folder loads with a plain diffusers `from_pretrained` (no dtype argument)
and with `torch_dtype=torch.float16`, and runs a step either way: its configs declare float32
while its weights are stored in fp16 (export.declare_float32)."""
from pathlib import Path

import pytest
import torch

MODEL = Path(__file__).resolve().parents[2] / "Models" / "toybox"


@pytest.mark.parametrize("dtype", [None, torch.float16])
def test_plain_and_fp16_load_run_one_step(dtype):
    from diffusers import StableDiffusionPipeline
    kwargs = {} if dtype is None else {"torch_dtype": dtype}
    pipe = StableDiffusionPipeline.from_pretrained(str(MODEL), safety_checker=None, requires_safety_checker=False, **kwargs)
    want = dtype or torch.float32
    assert pipe.text_encoder.dtype == want and pipe.unet.dtype == want
    out = pipe("a red star on the beach", num_inference_steps=1, guidance_scale=5.0, output_type="np",
               generator=torch.Generator().manual_seed(0))
    image = out.images[0]
    assert image.shape == (64, 64, 3)
    assert float(abs(image).sum()) > 0 and not (image != image).any()


def test_declare_float32_rewrites_config(tmp_path):
    import json
    from likeness_train.export import declare_float32
    (tmp_path / "config.json").write_text(json.dumps({"dtype": "float16", "hidden_size": 8}))
    declare_float32(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == {"dtype": "float32", "hidden_size": 8}
