"""The PNGs `likeness generate` writes carry AUTOMATIC1111's `parameters` chunk; check it with a
real third-party reader (sd-parsers), not only with our own parser.

Needs the built CLI (`swift build`); skipped with the reason when it is not built.
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _binary():
    for config in ("debug", "release"):
        p = ROOT / ".build" / config / "likeness"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


def _generate(tmp_path, extra):
    exe = _binary()
    if exe is None:
        pytest.skip("the likeness CLI is not built (.build/debug/likeness); run `swift build` first")
    out = tmp_path / "out.png"
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    cmd = [str(exe), "generate", "--model", str(ROOT / "Models" / "toybox"), "--steps", "3",
           "--output", str(out)] + extra
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return out


@pytest.mark.parametrize("sampler, karras, a1111_name", [
    ("dpmpp-2m", ["--karras"], "DPM++ 2M Karras"),
    ("euler-a", [], "Euler a"),
    ("ddim", [], "DDIM"),
])
def test_sd_parsers_reads_our_parameters(tmp_path, sampler, karras, a1111_name):
    sd_parsers = pytest.importorskip("sd_parsers", reason="pip install sd-parsers")
    out = _generate(tmp_path, ["--prompt", "a red star on the beach", "--negative-prompt", "a small heart, in the snow",
                               "--sampler", sampler, "--seed", "42", "--guidance", "4.5"] + karras)
    info = sd_parsers.ParserManager().parse(str(out))
    assert info is not None, "sd-parsers found no generation parameters"
    assert info.generator.name == "AUTOMATIC1111"
    [s] = info.samplers
    assert s.name == a1111_name
    assert [p.value for p in s.prompts] == ["a red star on the beach"]
    assert [p.value for p in s.negative_prompts] == ["a small heart, in the snow"]
    assert s.parameters["seed"] == "42"
    assert s.parameters["steps"] == "3"
    assert s.parameters["cfg_scale"] == "4.5"
    assert s.model is not None and s.model.name == "toybox"
    assert info.metadata["Size"] == "64x64"
