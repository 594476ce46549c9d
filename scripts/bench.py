"""make bench: the Swift engine against PyTorch (CPU) on the same weights, inputs and thread count,
measured side by side in one run. Writes runs/bench/results.json and docs/BENCHMARKS.md.

Components: a UNet step (batch 2, as classifier-free guidance runs it) at Toybox size (16x16
latents) and at SD-1.5 size (64x64 latents, random weights), a CLIP text encode (batch 2), a VAE
decode, a whole Toybox image (25 DDIM steps, guidance 5) and sgemm peak. GFLOP/s are the PyTorch
FLOP counter's count of each forward divided by each side's median time.

Few-step rows (SD-1.5 size): LCM 4 steps + TAESD decode as a whole image against diffusers, TAESD
against the full VAE decode, and the first tiny-decoder preview of a job.

    python scripts/bench.py [--threads 2] [--skip-sd] [--repeats-sd 2] [--only-few-step]

Single files and LoRA (bench_single_file): loading an SD-1.5-size F16 single file (original
layout, random weights, scripts/large/single_file_real.py's writer) against diffusers'
from_single_file(config=folder) on the same file, time and peak RSS of each in a fresh child
process (that child's own VmHWM); merging a rank-32 kohya LoRA (UNet attention, feed-forward and
projections, text encoder attention and MLP) into the loaded model and taking it out again,
against diffusers' load_lora_weights + fuse_lora and unfuse_lora.

    python scripts/bench.py [--threads 2] [--skip-sd] [--repeats-sd 2] [--only-single-file]

Memory and load time (bench_memory): one SD-1.5-size 512x512 image at fp32 and bf16 against
diffusers fp32, peak RSS per phase (load, steps, VAE decode) and load / first-step time, each side
in a fresh process; and the resident memory of each component's weights.

    python scripts/bench.py [--threads 2] --only-memory

Decoders (bench_decoders): the VAE decode at Toybox and SD-1.5 size and the TAESD decode at 512x512
against diffusers, and against the engine's own im2col path (LIKENESS_WINOGRAD=0) in the same run.

    python scripts/bench.py [--threads 2] [--repeats-sd 2] [--only-decoders]

The native peer (bench_peer): stable-diffusion.cpp (stable-diffusion-cpp-python, built by `make
bench-peer-deps`) and Likeness on the same SD-1.5-size F16 single file (original layout, random
weights), one 512x512 Euler image with guidance in a fresh process each: time per sampling step,
load time and peak RSS (the child's VmHWM), sd.cpp at f32, f16 and q8_0 weights, Likeness at fp32
and bf16. Thread scaling (bench_scaling): the SD-1.5-size UNet step on 1 and on 2 threads, fp32
and bf16, with PyTorch's 1-to-2-thread ratio on the same step as what this machine gives.

    python scripts/bench.py [--threads 2] [--repeats-sd 2] [--only-peer] [--peer-size 512] [--peer-steps 3]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Training"))
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))

import torch  # noqa: E402

BENCH = ROOT / "runs" / "bench"
SWIFT = ROOT / ".build" / "release" / "likeness-bench"

SD15_UNET = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=[320, 640, 1280, 1280],
                 down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                 up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
                 cross_attention_dim=768, attention_head_dim=8)
SD15_TEXT = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu")
SD15_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
                block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
                up_block_types=["UpDecoderBlock2D"] * 4, sample_size=512, scaling_factor=0.18215)


def torch_randn(shape, seed):
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)


def measure(repeats, fn):
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def median(xs):
    return sorted(xs)[len(xs) // 2]


def flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() / 1e9


def make_sd15(folder: Path, unet_extra: dict | None = None, scheduler: dict | None = None):
    """Random SD-1.5-shaped components in diffusers layout (cached between runs); `unet_extra`
    adds UNet config keys (e.g. an LCM UNet's time_cond_proj_dim), `scheduler` replaces SD 1.5's."""
    if (folder / "done").exists() and (folder / "model_index.json").exists():
        return
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    import tokenizers_sampling as ts  # the fixture script's CLIP vocabulary builder

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    UNet2DConditionModel(**SD15_UNET, **(unet_extra or {})).save_pretrained(folder / "unet")
    CLIPTextModel(CLIPTextConfig(**SD15_TEXT)).save_pretrained(folder / "text_encoder")
    AutoencoderKL(**SD15_VAE).save_pretrained(folder / "vae")
    vocab, merges = ts.build_clip_vocab()
    ts.write_clip_folder(folder / "tokenizer", vocab, merges, "<|endoftext|>")
    # A whole pipeline folder, so the job-layer benchmarks can load it (SD 1.5's scheduler).
    (folder / "scheduler").mkdir(exist_ok=True)
    scheduler = scheduler or {
        "_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
        "prediction_type": "epsilon", "clip_sample": False}
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(scheduler, indent=2))
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", scheduler["_class_name"]],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
        "safety_checker": [None, None], "feature_extractor": [None, None]}, indent=2))
    (folder / "done").write_text("ok")


def cpu_flags() -> tuple[str, set]:
    """The CPU's model name and /proc/cpuinfo flags."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return "unknown CPU", set()
    name = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "unknown CPU")
    return name, set(next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), []))


def bf16_kernel() -> str | None:
    """The bfloat16 kernel the engine runs here (as lk_bf16_kernel picks it): native, widening, or
    None where bf16 runs as fp32."""
    flags = cpu_flags()[1]
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"} <= flags:
        return "native"
    if {"avx2", "fma", "f16c"} <= flags:
        return "widening"
    return None


def cpu_description() -> str:
    """The CPU's model name and the vector extensions the engine's kernels use on it."""
    name, flags = cpu_flags()
    isa = "AVX-512" if "avx512f" in flags else "AVX2 + FMA, no AVX-512" if "avx2" in flags else "no AVX2"
    kernel = {"native": "bf16 runs the native AVX512-BF16 kernel",
              "widening": "bf16 runs the widening kernel (bfloat16 weights, float32 products)",
              None: "bf16 runs as fp32"}[bf16_kernel()]
    return f"{name}, {isa}: {kernel}"


def swift(*args) -> dict:
    env = dict(os.environ)
    out = subprocess.run([str(SWIFT), *map(str, args)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"likeness-bench {' '.join(map(str, args))} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_folder(name: str, folder: Path, latent: int, repeats: int, rows: list, whole_image: bool):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import AutoTokenizer, CLIPTextModel

    unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).eval()
    cross = unet.config.cross_attention_dim
    x, cond = torch_randn((2, unet.config.in_channels, latent, latent), 0), torch_randn((2, 77, cross), 1)
    with torch.no_grad():
        f = lambda: unet(x, 500, encoder_hidden_states=cond).sample  # noqa: E731
        gf = flops(f)
        pt = measure(repeats, f)
    del unet
    sw = swift("unet", folder, latent, 2, repeats)
    rows.append((f"UNet step, {name} ({latent}x{latent} latents, batch 2)", gf, median(pt), sw["median"]))

    text = CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder / "tokenizer")
    ids = tok(["a photo of a red star on the beach, at the left"] * 2, padding="max_length", truncation=True,
              max_length=min(tok.model_max_length, text.config.max_position_embeddings), return_tensors="pt").input_ids
    with torch.no_grad():
        f = lambda: text(input_ids=ids).last_hidden_state  # noqa: E731
        gf = flops(f)
        pt = measure(max(repeats, 5), f)
    sw = swift("text", folder, 2, max(repeats, 5))
    rows.append((f"CLIP text encode, {name} (batch 2)", gf, median(pt), sw["median"]))

    vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=torch.float32).eval()
    z = torch_randn((1, vae.config.latent_channels, latent, latent), 0)
    with torch.no_grad():
        f = lambda: vae.decode(z).sample  # noqa: E731
        gf = flops(f)
        pt = measure(repeats, f)
    sw = swift("vae", folder, latent, repeats)
    rows.append((f"VAE decode, {name} ({latent}x{latent} latents)", gf, median(pt), sw["median"]))

    if whole_image:
        from likeness_train.pipeline import LikenessPipeline
        pipe = LikenessPipeline.from_folder(folder)
        f = lambda: pipe("a red star on the beach, at the left", steps=25, text_scale=5.0, seed=0)  # noqa: E731
        pt = measure(3, f)
        sw = swift("generate", folder, 25, 3)
        rows.append((f"Whole image, {name} (25 DDIM steps, guidance 5)", float("nan"), median(pt), sw["median"]))


