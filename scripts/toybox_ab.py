#!/usr/bin/env python3
"""Toybox UNet step and whole image: PyTorch against one or more likeness-bench binaries, in turns.

On a shared machine one run of `make bench` can move by 10-30%; this interleaves the sides
round by round (PyTorch, then each binary), so a slow minute hits all of them, and reports each
side's median over the rounds, its median per-step CPU time (likeness-bench's own count, which
preemption inflates less than wall time) and its ratio to PyTorch within each round.

    python scripts/toybox_ab.py --rounds 5 --threads 2 .build/release/likeness-bench /tmp/old-likeness-bench

The same measurements as scripts/bench.py's Toybox rows (a UNet step at 16x16 latents, batch 2;
the whole image: 25 DDIM steps, guidance 5, seed 0), without rewriting docs/BENCHMARKS.md."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
from pathlib import Path

from bench import ROOT, measure, torch_randn

import torch


def run(binary: str, *args) -> dict:
    out = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=str(ROOT / "Models" / "toybox"))
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="the binaries' compute precision (PyTorch stays float32)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    from diffusers import UNet2DConditionModel
    from likeness_train.pipeline import LikenessPipeline

    folder = Path(args.model)
    unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).eval()
    x = torch_randn((2, unet.config.in_channels, 16, 16), 0)
    cond = torch_randn((2, 77, unet.config.cross_attention_dim), 1)
    pipe = LikenessPipeline.from_folder(folder)
    sides = ["pytorch", *args.binaries]
    step = {s: [] for s in sides}
    image = {s: [] for s in sides}
    cpu = {s: [] for s in args.binaries}
    for _ in range(args.rounds):
        with torch.no_grad():
            step["pytorch"].append(statistics.median(measure(10, lambda: unet(x, 500, encoder_hidden_states=cond).sample)))
        image["pytorch"].append(statistics.median(
            measure(3, lambda: pipe("a red star on the beach, at the left", steps=25, text_scale=5.0, seed=0))))
        for b in args.binaries:
            r = run(b, "unet", folder, 16, 2, 10, args.precision, args.threads)
            step[b].append(r["median"])
            cpu[b].append(statistics.median(r["cpu_times"]))
            image[b].append(run(b, "generate", folder, 25, 3, args.precision)["median"])
    print(f"{args.rounds} rounds, {args.threads} threads, {args.precision}, load average {os.getloadavg()[0]:.1f}")
    for s in sides:
        line = f"{s}: step {1000 * statistics.median(step[s]):.1f} ms, image {statistics.median(image[s]):.3f} s"
        if s != "pytorch":
            rs = statistics.median(a / b for a, b in zip(step[s], step["pytorch"]))
            ri = statistics.median(a / b for a, b in zip(image[s], image["pytorch"]))
            line += f", step CPU {1000 * statistics.median(cpu[s]):.1f} ms; / PyTorch: step {rs:.2f}, image {ri:.2f}"
        print(line)


if __name__ == "__main__":
    main()
