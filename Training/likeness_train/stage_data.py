"""render-data: renders the scene caches every stage reads (runs/toybox/data/*.npz)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from . import common


@dataclasses.dataclass
class DataConfig:
    """Render the Toybox scene caches."""
    run_dir: str = "runs/toybox"
    scenes_per_identity: int = 8
    seed: int = 0
    quick: bool = False


def main(argv=None):
    cfg = common.parse_config(DataConfig, argv)
    paths = common.ensure_data(Path(cfg.run_dir), cfg.scenes_per_identity, cfg.seed, cfg.quick)
    print(f"data: {paths['train']} {paths['heldout']}")


if __name__ == "__main__":
    main()