def make_sd15_fp16(src: Path, folder: Path):
    """The random SD-1.5 folder with every component saved as float16 (as SD-1.5 is shipped)."""
    if (folder / "done").exists():
        return
    import shutil

    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel
    folder.mkdir(parents=True, exist_ok=True)
    for name, cls in [("unet", UNet2DConditionModel), ("text_encoder", CLIPTextModel), ("vae", AutoencoderKL)]:
        cls.from_pretrained(src / name, torch_dtype=torch.float16).save_pretrained(folder / name)
    for name in ["tokenizer", "scheduler"]:
        shutil.copytree(src / name, folder / name, dirs_exist_ok=True)
    shutil.copy(src / "model_index.json", folder / "model_index.json")
    (folder / "done").write_text("ok")


def child_json(cmd: list, env=None) -> dict:
    """Runs `cmd` in a fresh process, which reports its own peak RSS (VmHWM: getrusage's ru_maxrss
    would include this Python process's, carried over fork and exec); its last stdout line as JSON."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


DIFFUSERS_IMAGE = r"""
import json, sys, time, torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
torch.set_num_threads(int(sys.argv[4]))
t0 = time.perf_counter()
pipe = StableDiffusionPipeline.from_pretrained(sys.argv[1], torch_dtype=torch.float32, safety_checker=None,
                                               requires_safety_checker=False)
pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
t1 = time.perf_counter()
size, steps = int(sys.argv[2]), int(sys.argv[3])
pipe("a red star on the beach, at the left", num_inference_steps=steps, guidance_scale=5.0, height=size, width=size,
     generator=torch.Generator().manual_seed(0))
