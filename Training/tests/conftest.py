import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """The whole training chain at --quick size (about 40 s): a run folder with model/ (input_embedding
    injection, K=4) and model_hs/ (hidden_state injection, K=2) exported."""
    from likeness_train import export, stage_base, stage_clip, stage_data, stage_encoder, stage_vae

    run = tmp_path_factory.mktemp("run")
    r = str(run)
    stage_data.main(["--run-dir", r, "--quick", "true"])
    stage_clip.main(["--run-dir", r, "--quick", "true", "--steps", "4", "--batch-size", "16"])
    stage_vae.main(["--run-dir", r, "--quick", "true", "--steps", "4", "--batch-size", "8"])
    stage_base.main(["--run-dir", r, "--quick", "true", "--steps", "4", "--batch-size", "8"])
    stage_encoder.main(["--run-dir", r, "--quick", "true", "--steps", "4", "--batch-size", "8"])
    stage_encoder.main(["--run-dir", r, "--quick", "true", "--steps", "3", "--batch-size", "8",
                        "--injection", "hidden_state", "--num-tokens", "2", "--out-name", "encoder_hs"])
    export.main(["--run-dir", r, "--quick", "true", "--out", str(run / "model")])
    export.main(["--run-dir", r, "--quick", "true", "--encoder-name", "encoder_hs", "--out", str(run / "model_hs")])
    return run
