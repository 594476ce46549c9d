"""The studio's latency, measured on the real program: `.build/release/likeness studio` on
Models/toybox in half-block mode, 120x40, in a private tmux server (tmux -L likeness-bench) with
temporary XDG folders, timed by the studio's own trace (LIKENESS_STUDIO_TRACE: key, frame, preview,
finished events with monotonic nanosecond timestamps, written when it exits).

  (a) Ctrl-G to the first preview on screen (one seed, several runs): median and max.
  (b) key to frame: characters typed into the prompt with tmux send-keys, 30-50 ms apart, while a
      long job runs (400 steps, 2 seeds), and the same typing with no job as the reference; each
      key is paired with the first frame after it: p50, p99, max.
  (c) a 4-seed compare against 4 one-seed runs: Ctrl-G to the final images on screen.
  (d) live mode (F3) key to new image: bursts of 3 characters 30-50 ms apart, then a pause; each
      burst's last key is paired with the first live draft's final image on screen after it
      (the studio's default draft, 25-step full settings): p50, p99, max.
  (e) key to frame while an SD-size job runs (--only sd-busy --model FILE): the studio opened on an
      SD-1.5-size model, one 512x512 seed generating; characters typed as in (b) once its first
      step is on screen, each paired with its first frame: p50, p99, max.

Builds nothing (`swift build -c release --product likeness` first). Prints one JSON object on
the last line.

    python3 scripts/studio_bench.py [--keys 100] [--runs 5] [--threads N] [--bursts 30] [--only live]
    python3 scripts/studio_bench.py --only sd-busy --model Tests/Fixtures/generated/large/sd15-fp16.safetensors
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = ROOT / ".build" / "release" / "likeness"
SOCKET = "likeness-bench"
SESSION = "studio"
PROMPT = "a small yellow circle in the snow"


class BenchError(Exception):
    pass


def tmux(*args: str, check: bool = True) -> str:
    r = subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise BenchError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def kill_server() -> None:
    try:
        subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", "kill-server"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        pass


def screen() -> str:
    return tmux("capture-pane", "-t", SESSION, "-p", check=False)


def wait_until(what: str, test, timeout: float, interval: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = test()
        if v:
            return v
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}; screen:\n{screen()}")


def wait_text(needle: str, timeout: float = 60) -> str:
    return wait_until(f'"{needle}"', lambda: (s := screen()) and needle in s and s, timeout)


def wait_regex(pattern: str, timeout: float = 60) -> str:
    return wait_until(f"/{pattern}/", lambda: (s := screen()) and re.search(pattern, s) and s, timeout)


def keys(*k: str) -> None:
    tmux("send-keys", "-t", SESSION, *k)


def text(t: str) -> None:
    tmux("send-keys", "-t", SESSION, "-l", t)


class Studio:
    """One run of the studio with a given session (steps, seeds); the trace is read after it exits."""

    def __init__(self, tmp: Path, name: str, steps: int, seeds: int, threads: int | None, sampler: str = "euler-a",
                 model: str = "Models/toybox"):
        self.tmp, self.name = tmp, name
        self.trace = tmp / f"{name}.trace"
        self.pidfile = tmp / f"{name}.pid"
        config = tmp / "config" / "likeness"
        config.mkdir(parents=True, exist_ok=True)
        session = {"prompt": PROMPT, "negative": "", "focus": "prompt", "selectedObject": 0, "version": 1,
                   "settings": {"steps": steps, "compareCount": seeds, "seed": 5, "sampler": sampler}}
        (config / "session.json").write_text(json.dumps(session))
        q = shlex.quote
        inner = (f"echo $$ > {q(str(self.pidfile))}; exec {q(str(EXE))} studio --model {q(model)} --preview halfblock"
                 + (f" --threads {threads}" if threads else ""))
        env = (f"XDG_DATA_HOME={q(str(tmp / 'data'))} XDG_CONFIG_HOME={q(str(tmp / 'config'))} "
               f"LIKENESS_STUDIO_TRACE={q(str(self.trace))}")
        cmd = f"cd {q(str(ROOT))} && {env} sh -c {q(inner)}; echo STUDIO-EXIT=$?; sleep 60"
        kill_server()
        # A server that was just killed can still hold the socket for a moment: try again briefly.
        for attempt in range(20):
            try:
                tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "-e", "TERM=xterm-256color",
                     f"sh -c {q(cmd)}")
                break
            except BenchError:
                if attempt == 19:
                    raise
                time.sleep(0.25)

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def outputs(self) -> int:
        d = self.tmp / "data" / "likeness" / "outputs"
        return sum(1 for _ in d.rglob("*.png")) if d.exists() else 0

    def quit(self) -> list[tuple]:
        """Cancels whatever runs, quits with Ctrl-Q, waits for the exit and reads the trace."""
        keys("Escape")
        time.sleep(0.3)
        keys("C-q")
        try:
            wait_text("STUDIO-EXIT=", timeout=10)
        except BenchError:
            keys("y")  # a confirmation, if a job was still running
            wait_text("STUDIO-EXIT=", timeout=10)
        exit_line = re.search(r"STUDIO-EXIT=(\d+)", screen())
        if exit_line and exit_line.group(1) != "0":
            raise BenchError(f"the studio exited with status {exit_line.group(1)}")
        wait_until(f"the trace {self.trace}", self.trace.exists, timeout=5)
        return read_trace(self.trace)

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, 15)
            except OSError:
                pass


def read_trace(path: Path) -> list[tuple]:
    events = []
    for line in path.read_text().splitlines():
        parts = line.split(" ")
        kind, ns = parts[0], int(parts[1])
        events.append((kind, ns, parts[2] if len(parts) > 2 else None))
    return events


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def key_to_frame(events: list[tuple], key_times: list[int]) -> list[float]:
    """For each key (its read time): ms to the first frame on screen at or after it."""
    frames = [ns for kind, ns, _ in events if kind == "frame"]
    out = []
    fi = 0
    for ns in sorted(key_times):
        while fi < len(frames) and frames[fi] < ns:
            fi += 1
        if fi == len(frames):
            raise BenchError("a key with no frame after it in the trace")
        out.append((frames[fi] - ns) / 1e6)
    return out


def typed(events: list[tuple], start: int, end: int) -> list[int]:
    """Read times of the typed characters (one-character names, or a space) in [start, end)."""
    return [ns for kind, ns, name in events
            if kind == "key" and start <= ns < end and name is not None and (len(name) == 1 or name == "U+0020")]


def runs_from(events: list[tuple]) -> list[dict]:
    """Each Ctrl-G with its first preview and its finished event (ms after the key)."""
    runs = []
    for i, (kind, ns, name) in enumerate(events):
        if kind == "key" and name == "Ctrl-G":
            r = {"key": ns, "preview_ms": None, "finished_ms": None}
            for kind2, ns2, _ in events[i + 1:]:
                if kind2 == "key" and _ == "Ctrl-G":
                    break
                if kind2 == "preview" and r["preview_ms"] is None:
                    r["preview_ms"] = (ns2 - ns) / 1e6
                if kind2 == "finished":
                    r["finished_ms"] = (ns2 - ns) / 1e6
                    break
            runs.append(r)
    return runs


def type_keys(n: int, rng: random.Random) -> None:
    words = "bright snow circle yellow small soft light warm ".replace(" ", "_")
    for i in range(n):
        c = words[i % len(words)]
        text(" " if c == "_" else c)
        time.sleep(rng.uniform(0.030, 0.050))


def generate(st: Studio, seeds: int, timeout: float) -> None:
    """Ctrl-G, then waits until the run's images are saved (the outputs folder grows by `seeds`)."""
    before = st.outputs()
    keys("C-g")
    wait_until(f"{seeds} new images in the outputs folder", lambda: st.outputs() >= before + seeds, timeout)
    time.sleep(0.2)


