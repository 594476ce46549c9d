"""LCM 4 steps + TAESD at 512x512, diffusers fp32 against Likeness fp32 in one run (the whole-image
row of scripts/bench.py's few-step section without its bf16 and decoder rows; a few minutes).

    .venv/bin/python scripts/bench_fewstep_pair.py [--threads 2]

diffusers: LatentConsistencyModelPipeline with AutoencoderTiny, one warm-up then one timed image;
Likeness: `likeness-bench fewstep` (one warm-up, then the median of 3). Prints both and the ratio.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    folder, taesd, pipe, image = bench.few_step_pipeline()

    with torch.no_grad():
        image()
        t = time.perf_counter()
        image()
        dt = time.perf_counter() - t
    del pipe, image
    print(f"diffusers fp32: {dt:.2f} s", flush=True)
    sw = bench.swift("fewstep", folder, taesd, 4, 512, 3, "fp32")
    print(f"Likeness fp32: {sw['median']:.2f} s (first step {sw['first_step_s']:.2f} s, steps 2-4 "
          f"{sw['other_steps_s']:.2f} s, TAESD {sw['decode_s']:.2f} s): ratio {sw['median'] / dt:.2f}")
    print(json.dumps(sw))


if __name__ == "__main__":
    main()