t2 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"load_s": t1 - t0, "median": t2 - t1, "peak_rss_bytes": int(hwm) * 1024}))
"""


def bench_precision(folder: Path, threads: int, repeats: int) -> list:
    """Compute precision (bf16 on AVX512-BF16): the SD-1.5-size UNet step at
    Swift fp32 and bf16 against PyTorch fp32 and PyTorch bf16 autocast, all in this run; then one
    512x512 image (2 DDIM steps, guidance 5) from a float16 folder in a fresh process per side,
    with its load time and peak RSS (the child's VmHWM). Returns Markdown lines."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).eval()
    x, cond = torch_randn((2, 4, 64, 64), 0), torch_randn((2, 77, 768), 1)
    with torch.no_grad():
        f = lambda: unet(x, 500, encoder_hidden_states=cond).sample  # noqa: E731
        gf = flops(f)
        pt32 = median(measure(repeats, f))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pt16 = median(measure(repeats, f))
    del unet
    sw32 = swift("unet", folder, 64, 2, repeats, "fp32")["median"]
    sw16 = swift("unet", folder, 64, 2, repeats, "bf16")
    if sw16.get("precision") != "bf16":
        print("note: this CPU has no bfloat16 kernel; the bf16 row ran as fp32", file=sys.stderr)
    sw16 = sw16["median"]
    lines = ["## Compute precision (bf16 on AVX512-BF16)", "",
             f"UNet step, SD-1.5 size, random weights (64x64 latents, batch 2, {gf:.0f} GFLOP), {threads} threads, "
             "one after the other in the same run:", "",
             "| side | s | GFLOP/s | / PyTorch fp32 time |", "| --- | ---: | ---: | ---: |"]
    for what, t in [("PyTorch fp32", pt32), ("PyTorch bf16 autocast", pt16), ("Swift fp32", sw32), ("Swift bf16", sw16)]:
        lines.append(f"| {what} | {t:.2f} | {gf / t:.0f} | {t / pt32:.2f} |")
    lines += ["", f"Swift bf16 / PyTorch bf16 autocast time: {sw16 / pt16:.2f}; Swift bf16 / Swift fp32: {sw16 / sw32:.2f}.", ""]

    fp16 = folder.parent / (folder.name + "-fp16")
    make_sd15_fp16(folder, fp16)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    lines += ["One 512x512 image (2 DDIM steps, guidance 5) from the float16 folder, a fresh process each:", "",
              "| side | load s | generate s | peak RSS GB |", "| --- | ---: | ---: | ---: |"]
    for what, cmd in [("Swift fp32", [SWIFT, "image", fp16, 512, 2, "fp32"]),
                      ("Swift bf16", [SWIFT, "image", fp16, 512, 2, "bf16"]),
                      ("diffusers fp32", [sys.executable, "-c", DIFFUSERS_IMAGE, fp16, 512, 2, threads])]:
        r = child_json(cmd, env)
        lines.append(f"| {what} | {r['load_s']:.1f} | {r['median']:.1f} | {r['peak_rss_bytes'] / 1e9:.2f} |")
    return lines + [""]


DIFFUSERS_MEMORY = r"""
import json, sys, time, torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
def status(field):
    return int([l for l in open("/proc/self/status") if l.startswith(field)][0].split()[1]) * 1024
def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
torch.set_num_threads(int(sys.argv[4]))
t0 = time.perf_counter()
pipe = StableDiffusionPipeline.from_pretrained(sys.argv[1], torch_dtype=torch.float32, safety_checker=None,
                                               requires_safety_checker=False)
pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
load_s = time.perf_counter() - t0
load_peak, loaded = status("VmHWM:"), status("VmRSS:")
reset_peak()
size, steps = int(sys.argv[2]), int(sys.argv[3])
out = {}
def on_step(p, i, t, kw):
    if i == 0:
        out["first_step_s"] = time.perf_counter() - t0
    if i == steps - 1:
        out["steps_peak_rss_bytes"] = status("VmHWM:")
        reset_peak()
    return kw
pipe("a red star on the beach, at the left", num_inference_steps=steps, guidance_scale=5.0, height=size, width=size,
     generator=torch.Generator().manual_seed(0), callback_on_step_end=on_step)
decode_peak = status("VmHWM:")
out.update(load_s=load_s, median=time.perf_counter() - t0 - load_s, loaded_rss_bytes=loaded, load_peak_rss_bytes=load_peak,
           decode_peak_rss_bytes=decode_peak, peak_rss_bytes=max(load_peak, out["steps_peak_rss_bytes"], decode_peak))
print(json.dumps(out))
"""


def bench_memory(threads: int) -> list:
    """Memory and load time (issue: an SD-1.5 512x512 image within 2.5 GB at bf16; load <= 0.5 of
    diffusers'): one 512x512 image (2 DDIM steps, guidance 5) from the random SD-1.5 float16
    folder, a fresh process per side, with the peak resident memory of each phase (VmHWM, reset
    between phases through /proc/self/clear_refs), the load time and the time to the end of the
    first step; and the resident memory each component's weights add when loaded on their own.
    Returns Markdown lines."""
    sd = BENCH / "sd15-random"
    make_sd15(sd)
    fp16 = sd.parent / (sd.name + "-fp16")
    make_sd15_fp16(sd, fp16)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    gb = lambda b: f"{b / 1e9:.2f}"  # noqa: E731
    runs = [("Likeness fp32, weights kept", [SWIFT, "memory", fp16, 512, 2, "fp32"]),
            ("Likeness fp32, the studio (UNet and decoder kept)", [SWIFT, "memory", fp16, 512, 2, "fp32", "denoiser"]),
            ("Likeness fp32, weights given back after use (`likeness generate`)", [SWIFT, "memory", fp16, 512, 2, "fp32", "release"]),
            ("Likeness bf16, weights kept", [SWIFT, "memory", fp16, 512, 2, "bf16"]),
            ("Likeness bf16, the studio (UNet and decoder kept)", [SWIFT, "memory", fp16, 512, 2, "bf16", "denoiser"]),
            ("Likeness bf16, weights given back after use (`likeness generate`)", [SWIFT, "memory", fp16, 512, 2, "bf16", "release"]),
            ("diffusers fp32", [sys.executable, "-c", DIFFUSERS_MEMORY, fp16, 512, 2, threads])]
    # Without a bfloat16 kernel `bf16` runs as fp32: its rows would repeat the fp32 ones, so they are left out.
    bf16 = bf16_kernel() is not None
    runs = [(what, cmd) for what, cmd in runs if bf16 or "bf16" not in cmd]
    results = {what: child_json(cmd, env) for what, cmd in runs}
    weights = {p: child_json([SWIFT, "weights", fp16, p], env) for p in (["fp32", "bf16"] if bf16 else ["fp32"])}
    ref = results["diffusers fp32"]
    lines = ["## Memory and load time (SD-1.5 size)", "",
             f"One 512x512 image (2 DDIM steps, guidance 5, {threads} threads) from the random SD-1.5 float16 folder, a "
             "fresh process each. Peak RSS is the process's VmHWM, set back to the current RSS between phases "
             "(/proc/self/clear_refs), so each phase's column is the most that phase held: load, prompt encoding and "
             "the UNet steps, the VAE decode. First step: from the start of the process's load to the end of the "
             "first UNet step. Target (bf16): peak <= 2.5 GB, load <= 0.5 of diffusers'; fp32 (`likeness generate`): "
             "below stable-diffusion.cpp's f32 peak (4.67 GB, \"The native peer\")."
             + f" {cpu_description()}." + ("" if bf16 else " No bf16 rows."), "",
             "| side | peak RSS GB | after load GB | load peak GB | steps peak GB | decode peak GB | load s | / diffusers | first step s | / diffusers | generate s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for what, r in results.items():
        lines.append(f"| {what} | {gb(r['peak_rss_bytes'])} | {gb(r['loaded_rss_bytes'])} | {gb(r['load_peak_rss_bytes'])} | "
                     f"{gb(r['steps_peak_rss_bytes'])} | {gb(r['decode_peak_rss_bytes'])} | {r['load_s']:.2f} | "
                     f"{r['load_s'] / ref['load_s']:.2f} | {r['first_step_s']:.1f} | {r['first_step_s'] / ref['first_step_s']:.2f} | "
                     f"{r['median']:.1f} |")
    lines += ["", "Resident memory each component's weights add, loaded one after the other on their own "
              "(`likeness-bench weights FOLDER PRECISION`, VmRSS deltas):", "",
              "| precision | text encoder GB | UNet GB | VAE GB |", "| --- | ---: | ---: | ---: |"]
    for p, w in weights.items():
        lines.append(f"| {p} | {gb(w['text_encoder_bytes'])} | {gb(w['unet_bytes'])} | {gb(w['vae_bytes'])} |")
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "memory.json").write_text(json.dumps({"images": results, "weights": weights}, indent=2))
    return lines + [""]


def write_marked_section(begin: str, end: str, lines: list) -> list:
    """Puts `lines` into docs/BENCHMARKS.md between the markers `begin` and `end` (replacing what
    was there; appended at the end the first time). Sections kept below the notes marker survive a
    full run. Returns the written lines, markers included."""
    doc = ROOT / "docs" / "BENCHMARKS.md"
    body = [begin, *lines, end]
    old = doc.read_text() if doc.exists() else ""
    if begin in old and end in old:
        new = old.split(begin, 1)[0] + "\n".join(body) + old.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + "\n".join(body) + "\n"
    doc.write_text(new)
    return body


def write_memory_section(lines: list, cmd: str):
    """The memory section between its markers, with the command and date."""
    body = write_marked_section("<!-- memory: written by scripts/bench.py -->", "<!-- /memory -->",
                                [*lines[:1], "", f"Produced by `{cmd}` on {datetime.date.today().isoformat()} ({cpu_description()}).", "",
                                 *lines[2:]])
    print("\n".join(body))


def bench_jobs(name: str, folder: Path, size: int, steps: int, cancel_steps: int, jobs: list, encode: bool):
    """The job layer: N seeds in one batched job against N one-seed jobs, cancel latency, the
    wake-up latency of a thread sleeping 5 ms while a job runs (a front end's UI thread), and the
    object encoder against the kit's PyTorch pipeline on the same weights."""
    r = swift("seeds", folder, steps, 4, size)
    jobs.append((f"4 seeds, {name}, {steps} steps: one batched job / 4 one-seed jobs",
                 f"{r['batched_s']:.2f} s / {r['single_s']:.2f} s = {r['batched_s'] / r['single_s']:.2f}"))
    r = swift("cancel", folder, cancel_steps, 5, size)
    jobs.append((f"cancel latency, {name} (5 cancels spread over a {r['step_s']:.2f} s step)",
                 f"median {1000 * r['median']:.1f} ms, max {1000 * r['max']:.1f} ms"))
    if encode:
        r = swift("wakeup", folder, 400, size)
        jobs.append((f"UI thread wake-up lateness while a job runs, {name} (5 ms sleeps, {r['samples']} samples)",
                     f"p50 {1000 * r['busy_p50']:.2f} ms, p99 {1000 * r['busy_p99']:.2f} ms "
                     f"(engine idle: p50 {1000 * r['idle_p50']:.2f} ms, p99 {1000 * r['idle_p99']:.2f} ms)"))
        from likeness_train.pipeline import LikenessPipeline
        pipe = LikenessPipeline.from_folder(folder)
        s = pipe.object_encoder.cfg.image_size
        x = torch.rand((1, 3, s, s), generator=torch.Generator().manual_seed(0)) * 2 - 1
        with torch.no_grad():
            pt = measure(20, lambda: pipe.object_encoder(x))
        sw = swift("encode", folder, 20)
        jobs.append((f"object encode, {name} (one forward pass)",
                     f"Swift {1000 * sw['median']:.2f} ms, PyTorch {1000 * median(pt):.2f} ms, ratio {sw['median'] / median(pt):.2f}"))


# The LCM-Dreamshaper-v7 layout: SD 1.5's UNet with a 256-wide guidance embedding, LCMScheduler.
LCM_SCHEDULER = {"_class_name": "LCMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "original_inference_steps": 50,
                 "clip_sample": False, "set_alpha_to_one": True, "steps_offset": 1, "prediction_type": "epsilon",
                 "timestep_scaling": 10.0, "timestep_spacing": "leading"}
FEW_STEP_HEADING = "## Few-step sampling and the tiny decoder (SD-1.5 size, random weights)"


FEW_STEP_PROMPT = "a red star on the beach, at the left"


def few_step_pipeline():
    """The few-step rows' models and diffusers' pipeline for them: the random SD-1.5 UNet with
    LCM's time_cond_proj_dim and LCMScheduler (built once), TAESD with diffusers' defaults, and
    LatentConsistencyModelPipeline with AutoencoderTiny as its VAE, float32. Returns (folder,
    taesd folder, pipeline, image) where image() makes the rows' 512x512 LCM 4-step image."""
    from diffusers import AutoencoderTiny, LatentConsistencyModelPipeline, LCMScheduler, UNet2DConditionModel
    from transformers import AutoTokenizer, CLIPTextModel

    folder, taesd = BENCH / "sd15-lcm-random", BENCH / "taesd-random"
    make_sd15(folder, unet_extra={"time_cond_proj_dim": 256}, scheduler=LCM_SCHEDULER)
    if not (taesd / "config.json").exists():
        torch.manual_seed(0)
        AutoencoderTiny().save_pretrained(taesd)  # diffusers' defaults are TAESD's architecture
    pipe = LatentConsistencyModelPipeline(
        vae=AutoencoderTiny.from_pretrained(taesd, torch_dtype=torch.float32).eval(),
        text_encoder=CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=torch.float32),
        tokenizer=AutoTokenizer.from_pretrained(folder / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32),
        scheduler=LCMScheduler.from_pretrained(folder / "scheduler"), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)

    def image():
        return pipe(FEW_STEP_PROMPT, num_inference_steps=4, guidance_scale=8.5, height=512, width=512,
                    generator=torch.Generator().manual_seed(0)).images

    return folder, taesd, pipe, image


