"""Likeness reads other tools' images as a third-party reader does: for each fixture of
scripts/fixtures/metadata.py (A1111 PNG/JPEG/WebP, Fooocus, ComfyUI, InvokeAI, NovelAI), the
prompt, negative prompt, seed and steps that `likeness params --json` prints equal what
sd-parsers reads from the same file. Where sd-parsers cannot read a format, the test checks that
it still cannot (so the reason stays true) and compares Likeness's reading with the values the
fixture was written with, from the format's documented layout.

Needs the fixtures (`make fixtures`) and the built CLI (`swift build`); either missing is a failure.
"""
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures" / "generated" / "metadata"


def _fixture_script():
    """scripts/fixtures/metadata.py, for its sd-parsers reader (one copy of it: the reader forgets
    sd-parsers' per-image cache, which otherwise hands a new image the last image's UserComment
    when Python places it at the freed image's address)."""
    spec = importlib.util.spec_from_file_location("metadata_fixtures", ROOT / "scripts" / "fixtures" / "metadata.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected():
    path = FIXTURES / "expected.json"
    if not path.is_file():
        pytest.fail(f"missing fixture {path}: run `make fixtures` (or .venv/bin/python scripts/fixtures/metadata.py)")
    return json.loads(path.read_text())


def _binary():
    for config in ("debug", "release"):
        p = ROOT / ".build" / config / "likeness"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    pytest.fail("the likeness CLI is not built (.build/debug/likeness): run `swift build`")


def _likeness_params(path):
    run = subprocess.run([str(_binary()), "params", "--json", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


CASES = sorted(_expected().items()) if (FIXTURES / "expected.json").is_file() else [("expected.json", None)]


@pytest.mark.parametrize("name, case", CASES, ids=[c[0] for c in CASES])
def test_likeness_reads_what_sd_parsers_reads(name, case):
    if case is None:
        _expected()  # fails with the message to run `make fixtures`
    path = FIXTURES / name
    assert path.is_file(), f"missing fixture {path}: run `make fixtures`"
    ours = _likeness_params(path)
    assert ours["source"]["format"] == case["format"]
    written = case["written"]

    reading = _fixture_script().sd_parsers_reading(str(path), written.get("sampler_node"))
    if case["sd_parsers"] is None:
        # sd-parsers does not read this format (the reason is in the fixture); check it still reads
        # nothing, and check Likeness against the layout the fixture was written from.
        assert case["sd_parsers_cannot"], name
        assert reading is None, f"sd-parsers now reads {name}; compare with it instead"
        expected = {"prompt": written["prompt"], "negative": written["negative"], "seed": written["seed"],
                    "steps": written["steps"]}
    else:
        assert reading is not None, f"sd-parsers read nothing from {name}"
        expected = {k: reading[k] for k in ("prompt", "negative", "seed", "steps")}
        # The fixture's record of sd-parsers' reading (what the Swift tests compare against) is current.
        assert {k: case["sd_parsers"][k] for k in expected} == expected, "re-run `make fixtures`"

    assert ours["prompt"] == expected["prompt"]
    assert ours["negative_prompt"] == expected["negative"]
    assert int(ours["seed"]) == expected["seed"]
    assert ours["steps"] == expected["steps"]
    # The rest of what the layout records.
    assert ours["cfg_scale"] == pytest.approx(written["cfg"])
    assert (ours.get("width"), ours.get("height")) == (written.get("width"), written.get("height"))
    if "model" in written:
        assert ours["model"] == written["model"]
