#!/usr/bin/env bash
# Reduced-scale replication of the paper's Rotating MNIST comparison on a CPU
# (docs/REPLICATION.md): G-RNN and FERNNs with two velocity sets, C_N-steerable, trained with
# identical settings on digits turning at a narrow set of angular velocities, then tested on
# angular velocities outside it and over 70 predicted frames, all on one figure.
#   tools/replicate_rotation.sh [OUT]
#   (environment: N, FIELDS, STEPS, BATCH, FRAMES, TRAIN_OMEGA, TEST_OMEGA)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/replicate_common.sh
out="${1:-out/replication_rotation}"
n="${N:-12}"                       # orientations: velocities are multiples of 360/N
fields="${FIELDS:-2}"              # hidden fields of N orientation channels
steps="${STEPS:-800}"
batch="${BATCH:-16}"
frames="${FRAMES:-10}"             # input frames = predicted frames (the paper: 10)
train_omega="${TRAIN_OMEGA:--30 0 30}"
test_omega="${TEST_OMEGA:--90 -75 -60 -45 -30 -15 0 15 30 45 60 75 90}"
unit=$((360 / n))
declare -A velocities=(
  [grnn]='[0]'
  [fernn_v1r]="{\"step\": $unit, \"range\": 1}"
  [fernn_v2r]="{\"step\": $unit, \"range\": 2}"
)
models="grnn fernn_v1r fernn_v2r"
mkdir -p "$out"
evals=()
for m in $models; do
  # shellcheck disable=SC2086  # the angular velocities are separate arguments
  train_or_resume "$out/$m" "$steps" specs/rotating_fernn.json --set "name=rot_$m" \
    --set "flow.orientations=$n" --set "flow.velocities=${velocities[$m]}" \
    --set "recurrence.channels=$fields" \
    --set "sequence.input_frames=$frames" --set "sequence.output_frames=$frames" \
    --batch "$batch" --lr 1e-3 --data-angular-velocities $train_omega \
    --val-every 200 --val-sequences 256 --seed 0
  # shellcheck disable=SC2086
  build/fernn eval --run "$out/$m" --out "$out/$m/eval" --sequences 128 --velocity-sequences 32 \
    --test-angular-velocities $test_omega --no-plots
  evals+=("$out/$m/eval")
done
build/fernn plot "${evals[@]}" --out "$out/figures" --labels $models