def bench_few_step(threads: int) -> list:
    """LCM 4 steps + TAESD decode at 512x512 as a whole image against diffusers'
    LatentConsistencyModelPipeline with AutoencoderTiny; the tiny decoder against the full VAE
    decode; the first tiny-decoder preview of an SD-size job. Returns the section's lines."""
    folder, taesd, pipe, image = few_step_pipeline()
    tiny, prompt = pipe.vae, FEW_STEP_PROMPT
    rows = []

    with torch.no_grad():
        pt = measure(2, image)
        # Where diffusers' time goes: one prompt encoding, one UNet step (batch 1, embedded guidance).
        pt_text = measure(2, lambda: pipe.encode_prompt(prompt, "cpu", 1, False))
        z, w = torch_randn((1, 4, 64, 64), 0), pipe.get_guidance_scale_embedding(torch.tensor([7.5]), 256)
        states = pipe.encode_prompt(prompt, "cpu", 1, False)[0]
        pt_step = measure(2, lambda: pipe.unet(z, 499, encoder_hidden_states=states, timestep_cond=w).sample)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pt_bf16 = measure(2, image)
    del pipe
    dt = median(pt)
    rows.append(("diffusers fp32 (LatentConsistencyModelPipeline + AutoencoderTiny)",
                 f"{dt:.2f} s; one prompt encoding {median(pt_text):.2f} s, one UNet step {median(pt_step):.2f} s; "
                 f"under torch.autocast(bfloat16): {median(pt_bf16):.2f} s"))
    native = bf16_kernel() == "native"
    for precision, what in [("bf16", "as users run it (`--precision bf16`, the default on this CPU)" if native else
                             "`--precision bf16` (the widening kernel: bfloat16 weights, float32 products)"),
                            ("fp32", "`--precision fp32`" if native else "as users run it (`--precision fp32`, the default on this CPU)")]:
        sw = swift("fewstep", folder, taesd, 4, 512, 2, precision)
        rows.append((f"Whole image, 512x512, LCM 4 steps + TAESD decode, Likeness {what} (target: ratio <= 0.8, "
                     "under 25 s)",
                     f"Swift {sw['median']:.2f} s: ratio {sw['median'] / dt:.2f} of diffusers fp32, "
                     f"{sw['median'] / median(pt_bf16):.2f} of diffusers bf16 autocast; Swift's time: first step "
                     f"{sw['first_step_s']:.2f} s, steps 2-4 {sw['other_steps_s']:.2f} s, TAESD decode "
                     f"{sw['decode_s']:.2f} s (prompt encoding cached after the warm-up, as in the studio; uncached "
                     f"{sw['text_encode_s']:.2f} s; load {sw['load_s']:.1f} s, not in the image time)"))

    z = torch_randn((1, 4, 64, 64), 0)
    with torch.no_grad():
        pt_tiny = measure(5, lambda: tiny.decode(z).sample)
    sw_tiny = swift("taesd", taesd, 64, 5)
    sw_vae = swift("vae", folder, 64, 1)
    rows.append(("TAESD decode, 512x512 (64x64 latents), against the full VAE decode (target >= 20x faster)",
                 f"Swift TAESD {sw_tiny['median']:.3f} s (diffusers AutoencoderTiny {median(pt_tiny):.3f} s, ratio "
                 f"{sw_tiny['median'] / median(pt_tiny):.2f}); Swift full VAE {sw_vae['median']:.2f} s: "
                 f"{sw_vae['median'] / sw_tiny['median']:.0f}x faster"))
    r = swift("firstpreview", folder, taesd, 512, 2)
    rows.append(("First step preview of an SD-size job (512x512, LCM, tiny decoder previews)",
                 f"{r['median']:.2f} s from the job's start (of which the preview's TAESD decode "
                 f"{r['preview_decode_s']:.2f} s; a full VAE preview would add {sw_vae['median']:.1f} s)"))
    return [FEW_STEP_HEADING, "",
            f"Same machine, {threads} threads; the random SD-1.5 UNet has LCM-Dreamshaper's `time_cond_proj_dim` 256 and",
            "LCMScheduler's config; TAESD is diffusers' AutoencoderTiny with its defaults (random weights). diffusers",
            "runs LatentConsistencyModelPipeline with the same UNet and AutoencoderTiny as its VAE (float32, and",
            "under torch.autocast(\"cpu\", bfloat16)); Likeness loads the folder at `--precision bf16` (the UNet in",
            "bfloat16) and at fp32. Medians after one warm-up run.", "", "| what | result |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows] + [""]


DECODERS_BEGIN, DECODERS_END = "<!-- decoders: written by scripts/bench.py -->", "<!-- /decoders -->"


def swift_profiled(*args, env_extra: dict | None = None) -> tuple[dict, str]:
    """likeness-bench with LIKENESS_PROFILE=1: its JSON and the per-op lines it prints to stderr."""
    env = dict(os.environ, LIKENESS_PROFILE="1", **(env_extra or {}))
    out = subprocess.run([str(SWIFT), *map(str, args)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"likeness-bench {' '.join(map(str, args))} failed:\n{out.stderr}")
    ops = [l.strip() for l in out.stderr.splitlines() if l.strip() and not l.startswith("time per op")]
    return json.loads(out.stdout.strip().splitlines()[-1]), "; ".join(" ".join(l.split()[:3]) for l in ops[:4])


def bench_decoders(toy: Path, threads: int, repeats_sd: int) -> list:
    """The VAE decode at Toybox and SD-1.5 size and the TAESD decode at 512x512, against PyTorch
    (diffusers AutoencoderKL / AutoencoderTiny) and against the Swift engine's own im2col path
    (LIKENESS_WINOGRAD=0), with where the Swift time goes (LIKENESS_PROFILE=1, warm-up included).
    Returns the section's lines."""
    from diffusers import AutoencoderKL, AutoencoderTiny

    sd, taesd = BENCH / "sd15-vae-random", BENCH / "taesd-random"
    if not (sd / "vae" / "config.json").exists():
        torch.manual_seed(0)
        AutoencoderKL(**SD15_VAE).save_pretrained(sd / "vae")
    if not (taesd / "config.json").exists():
        torch.manual_seed(0)
        AutoencoderTiny().save_pretrained(taesd)
    rows, times = [], {}
    for key, what, cls, path, latent, reps, cmd in [
            ("toy", "VAE decode, Toybox (16x16 latents)", AutoencoderKL, toy / "vae", 16, 10, "vae"),
            ("sd", "VAE decode, SD-1.5 size, random weights (64x64 latents, 512x512 image)", AutoencoderKL, sd / "vae",
             64, repeats_sd, "vae"),
            ("tiny", "TAESD decode, random weights (64x64 latents, 512x512 image)", AutoencoderTiny, taesd, 64, 5,
             "taesd")]:
        model = cls.from_pretrained(path, torch_dtype=torch.float32).eval()
        z = torch_randn((1, model.config.latent_channels, latent, latent), 0)
        with torch.no_grad():
            pt = median(measure(reps, lambda: model.decode(z).sample))
        del model
        folder = path.parent if cmd == "vae" else path
        sw, ops = swift_profiled(cmd, folder, latent, reps)
        im2col, _ = swift_profiled(cmd, folder, latent, reps, env_extra={"LIKENESS_WINOGRAD": "0"})
        times[key] = sw["median"]
        rows.append(f"| {what} | {pt:.4f} | {sw['median']:.4f} | {sw['median'] / pt:.2f} | "
                    f"{im2col['median']:.4f} ({im2col['median'] / pt:.2f}) | {ops} |")
    return ["## VAE and TAESD decode (convolution kernels)", "",
            f"Produced by `python scripts/bench.py --only-decoders --threads {threads}` (also part of `make bench`) on "
            f"{datetime.date.today().isoformat()} ({cpu_description()}), {threads} threads. PyTorch runs diffusers' AutoencoderKL /",
            "AutoencoderTiny decode in float32; Swift float32, then the same binary with LIKENESS_WINOGRAD=0 (the",
            "im2col path for every convolution). Medians after one warm-up run. Per-op times are Swift's",
            "(LIKENESS_PROFILE=1, all runs with the warm-up).", "",
            "| what | PyTorch s | Swift s | Swift / PyTorch | Swift im2col s (/ PyTorch) | Swift's largest ops |",
            "| --- | ---: | ---: | ---: | ---: | --- |", *rows, "",
            f"TAESD against the full VAE decode at 512x512 (Swift, same run): {times['sd'] / times['tiny']:.1f}x faster "
            "(target >= 20x)."]


def write_decoders_section(lines: list):
    """The decoder section between its markers."""
    write_marked_section(DECODERS_BEGIN, DECODERS_END, lines)


def replace_section(doc: Path, heading: str, lines: list):
    """Puts `lines` (starting with `heading`) in place of that section of doc, or before the notes."""
    text = doc.read_text() if doc.exists() else ""
    block = "\n".join(lines).rstrip("\n") + "\n"
    marker = "<!-- notes: kept by scripts/bench.py -->"
    if heading in text:
        before, rest = text.split(heading, 1)
        # the next section, the notes or another section's marker comment (e.g. the single-file rows')
        ends = [i for i in (rest.find("\n## "), rest.find(marker), rest.find("\n<!--")) if i >= 0]
        after = rest[min(ends):].lstrip("\n") if ends else ""
        text = before + block + ("\n" + after if after else "")
    elif marker in text:
        before, after = text.split(marker, 1)
        text = before.rstrip("\n") + "\n\n" + block + "\n" + marker + after
    else:
        text = text.rstrip("\n") + "\n\n" + block
    doc.write_text(text)


def bench_studio(jobs: list, threads: int):
    """The studio itself (scripts/studio_bench.py): the real program in tmux, timed by its trace."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "studio_bench.py"), "--threads", str(threads)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
    if r.returncode != 0 or "error" in out:
        sys.stderr.write(r.stderr)
        jobs.append(("studio (scripts/studio_bench.py)", f"failed: {out.get('error', f'exit status {r.returncode}')}"))
        return
    busy, idle = out["key_to_frame_busy_ms"], out["key_to_frame_idle_ms"]
    jobs.append((f"studio: key to frame while a job runs ({busy['keys']} keys typed 30-50 ms apart, "
                 f"Toybox, {out['busy_job']['steps']} steps, {out['busy_job']['seeds']} seeds)",
                 f"p50 {busy['p50']:.1f} ms, p99 {busy['p99']:.1f} ms (idle: p50 {idle['p50']:.1f} ms, p99 {idle['p99']:.1f} ms)"))
    p = out["ctrl_g_to_first_preview_ms"]
    jobs.append((f"studio: Ctrl-G to first preview on screen (Toybox, {p['runs']} runs)",
                 f"median {p['median']:.0f} ms, max {p['max']:.0f} ms"))
    jobs.append(("studio: 4-seed compare / 4 one-seed runs (Toybox, 25 steps, Ctrl-G to final images on screen)",
                 f"{out['compare_4_seeds_s']:.2f} s / {out['four_one_seed_runs_s']:.2f} s = {out['compare_ratio']:.2f}"))
    bench_studio_live(jobs, out)


def bench_studio_live(jobs: list, out: dict):
    """Live mode (F3): the last key of a burst to the new draft on screen (scripts/studio_bench.py (d))."""
    live = out["live_key_to_image_ms"]
    jobs.append((f"studio: live mode key to new image (Toybox, default draft, {live['bursts']} bursts of 3 keys; target p50 <= 300 ms)",
                 f"p50 {live['p50']:.0f} ms, p99 {live['p99']:.0f} ms, max {live['max']:.0f} ms "
                 f"(load average {live['load_average_1min']:.1f} on this machine's cores)"))


SINGLE_FILE_MARKER = "<!-- single-file rows: scripts/bench.py bench_single_file -->"


DIFFUSERS_CHILD = r"""
import json, sys, time, os, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(int(sys.argv[4]))
from diffusers import StableDiffusionPipeline
from diffusers.utils import logging
logging.set_verbosity_error(); logging.disable_progress_bar()
mode, file, folder = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
if mode == "load":
    pipe = StableDiffusionPipeline.from_single_file(file, config=folder, local_files_only=True, torch_dtype=torch.float32,
                                                    safety_checker=None, requires_safety_checker=False)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    print(json.dumps({"load": time.perf_counter() - t, "peak_rss_bytes": int(hwm) * 1024}))
else:
    pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    merge, unmerge = [], []
    t = time.perf_counter()
    pipe.load_lora_weights(file)
    pipe.fuse_lora(lora_scale=1.0)
    first = time.perf_counter() - t
    for _ in range(int(sys.argv[5])):
        t = time.perf_counter(); pipe.unfuse_lora(); unmerge.append(time.perf_counter() - t)
        t = time.perf_counter(); pipe.fuse_lora(lora_scale=1.0); merge.append(time.perf_counter() - t)
    print(json.dumps({"first": first, "merge": merge, "unmerge": unmerge}))
"""


def make_lora_rank32(folder: Path, out: Path, rank=32):
    """A kohya LoRA of rank 32 (alpha 16) for the SD-1.5 folder: every attention projection,
    feed-forward, proj_in/proj_out of the UNet, and the text encoder's attention and MLP."""
    if out.exists():
        return
    from safetensors import safe_open
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(32)
    lora = {}
    for part, fname, prefix, ends in (
            ("unet", "diffusion_pytorch_model.safetensors", "lora_unet_",
             (".to_q", ".to_k", ".to_v", ".to_out.0", ".proj_in", ".proj_out", ".ff.net.0.proj", ".ff.net.2")),
            ("text_encoder", "model.safetensors", "lora_te_", ("q_proj", "k_proj", "v_proj", "out_proj", "mlp.fc1", "mlp.fc2"))):
        with safe_open(str(folder / part / fname), "pt") as f:
            for k in f.keys():
                m = k[:-len(".weight")] if k.endswith(".weight") else None
                if not m or not m.endswith(ends):
                    continue
                shape = f.get_slice(k).get_shape()
                m = "text_model." + m if part == "text_encoder" and not m.startswith("text_model.") else m
                name = prefix + m.replace(".", "_")
                lora[name + ".lora_down.weight"] = torch.randn(rank, *shape[1:], generator=g) * 0.01
                lora[name + ".lora_up.weight"] = torch.randn(shape[0], rank, *([1, 1] if len(shape) == 4 else []), generator=g) * 0.01
                lora[name + ".alpha"] = torch.tensor(rank / 2)
    save_file(lora, str(out))


def bench_single_file(threads: int) -> list:
    """Rows (what, PyTorch/diffusers, Likeness) for single-file loading and LoRA merging."""
    sys.path.insert(0, str(ROOT / "scripts" / "large"))
    import single_file_real as real  # noqa: E402  (the real-architecture writer)
    # The model of `make test-large` (written there when missing; ~13 GB, not kept twice).
    folder = real.write_model("sd15")
    file = real.OUT / "sd15-fp16.safetensors"
    BENCH.mkdir(parents=True, exist_ok=True)
    lora = BENCH / "lora-rank32-sd15.safetensors"
    make_lora_rank32(folder, lora)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    rows = []
    py = [sys.executable, "-c", DIFFUSERS_CHILD]
    # Each side loads twice (the first warms the page cache); the second is reported.
    for _ in range(2):
        d_rep = child_json(py + ["load", str(file), str(folder), str(threads)], env)
        s_rep = child_json([str(SWIFT), "load", str(file)], env)
    d_load, s_load = d_rep["load"], s_rep["median"]
    d_rss, s_rss = d_rep["peak_rss_bytes"] / 2 ** 20, s_rep["peak_rss_bytes"] / 2 ** 20
    size = file.stat().st_size / 2 ** 30
    rows.append((f"load an SD-1.5-size F16 single file ({size:.1f} GiB, random weights): time",
                 f"{d_load:.2f} s", f"{s_load:.2f} s", f"{s_load / d_load:.2f}"))
    rows.append(("  same: peak RSS of the loading process", f"{d_rss:.0f} MiB", f"{s_rss:.0f} MiB", f"{s_rss / d_rss:.2f}"))
    repeats = 3
    d = child_json(py + ["lora", str(lora), str(folder), str(threads), str(repeats)], env)
    s = child_json([str(SWIFT), "lora", str(file), str(lora), str(repeats)], env)
    mb = lora.stat().st_size / 2 ** 20
    rows.append((f"merge a rank-32 LoRA ({mb:.0f} MiB, {s['tensors']} tensors) into the loaded SD-1.5-size model",
                 f"{median(d['merge']):.2f} s (fuse_lora)", f"{s['median']:.2f} s", f"{s['median'] / median(d['merge']):.2f}"))
    rows.append(("  same: take it out again", f"{median(d['unmerge']):.2f} s (unfuse_lora)", f"{s['unmerge_median']:.2f} s",
                 f"{s['unmerge_median'] / median(d['unmerge']):.2f}"))
    rows.append(("  same: first merge, reading the LoRA file", f"{d['first']:.2f} s (load_lora_weights + fuse_lora)",
                 f"{s['first']:.2f} s", f"{s['first'] / d['first']:.2f}"))
    return rows


def single_file_section(rows: list, threads: int) -> list:
    return [SINGLE_FILE_MARKER, "", "## Single-file checkpoints and LoRA", "",
            f"Measured with `python scripts/bench.py --only-single-file --threads {threads}` (also part of `make bench`),",
            f"{datetime.date.today().isoformat()}, {threads} threads. Each load runs in a fresh process; peak RSS is that",
            "process's own VmHWM. diffusers loads with torch_dtype float32, as Likeness computes in F32; both",
            "hold ~4.1 GiB of F32 weights, and Likeness's RSS also counts the pages of the memory-mapped file it has",
            "read (file-backed, given back under memory pressure; the file stays mapped for LoRA switches).",
            "The LoRA rows: merge and unmerge are medians of 3 (Likeness rewrites only the touched tensors in place).", "",
            "| what | diffusers | Likeness | Likeness / diffusers |", "| --- | ---: | ---: | ---: |"] \
        + [f"| {w} | {a} | {b} | {r} |" for w, a, b, r in rows] + ["", SINGLE_FILE_MARKER]


def write_single_file_section(lines: list):
    doc = ROOT / "docs" / "BENCHMARKS.md"
    old = doc.read_text() if doc.exists() else ""
    parts = old.split(SINGLE_FILE_MARKER)
    body = "\n".join(lines)
    if len(parts) >= 3:
        new = parts[0] + body + parts[2]
    else:
        marker = "<!-- notes: kept by scripts/bench.py -->"
        new = old.replace(marker, body + "\n\n" + marker) if marker in old else old.rstrip("\n") + "\n\n" + body + "\n"
    doc.write_text(new)


PEER_BEGIN, PEER_END = "<!-- peer: written by scripts/bench.py bench_peer -->", "<!-- /peer -->"

SDCPP_CHILD = r"""
import json, sys, time
from stable_diffusion_cpp import StableDiffusion
file, wtype, threads, size, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t0 = time.perf_counter()
sd = StableDiffusion(model_path=file, wtype=wtype, n_threads=threads, verbose=False)
t1 = time.perf_counter()
marks, cpu, reported = [t1], [time.process_time()], []
def progress(step, total, seconds):
    if total == steps:  # sampling steps (loading reports its tensors through the same callback)
        marks.append(time.perf_counter()); cpu.append(time.process_time()); reported.append(seconds)
sd.generate_image(prompt="a red star on the beach, at the left", width=size, height=size, cfg_scale=5.0,
                  sample_method="euler", sample_steps=steps, seed=0, progress_callback=progress)
t2 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"load_s": t1 - t0, "generate_s": t2 - t1, "times": [b - a for a, b in zip(marks, marks[1:])],
                  "cpu_times": [b - a for a, b in zip(cpu, cpu[1:])],
                  "reported": reported, "peak_rss_bytes": int(hwm) * 1024}))
"""


def step_median(r: dict, key: str = "times") -> float:
    """Median step time (or CPU time, key "cpu_times"), leaving out the first step (it also holds
    the text encode and warm-up)."""
    times = r[key][1:] or r[key]
    return median(times)


def bench_peer(threads: int, size: int = 512, steps: int = 3) -> list:
    """stable-diffusion.cpp against Likeness on one SD-1.5-size F16 single file, a fresh process each.
    Returns Markdown lines."""
    try:
        import stable_diffusion_cpp  # noqa: F401
        version = __import__("importlib.metadata").metadata.version("stable-diffusion-cpp-python")
    except ImportError:
        raise SystemExit("stable-diffusion-cpp-python is missing: run `make bench-peer-deps` (make bench does)")
    sys.path.insert(0, str(ROOT / "scripts" / "large"))
    import single_file_real as real  # noqa: E402
    real.write_model("sd15")
    file = real.OUT / "sd15-fp16.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    peer = [("stable-diffusion.cpp", wtype, child_json([sys.executable, "-c", SDCPP_CHILD, file, wtype, threads, size, steps], env))
            for wtype in ["f32", "f16", "q8_0"]]
    runs = []
    for name, precision in [("Likeness", "fp32"), ("Likeness", "bf16")]:
        r = child_json([SWIFT, "peer", file, size, steps, precision], env)
        if r["precision"] != precision:
            print(f"note: the Likeness {precision} row ran as {r['precision']} (no bfloat16 kernel)", file=sys.stderr)
        runs.append((name, precision, r))
    runs += peer
    ours = {p: step_median(r) for n, p, r in runs if n == "Likeness"}
    same = {"f32": "fp32", "f16": "bf16", "fp32": "fp32", "bf16": "bf16"}
    lines = ["## The native peer: stable-diffusion.cpp", "",
             f"One {size}x{size} image from `{file.relative_to(ROOT)}` (SD-1.5 architecture, random weights, F16,",
             f"original layout), {steps} Euler steps with guidance 5 (two UNet passes a step), {threads} threads, a fresh process",
             f"per row, one after the other. stable-diffusion.cpp is stable-diffusion-cpp-python {version} built from",
             "source for this CPU (ggml's own kernels, default settings: no flash attention, weights read into memory),",
             "its `wtype` the weight type it converts the file to at load. Step: median of steps 2..N (wall time",
             "between step callbacks); step CPU: the process's CPU seconds (all threads) over the same steps, which",
             "a busy machine changes less than the wall time; generate: text encode, the steps and the VAE decode;",
             "peak RSS: the child's VmHWM. Likeness bf16 keeps fp32 activations and multiplies in bf16",
             "(AVX512-BF16); sd.cpp f16 multiplies f16 weights; each is compared with the other side's 16-bit row.", "",
             "| side | weights / compute | load s | step s | step CPU s | generate s | peak RSS GB | step / Likeness (wall, CPU) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ours_cpu = {p: step_median(r, "cpu_times") for n, p, r in runs if n == "Likeness"}
    for name, p, r in runs:
        wall, cpu = step_median(r), step_median(r, "cpu_times")
        rel = f"{wall / ours[same[p]]:.2f}, {cpu / ours_cpu[same[p]]:.2f}" if name != "Likeness" and p in same else "-"
        lines.append(f"| {name} | {p} | {r['load_s']:.1f} | {wall:.2f} | {cpu:.2f} | {r['generate_s']:.1f} | "
                     f"{r['peak_rss_bytes'] / 1e9:.2f} | {rel} |")
    lines += ["", f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.", ""]
    return lines


def bench_scaling(repeats: int = 2) -> list:
    """The SD-1.5-size UNet step (batch 2, 64x64 latents) on 1 and on 2 of the engine's threads, fp32
    and bf16, and PyTorch fp32 on 1 and 2 threads on the same step. Returns Markdown lines."""
    from diffusers import UNet2DConditionModel
    sys.path.insert(0, str(ROOT / "scripts" / "large"))
    import single_file_real as real  # noqa: E402
    folder = real.write_model("sd15")
    rows = []
    for precision in ["fp32", "bf16"]:
        r = {n: swift("unet", folder, 64, 2, repeats, precision, n) for n in (1, 2)}
        rows.append((f"Likeness {precision}", r[1]["median"], r[2]["median"],
                     f"{median(r[1]['cpu_times']):.2f} / {median(r[2]['cpu_times']):.2f}"))
    unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).eval()
    x, cond = torch_randn((2, 4, 64, 64), 0), torch_randn((2, 77, 768), 1)
    t = {}
    with torch.no_grad():
        for n in (1, 2):
            torch.set_num_threads(n)
            t[n] = median(measure(repeats, lambda: unet(x, 500, encoder_hidden_states=cond).sample))
    torch.set_num_threads(2)
    rows.append(("PyTorch fp32", t[1], t[2], "-"))
    lines = ["## Thread scaling", "",
             f"UNet step, SD-1.5 size (64x64 latents, batch 2, random weights), medians of {repeats} after a warm-up;",
             "Likeness's thread count set in the process (likeness-bench unet ... THREADS), PyTorch's by",
             "torch.set_num_threads. CPU s: the process's CPU seconds per step, all threads (the pool's spinning",
             "between ops included). On a machine busy with other work the 2-thread wall time cannot reach half:",
             "PyTorch's row is the reference for what this machine gave in the same run. Target: 2 threads >= 1.8x.", "",
             "| side | 1 thread s | 2 threads s | speed-up | CPU s, 1 / 2 threads |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {w} | {a:.2f} | {b:.2f} | {a / b:.2f}x | {c} |" for w, a, b, c in rows]
    lines += ["", f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.", ""]
    return lines


def bench_studio_sd_busy(threads: int) -> list:
    """The studio's key-to-frame latency while an SD-size 512x512 job runs (scripts/studio_bench.py
    --only sd-busy, the real program in tmux). Returns Markdown lines."""
    sys.path.insert(0, str(ROOT / "scripts" / "large"))
    import single_file_real as real  # noqa: E402
    file = real.OUT / "sd15-fp16.safetensors"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "studio_bench.py"), "--only", "sd-busy", "--model", str(file),
                        "--threads", str(threads)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
    head = ["## Studio under an SD-size job", "",
            "Key to frame in the real studio (scripts/studio_bench.py (e), `--only sd-busy`) on the SD-1.5-size F16",
            "single file while one 512x512 seed generates; 100 characters typed 30-50 ms apart. Target: p99 < 16 ms.", ""]
    if r.returncode != 0 or "error" in out:
        sys.stderr.write(r.stderr)
        return head + [f"failed: {out.get('error', f'exit status {r.returncode}')}", ""]
    b = out["key_to_frame_sd_busy_ms"]
    return head + [f"{b['keys']} keys: p50 {b['p50']:.1f} ms, p99 {b['p99']:.1f} ms, max {b['max']:.1f} ms "
                   f"(load average {b['load_average_1min']:.1f} on {os.cpu_count()} cores).", ""]


def write_peer_section(lines: list, cmd: str):
    """The peer and scaling sections between their markers in docs/BENCHMARKS.md (below the notes
    marker, so a full run keeps them), with the command and date."""
    body = write_marked_section(PEER_BEGIN, PEER_END,
                                [f"Produced by `{cmd}` on {datetime.date.today().isoformat()} ({cpu_description()}).", "", *lines])
    print("\n".join(body))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-sd", action="store_true", help="only the Toybox size")
    ap.add_argument("--repeats-sd", type=int, default=2)
    ap.add_argument("--model", default=str(ROOT / "Models" / "toybox"))
    ap.add_argument("--only-few-step", action="store_true",
                    help="only the few-step rows (LCM + TAESD), replacing just their section of docs/BENCHMARKS.md")
    ap.add_argument("--only-single-file", action="store_true", help="only the single-file and LoRA rows")
    ap.add_argument("--only-memory", action="store_true",
                    help="only the memory and load-time rows; updates their section of docs/BENCHMARKS.md")
    ap.add_argument("--only-decoders", action="store_true",
                    help="only the VAE/TAESD decode rows; updates their section of docs/BENCHMARKS.md")
    ap.add_argument("--only-precision", action="store_true",
                    help="only the compute-precision rows; updates their section of docs/BENCHMARKS.md")
    ap.add_argument("--only-peer", action="store_true",
                    help="only the native-peer (stable-diffusion.cpp) and thread-scaling rows; updates their section")
    ap.add_argument("--peer-size", type=int, default=512, help="image side of the native-peer rows")
    ap.add_argument("--peer-steps", type=int, default=3, help="sampling steps of the native-peer rows (>= 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    if not SWIFT.exists():
        raise SystemExit(f"{SWIFT} is missing: run `swift build -c release` (make bench does)")
    if args.only_few_step:
        section = bench_few_step(args.threads)
        section[2:2] = [f"Produced by `python scripts/bench.py --only-few-step` (also part of `make bench`) on {datetime.date.today().isoformat()} ({cpu_description()}).", ""]
        replace_section(ROOT / "docs" / "BENCHMARKS.md", FEW_STEP_HEADING, section)
        print("\n".join(section))
        return
    if args.only_decoders:
        section = bench_decoders(Path(args.model), args.threads, args.repeats_sd)
        write_decoders_section(section)
        print("\n".join(section))
        return
    if args.only_single_file:
        section = single_file_section(bench_single_file(args.threads), args.threads)
        write_single_file_section(section)
        print("\n".join(section))
        return
    if args.only_memory:
        write_memory_section(bench_memory(args.threads), f"python scripts/bench.py --only-memory --threads {args.threads}")
        return
    if args.only_peer or not (args.skip_sd or args.only_precision):
        cmd = (f"python scripts/bench.py --only-peer --threads {args.threads} --repeats-sd {args.repeats_sd} "
               f"--peer-size {args.peer_size} --peer-steps {args.peer_steps}") if args.only_peer else "make bench"
        lines = bench_peer(args.threads, args.peer_size, args.peer_steps)
        write_peer_section(lines, cmd)  # each part is kept as soon as it is measured
        lines += bench_scaling(args.repeats_sd)
        write_peer_section(lines, cmd)
        write_peer_section(lines + bench_studio_sd_busy(args.threads), cmd)
        if args.only_peer:
            return
    if args.only_precision or not args.skip_sd:
        sd = BENCH / "sd15-random"
        make_sd15(sd)
        write_precision_section(bench_precision(sd, args.threads, args.repeats_sd), args)
        if args.only_precision:
            return
        write_memory_section(bench_memory(args.threads), "make bench")

    rows: list = []
    n = 2048
    a, b = torch_randn((n, n), 1), torch_randn((n, n), 2)
    pt = measure(5, lambda: a @ b)
    sw = swift("sgemm", n, 5)
    peak_pt, peak_sw = 2 * n ** 3 / 1e9 / median(pt), 2 * n ** 3 / 1e9 / median(sw["times"])
    rows.append((f"sgemm {n}x{n}", 2 * n ** 3 / 1e9, median(pt), median(sw["times"])))

    toy = Path(args.model)
    if not (toy / "model_index.json").exists():
        raise SystemExit(f"{toy} is not a model folder")
    bench_folder("Toybox", toy, 16, 10, rows, whole_image=True)
    jobs: list = []
    bench_jobs("Toybox", toy, 0, 25, 25, jobs, encode=True)
    bench_studio(jobs, args.threads)
    if not args.skip_sd:
        sd = BENCH / "sd15-random"
        make_sd15(sd)
        bench_folder("SD-1.5 size, random weights", sd, 64, args.repeats_sd, rows, whole_image=False)
        bench_jobs("SD-1.5 size at 256x256, random weights", sd, 256, 2, 3, jobs, encode=False)
        r = swift("cancel", sd, 3, 3, 512)
        jobs.append((f"cancel latency, SD-1.5 size at 512x512 (3 cancels spread over a {r['step_s']:.1f} s step)",
                     f"median {1000 * r['median']:.0f} ms, max {1000 * r['max']:.0f} ms"))

    cpu = cpu_description()
    BENCH.mkdir(parents=True, exist_ok=True)
    result = {"date": datetime.date.today().isoformat(), "cpu": cpu, "threads": args.threads,
              "torch": torch.__version__, "sgemm_peak_gflops": {"torch": peak_pt, "swift": peak_sw},
              "rows": [dict(zip(["what", "gflop", "torch_s", "swift_s"], r)) for r in rows],
              "jobs": [dict(zip(["what", "result"], j)) for j in jobs]}
    (BENCH / "results.json").write_text(json.dumps(result, indent=2))

    lines = [
        "# Benchmarks", "",
        "Speed is measured as ratios against PyTorch (CPU) in the same run, on the same machine, weights,",
        "inputs and thread count. Produced by:", "",
        "```", f"make bench   # python scripts/bench.py --threads {args.threads}" + (" --skip-sd" if args.skip_sd else ""), "```", "",
        f"{result['date']}, {cpu}, {args.threads} threads, PyTorch {torch.__version__}. "
        f"Measured sgemm peak ({n}x{n}): PyTorch {peak_pt:.1f} GFLOP/s, Swift (OpenBLAS) {peak_sw:.1f} GFLOP/s.", "",
        "| what | GFLOP | PyTorch s | Swift s | Swift / PyTorch time | PyTorch GFLOP/s (% of peak) | Swift GFLOP/s (% of peak) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for what, gf, tp, ts in rows:
        if gf == gf:  # not NaN
            cols = f"{gf / tp:.1f} ({100 * gf / tp / peak_pt:.0f}%) | {gf / ts:.1f} ({100 * gf / ts / peak_sw:.0f}%)"
            gfs = f"{gf:.2f}"
        else:
            cols, gfs = "- | -", "-"
        lines.append(f"| {what} | {gfs} | {tp:.4f} | {ts:.4f} | {ts / tp:.2f} | {cols} |")
    lines += ["", "Times are medians after one warm-up run. A ratio below 1 means the Swift engine is faster.", "",
              "## Job layer (interactive use)", "",
              "Seeds batched against one-seed jobs, cancellation, and how soon a front end's thread runs while the",
              "engine works (its worker and pool threads run at nice 5). Same run as the table above. The studio",
              "rows drive the real `likeness studio` in tmux (scripts/studio_bench.py), timed by its own trace",
              "(LIKENESS_STUDIO_TRACE): a key is timed from when curses reads it to when its frame is on screen.", "",
              "| what | result |", "| --- | --- |"]
    lines += [f"| {what} | {result} |" for what, result in jobs]
    lines += [""]
    if not args.skip_sd:
        lines += bench_few_step(args.threads)
        lines += single_file_section(bench_single_file(args.threads), args.threads) + [""]
    doc = ROOT / "docs" / "BENCHMARKS.md"
    # Hand-written notes below the marker survive a new run.
    marker = "<!-- notes: kept by scripts/bench.py -->"
    old = doc.read_text() if doc.exists() else ""
    if marker in old:
        lines += [marker + old.split(marker, 1)[1].rstrip("\n"), ""]
    doc.write_text("\n".join(lines))
    print("\n".join(lines))
    if not args.skip_sd:
        write_decoders_section(bench_decoders(toy, args.threads, args.repeats_sd))


def write_precision_section(lines: list, args):
    """Puts the precision section into docs/BENCHMARKS.md between its markers (below the notes
    marker, so a full run keeps it), with the command and date."""
    cmd = "python scripts/bench.py --only-precision" if args.only_precision else "make bench"
    body = write_marked_section("<!-- precision: written by scripts/bench.py -->", "<!-- /precision -->",
                                [*lines[:1], "", f"Produced by `{cmd}` (threads {args.threads}, repeats "
                                 f"{args.repeats_sd}) on {datetime.date.today().isoformat()}.", "", *lines[2:]])
    print("\n".join(body))


if __name__ == "__main__":
    main()
