#!/usr/bin/env bash
# ToyBench ablations of the encoder stage (docs/RESULTS.md). Every ablation trains the encoder
# stage from the same base for STEPS steps of BATCH images, next to a reference run of the full
# method with the same schedule, exports a model folder and scores it with the probes of the main
# table (IMAGES images per prompt).
#   scripts/toybench_ablations.sh [STEPS] [NAME ...]      (default 250 steps, all rows)
#   BATCH=32 IMAGES=1 by default; set them in the environment to change the schedule.
#   RUN (relative to Training/, default ../runs/toybox) is the run whose base and data are used.
set -euo pipefail
cd "$(dirname "$0")/../Training"
PY=${PYTHON:-../.venv/bin/python}
RUN=${RUN:-../runs/toybox}
STEPS=${1:-250}
BATCH=${BATCH:-32}
IMAGES=${IMAGES:-1}
shift || true
declare -A FLAGS=(
  [full]=""
  [no_caption_scheme]="--caption-scheme false"
  [no_cross_reference]="--cross-reference false"
  [no_dropping]="--drop-rate 0"
  [frozen_base]="--tune-base false"
  [no_identity_loss]="--id-loss false"
  [hidden_state]="--injection hidden_state"
  [k1]="--num-tokens 1"
  [full_seed1]="--seed 1"
)
ORDER=(full no_cross_reference frozen_base no_caption_scheme no_identity_loss no_dropping hidden_state k1)
[ $# -gt 0 ] && ORDER=("$@")
for row in "${ORDER[@]}"; do
  name="abl${STEPS}x${BATCH}_${row}"
  if [ ! -f "$RUN/toybench-$name/toybench.json" ]; then
    echo "== $name: ${FLAGS[$row]} ($(date +%T))"
    $PY -m likeness_train encoder --run-dir "$RUN" --out-name "$name" --steps "$STEPS" --batch-size "$BATCH" ${FLAGS[$row]}
    $PY -m likeness_train export --run-dir "$RUN" --encoder-name "$name" --out "$RUN/models/$name"
    $PY -m likeness_train evaluate --run-dir "$RUN" --oracle false --likeness false --vae-ceiling false \
      --images-per-prompt "$IMAGES" \
      --models "$row=$RUN/models/$name" --out "$RUN/toybench-$name"
  fi
done
echo "== done ($(date +%T))"
