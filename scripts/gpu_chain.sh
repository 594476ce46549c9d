#!/bin/bash
# The Toybox training chain on a lent GPU machine (the `device` tool), as one command that fits a
# lease: render the scenes, take the text and vision towers from Models/toybox, continue the VAE
# from its committed snapshot, train the base UNet and the encoder stage, each in a share of a
# wall-clock budget (`--max-minutes`: the stage measures its speed and fits its steps, so its
# learning-rate schedule still decays), export, and pack the model into $OUT in pieces small
# enough to come back. ToyBench then runs here, on the CPU (docs/RESULTS.md).
#
# Here, once (PyPI is reachable here, not there; the device's Python is 3.12 and has torch,
# transformers, accelerate, safetensors and tokenizers, not diffusers):
#   scripts/gpu_chain.sh --prepare
# There (device tool), leaving a few minutes of the lease for the start and the transfers:
#   run  command: "bash scripts/gpu_chain.sh 5"   carry: [".whl"]   timeout_s: 600
# Back here:
#   cat FILES_AT/toybox-gpu.tar.part-* | tar -x -C runs/    # -> runs/toybox-gpu-model/
#   (cd Training && ../.venv/bin/python -m likeness_train evaluate --run-dir ../runs/t2 \
#        --model ../runs/toybox-gpu-model --models committed=../Models/toybox --ti-steps 150)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
    grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
    version=$(.venv/bin/python -c "import diffusers; print(diffusers.__version__)")
    .venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        "diffusers==$version" -d .whl
    ls -la .whl
    exit 0
fi

MINUTES=${1:-5}          # training budget, all stages together (rendering, loading and export add 2-4 min)
Q=()                     # QUICK=1: the --quick world and models, for a dry run of the script on a CPU
[ -n "${QUICK:-}" ] && Q=(--quick true)
PY=${PYTHON:-python3}
RUN=${RUN_DIR:-/tmp/toybox-gpu}
OUT=${OUT:-/tmp/toybox-gpu-out}
mkdir -p "$OUT" "$RUN"
log() { echo "[$(date +%T)] $*"; }
share() { "$PY" -c "print(round($MINUTES * $1, 2))"; }

if ! "$PY" -c "import diffusers" 2>/dev/null; then
    ls .whl/diffusers-*.whl > /dev/null 2>&1 || { echo "diffusers is missing and .whl/ has no wheel: run scripts/gpu_chain.sh --prepare here and carry .whl" >&2; exit 1; }
    "$PY" -m pip install --quiet --no-deps --no-index --target /tmp/likeness-pylib .whl/diffusers-*.whl
    export PYTHONPATH=/tmp/likeness-pylib${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error

cd Training
T=(-m likeness_train)
log "render-data"
"$PY" "${T[@]}" render-data --run-dir "$RUN" "${Q[@]}"
log "clip-from-model"
"$PY" "${T[@]}" clip-from-model --run-dir "$RUN" --model ../Models/toybox
log "vae"
"$PY" "${T[@]}" vae --run-dir "$RUN" "${Q[@]}" --channels 32,64,64 --init-from checkpoints/vae-c32 \
    --steps 20000 --batch-size 128 --lr 5e-4 --eval-every 1000 --max-minutes "$(share 0.2)"
log "base"
"$PY" "${T[@]}" base --run-dir "$RUN" "${Q[@]}" --steps 200000 --batch-size 256 --lr 5e-4 --ema-decay 0.9995 \
    --min-snr-gamma 5 --lr-schedule cosine --keep-every 2000 --max-minutes "$(share 0.6)"
log "encoder"
"$PY" "${T[@]}" encoder --run-dir "$RUN" "${Q[@]}" --steps 20000 --batch-size 96 --max-minutes "$(share 0.2)"
log "export"
"$PY" "${T[@]}" export --run-dir "$RUN" "${Q[@]}" --out "$RUN/toybox-gpu-model"
cd "$RUN"
for f in vae/metrics.json base/train_config.json encoder/train_config.json; do
    cp "$f" "$OUT/$(echo "$f" | tr / -)"
done
tar -c toybox-gpu-model | split -b 15M - "$OUT/toybox-gpu.tar.part-"
ls -la "$OUT"
log "done"
