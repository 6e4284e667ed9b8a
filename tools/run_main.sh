#!/usr/bin/env bash
# The main job end to end on a fresh machine: installs dependencies and the real MNIST digits,
# builds fernn, compiles FERNN-V1, trains it for a few minutes on Flowing MNIST, evaluates it
# (test MSE, length and velocity generalization) and prints where the figures are.
#
# REDUCED for a few CPU minutes: specs/fernn_v1.json with hidden 16 instead of 128, digits
# moving with velocities in [-1, 1]², 600 steps of 16 sequences. The paper's sizes are the
# spec's own: drop the --set and raise --steps for a full run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
tools/setup_data.sh

spec=specs/fernn_v1.json
reduced=(--set recurrence.channels=16)
out=out/main
rm -rf "$out"
mkdir -p "$out"
build/fernn check "$spec" "${reduced[@]}"
build/fernn compile "$spec" "${reduced[@]}" -o "$out/model"
build/fernn train "$spec" "${reduced[@]}" --model "$out/model" --out "$out/run" --steps 600 --batch 16 \
  --data-velocity-range 1 --val-every 200 --val-sequences 128
build/fernn eval --run "$out/run" --model "$out/model" --out "$out/eval" --sequences 128 --velocity-sequences 16
echo
echo "figures: $out/eval/length_generalization.png, $out/eval/velocity_generalization.png, $out/eval/strip.png"
echo "results: $out/eval/results.json; training metrics: $out/run/metrics.jsonl"
