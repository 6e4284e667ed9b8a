#!/usr/bin/env bash
# Reduced-scale classification comparison on a CPU (docs/REPLICATION.md, second part): G-RNN,
# G-RNN+ and FERNN-V1 classifiers (specs/digits_*.json: the paper's KTH classifier scaled to
# 28×28 digits) trained on Flowing MNIST classification (one digit per sequence, moving with
# velocities in [-1, 1]²), same data and steps, evaluated on test data moving with velocity
# ranges 0..3, drawn on one figure.
#   tools/replicate_classes.sh [OUT]   (environment: MODELS, STEPS, BATCH, LR)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/replicate_common.sh
out="${1:-out/replication_classes}"
models="${MODELS:-digits_grnn digits_grnn_plus digits_fernn_v1}"
steps="${STEPS:-1500}"
batch="${BATCH:-32}"
lr="${LR:-3e-3}"  # one rate for all three at this reduced scale (the reference: 3e-4, G-RNN+ 1e-4)
mkdir -p "$out"
evals=()
for m in $models; do
  train_or_resume "$out/$m" "$steps" "specs/$m.json" --batch "$batch" --lr "$lr" \
    --data-velocity-range 1 --val-every 250 --val-sequences 512 --seed 0
  build/fernn eval --run "$out/$m" --out "$out/$m/eval" --sequences 1000 --velocity-max 3 --no-plots
  evals+=("$out/$m/eval")
done
build/fernn plot "${evals[@]}" --out "$out/figures" --labels $models
