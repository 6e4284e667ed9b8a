#!/usr/bin/env bash
# The main job end to end: installs dependencies, builds fernn, checks and compiles
# specs/fernn_v1.json (the paper's FERNN-V1), initializes it and predicts 10 frames after a
# generated 10-frame sequence. (Training on real digits comes with the training runtime.)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh

spec=specs/fernn_v1.json
out=out/main
mkdir -p "$out"
build/fernn check "$spec"
build/fernn compile "$spec" -o "$out/model"
build/fernn init "$spec" --seed 0 --out "$out/init.safetensors"

# A demo input: 4 sequences of a 6x6 square moving one pixel right and one down per frame,
# wrapping around the 28x28 frame.
/usr/bin/python3 - "$out/sequence.npy" <<'PY'
import sys
import numpy as np
x = np.zeros((4, 10, 1, 28, 28), dtype=np.float32)
for b in range(4):
    for t in range(10):
        for dy in range(6):
            for dx in range(6):
                x[b, t, 0, (3 * b + t + dy) % 28, (5 * b + t + dx) % 28] = 1.0
np.save(sys.argv[1], x)
PY

build/fernn predict "$spec" --model "$out/model" --checkpoint "$out/init.safetensors" \
  --input "$out/sequence.npy" --output "$out/prediction.npy"
build/fernn encode "$spec" --model "$out/model" --checkpoint "$out/init.safetensors" \
  --input "$out/sequence.npy" --output "$out/hidden.npy"
echo "results in $out/: model/ (library + manifest), prediction.npy, hidden.npy"