def bench(tmp: Path, n_keys: int, n_runs: int, threads: int | None) -> dict:
    rng = random.Random(8)
    result: dict = {}

    # One seed, 25 steps: Ctrl-G to the first preview, and the one-seed runs of (c).
    st = Studio(tmp, "one-seed", steps=25, seeds=1, threads=threads)
    try:
        wait_text("Objects (12)", timeout=300)
        wait_text(PROMPT, timeout=30)
        time.sleep(0.5)
        for _ in range(max(n_runs, 4)):
            generate(st, 1, timeout=120)
        events = st.quit()
    finally:
        st.stop()
    one = runs_from(events)
    if len(one) < max(n_runs, 4) or any(r["preview_ms"] is None or r["finished_ms"] is None for r in one):
        raise BenchError(f"one-seed runs without a preview or a finish in the trace: {one}")
    previews = [r["preview_ms"] for r in one]
    result["ctrl_g_to_first_preview_ms"] = {"runs": len(previews), "median": round(median(previews), 1),
                                            "max": round(max(previews), 1), "all": [round(x, 1) for x in previews]}
    one_seed_total = sum(r["finished_ms"] for r in one[:4]) / 1000

    # Four seeds, 25 steps: the compare.
    st = Studio(tmp, "four-seeds", steps=25, seeds=4, threads=threads)
    try:
        wait_text("Objects (12)", timeout=120)
        time.sleep(0.5)
        for _ in range(3):
            generate(st, 4, timeout=300)
        events = st.quit()
    finally:
        st.stop()
    four = runs_from(events)
    if len(four) < 3 or any(r["finished_ms"] is None for r in four):
        raise BenchError(f"4-seed runs without a finish in the trace: {four}")
    four_s = median([r["finished_ms"] for r in four]) / 1000
    result["compare_4_seeds_s"] = round(four_s, 3)
    result["four_one_seed_runs_s"] = round(one_seed_total, 3)
    result["compare_ratio"] = round(four_s / one_seed_total, 3)

    # Typing: idle first, then while a 400-step, 2-seed job runs.
    st = Studio(tmp, "typing", steps=400, seeds=2, threads=threads)
    try:
        wait_text("Objects (12)", timeout=120)
        wait_text(PROMPT, timeout=30)
        keys("C-e")
        time.sleep(0.5)
        type_keys(n_keys, rng)
        time.sleep(0.3)
        keys("C-e")
        keys("C-u")
        text(PROMPT)
        wait_text(PROMPT, timeout=10)
        keys("C-g")
        wait_regex(r"step ([2-9]|[1-9][0-9]+)/400 ·", timeout=60)
        type_while_the_job_runs(n_keys, rng, 400)
        events = st.quit()
    finally:
        st.stop()
    g = [the_ctrl_g(events, "the typing trace")]
    previews = [ns for kind, ns, _ in events if kind == "preview"]
    if not previews:
        raise BenchError("no preview in the typing trace")
    first_preview, last_preview = min(p for p in previews if p > g[0]), max(previews)
    # Before Ctrl-G: the idle typing, then the prompt put back (its characters come after; not counted).
    idle = key_to_frame(events, typed(events, 0, g[0])[:n_keys])
    busy = key_to_frame(events, typed(events, first_preview, last_preview))
    if len(idle) != n_keys:
        raise BenchError(f"{len(idle)} of {n_keys} idle keys in the trace")
    if len(busy) < n_keys * 0.9:
        raise BenchError(f"only {len(busy)} of {n_keys} keys fell inside the job (first to last preview)")
    result["key_to_frame_busy_ms"] = {"keys": len(busy), "p50": round(percentile(busy, 50), 2),
                                      "p99": round(percentile(busy, 99), 2), "max": round(max(busy), 2)}
    result["key_to_frame_idle_ms"] = {"keys": len(idle), "p50": round(percentile(idle, 50), 2),
                                      "p99": round(percentile(idle, 99), 2), "max": round(max(idle), 2)}
    result["busy_job"] = {"steps": 400, "seeds": 2, "previews": sum(1 for p in previews if p >= first_preview)}
    return result


