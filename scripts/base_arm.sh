#!/bin/bash
# A base-stage arm from a committed base snapshot on runs/toybox's data, towers and VAE (render-data,
# clip-from-model and from-snapshots filled it), scored afterwards with scripts/background_rate.py.
#   scripts/base_arm.sh NAME [base flags...]      e.g. scripts/base_arm.sh s1 --steps 320 --short-caption-rate 0.5
# INIT (default checkpoints/base-v8b/unet) is the UNet it starts from; a run folder with a state.pt resumes.
set -e
name=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/Training"
export PYTHONPATH=. OMP_NUM_THREADS=${THREADS:-2}
R=../runs/$name
mkdir -p $R/vae
for p in data clip; do ln -sfn ../toybox/$p $R/$p; done
ln -sfn ../../toybox/vae/model $R/vae/model
../.venv/bin/python -m likeness_train base --run-dir $R --init-unet "${INIT:-checkpoints/base-v8b/unet}" --lr 1e-4 \
  --lr-schedule constant --final-decay 0.2 --save-every 50 "$@"
../.venv/bin/python -m likeness_train base-folder --run-dir $R --out $R/folder
