#!/usr/bin/env bash
# Reduced-scale replication of the paper's Flowing MNIST comparison on a CPU (docs/REPLICATION.md):
# each model trains with identical settings and data, is evaluated on the same test sequences,
# and all are drawn on one figure.
#   tools/replicate.sh [OUT]   (environment: MODELS, HIDDEN, STEPS, BATCH)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/replicate_common.sh
out="${1:-out/replication}"
models="${MODELS:-grnn fernn_v1 fernn_v2}"
hidden="${HIDDEN:-16}"
steps="${STEPS:-1500}"
batch="${BATCH:-16}"
mkdir -p "$out"
evals=()
for m in $models; do
  train_or_resume "$out/$m" "$steps" "specs/$m.json" --set "recurrence.channels=$hidden" \
    --batch "$batch" --data-velocity-range 1 --val-every 250 --val-sequences 256 --seed 0
  build/fernn eval --run "$out/$m" --out "$out/$m/eval" --sequences 256 --velocity-sequences 32 --no-plots
  evals+=("$out/$m/eval")
done
build/fernn plot "${evals[@]}" --out "$out/figures" --labels $models