def bench_live(tmp: Path, bursts: int, threads: int | None) -> dict:
    """(d): live mode's key to new image on screen."""
    rng = random.Random(9)
    st = Studio(tmp, "live", steps=25, seeds=1, threads=threads)
    try:
        wait_text("Objects (12)", timeout=300)
        wait_text(PROMPT, timeout=30)
        keys("C-e")
        time.sleep(0.5)
        keys("F3")
        wait_text("live: draft in", timeout=60)
        time.sleep(0.5)
        words = "bright snow circle yellow small soft light warm ".replace(" ", "_")
        k = 0
        for _ in range(bursts):
            for _ in range(3):
                c = words[k % len(words)]
                k += 1
                text(" " if c == "_" else c)
                time.sleep(rng.uniform(0.030, 0.050))
            time.sleep(1.2)
        events = st.quit()
    finally:
        st.stop()
    f3 = [ns for kind, ns, name in events if kind == "key" and name == "F3"]
    if not f3:
        raise BenchError("no F3 in the live trace")
    keys_ns = typed(events, f3[0], 1 << 63)
    finished = [ns for kind, ns, _ in events if kind == "finished" and ns > f3[0]]
    lasts = [ns for i, ns in enumerate(keys_ns) if i % 3 == 2]
    out, missing = [], 0
    for i, ns in enumerate(lasts):
        nxt = keys_ns[3 * (i + 1)] if 3 * (i + 1) < len(keys_ns) else 1 << 63
        after = [f for f in finished if ns <= f < nxt]
        if after:
            out.append((after[0] - ns) / 1e6)
        else:
            missing += 1
    if len(out) < bursts * 0.9:
        raise BenchError(f"only {len(out)} of {bursts} bursts got a new image before the next burst")
    return {"bursts": len(out), "missing": missing, "p50": round(percentile(out, 50), 1),
            "p99": round(percentile(out, 99), 1), "max": round(max(out), 1),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def type_while_the_job_runs(n_keys: int, rng: random.Random, steps: int):
    """Types N_KEYS keys, then checks the STEPS-step job is still running (its step counter on screen)."""
    type_keys(n_keys, rng)
    still = screen()
    if f"/{steps} ·" not in still or "done ·" in still:
        raise BenchError(f"the job ended before the typing did; screen:\n{still}")


def the_ctrl_g(events: list, where: str) -> int:
    """The time (ns) of the one Ctrl-G in a studio trace."""
    g = [ns for kind, ns, name in events if kind == "key" and name == "Ctrl-G"]
    if len(g) != 1:
        raise BenchError(f"expected one Ctrl-G in {where}, found {len(g)}")
    return g[0]


def bench_sd_busy(tmp: Path, n_keys: int, threads: int | None, model: str, steps: int = 20) -> dict:
    """(e): key to frame while a 512x512 job on an SD-size model runs (the UI thread against the
    engine's threads for the cores and memory bandwidth)."""
    rng = random.Random(10)
    st = Studio(tmp, "sd-typing", steps=steps, seeds=1, threads=threads, sampler="euler", model=model)
    try:
        wait_text(PROMPT, timeout=300)
        keys("C-e")
        time.sleep(0.5)
        keys("C-g")
        wait_regex(rf"step [1-9][0-9]*/{steps} ·", timeout=600)
        type_while_the_job_runs(n_keys, rng, steps)
        events = st.quit()
    finally:
        st.stop()
    g = [the_ctrl_g(events, "the trace")]
    busy = key_to_frame(events, typed(events, g[0], 1 << 63)[:n_keys])
    if len(busy) != n_keys:
        raise BenchError(f"{len(busy)} of {n_keys} keys typed during the job are in the trace")
    return {"keys": len(busy), "p50": round(percentile(busy, 50), 2), "p99": round(percentile(busy, 99), 2),
            "max": round(max(busy), 2), "model": Path(model).name, "steps": steps,
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=100, help="characters typed, idle and during the job")
    ap.add_argument("--runs", type=int, default=5, help="one-seed runs (Ctrl-G to first preview)")
    ap.add_argument("--threads", type=int, default=None, help="the studio's --threads")
    ap.add_argument("--bursts", type=int, default=30, help="live mode: bursts of 3 keys")
    ap.add_argument("--only", choices=["all", "live", "sd-busy"], default="all",
                    help="live: only (d); sd-busy: only (e), on --model")
    ap.add_argument("--model", default=None, help="(e): an SD-size model (single file or folder)")
    args = ap.parse_args()
    if not EXE.exists():
        print(f"studio_bench: {EXE} is missing; build it with `swift build -c release --product likeness`", file=sys.stderr)
        return 2
    if shutil.which("tmux") is None:
        print("studio_bench: tmux is not installed (apt-get install -y tmux)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="likeness-studio-bench-"))
    try:
        if args.only == "sd-busy":
            if not args.model:
                raise BenchError("--only sd-busy needs --model (an SD-size model)")
            result = {"key_to_frame_sd_busy_ms": bench_sd_busy(tmp, args.keys, args.threads, args.model)}
        else:
            result = {} if args.only == "live" else bench(tmp, args.keys, args.runs, args.threads)
            result["live_key_to_image_ms"] = bench_live(tmp, args.bursts, args.threads)
    except (BenchError, subprocess.TimeoutExpired) as e:
        print(f"studio_bench: {e}", file=sys.stderr)
        print(json.dumps({"error": str(e).splitlines()[0]}))
        return 1
    finally:
        kill_server()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
