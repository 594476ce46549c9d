"""python -m likeness_train STAGE [flags]: clip | towers | clip-from-model | from-snapshots | vae | vae-snapshot | base | base-folder | encoder | export |
evaluate | shape-check | probes | textual-inversion | render-data. Each stage's --help lists its flags."""
from __future__ import annotations

import importlib
import sys

STAGES = {
    "render-data": "likeness_train.stage_data",
    "clip": "likeness_train.stage_clip",
    "towers": "likeness_train.towers",
    "clip-from-model": "likeness_train.stage_clip_from_model",
    "from-snapshots": "likeness_train.stage_from_snapshots",
    "vae": "likeness_train.stage_vae",
    "vae-snapshot": "likeness_train.snapshot_vae",
    "base": "likeness_train.stage_base",
    "base-folder": "likeness_train.stage_base_folder",
    "encoder": "likeness_train.stage_encoder",
    "export": "likeness_train.export",
    "probes": "likeness_train.probes",
    "evaluate": "likeness_train.evaluate",
    "shape-check": "likeness_train.shape_check",
    "textual-inversion": "likeness_train.textual_inversion",
}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    name = argv.pop(0)
    if name not in STAGES:
        print(f"unknown stage {name!r}; stages: {', '.join(STAGES)}", file=sys.stderr)
        return 2
    importlib.import_module(STAGES[name]).main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
