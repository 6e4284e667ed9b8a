#!/usr/bin/env bash
# The same model trained two ways on Flowing MNIST (real MNIST digits): `fernn train`, and a
# plain PyTorch loop around fernn.torch.Model (python/examples/train_flowing_mnist.py: Adam,
# clip_grad_norm_, MSE written in PyTorch, data exported to numpy by `fernn data sample`). Same
# spec, initialization (seed 0), learning rate, clipping, batch and steps; the training
# sequences differ (each draws its own). Both validation curves go on one figure
# (tools/plot_training.py), and both final models are scored on the same exported validation
# sequences.
#   tools/python_loop_vs_train.sh [OUT]      (default out/python_loop; ~5 CPU minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/python_loop}
spec=specs/fernn_v1.json
sets=(--set recurrence.channels=16)
steps=200 batch=16 every=20
rm -rf "$out"
mkdir -p "$out"
build/fernn data sample --split train --count $((steps * batch)) --frames 20 --size 28 \
  --data-velocity-range 1 --seed 1 --out "$out/train.npy"
build/fernn data sample --split val --count 128 --frames 20 --size 28 --data-velocity-range 1 \
  --seed 2 --out "$out/val.npy"
build/fernn train "$spec" "${sets[@]}" --out "$out/fernn_train" --steps $steps --batch $batch \
  --lr 1e-3 --clip 1 --seed 0 --data-velocity-range 1 --val-every $every --val-sequences 128 \
  --threads 2
/usr/bin/python3 python/examples/train_flowing_mnist.py --spec "$spec" --set recurrence.channels=16 \
  --train "$out/train.npy" --val "$out/val.npy" --steps $steps --batch $batch --lr 1e-3 --clip 1 \
  --seed 0 --val-every $every --threads 2 --out "$out/torch_loop"
/usr/bin/python3 tools/plot_training.py "$out" "$out/fernn_train/metrics.jsonl" \
  "$out/torch_loop/metrics.jsonl" --labels "fernn train" "PyTorch loop + fernn.torch"
# Both final models on the same 128 validation sequences.
/usr/bin/python3 - "$out" <<'PY'
import json, sys
import numpy as np
sys.path.insert(0, "python")
import fernn
out = sys.argv[1]
val = np.load(f"{out}/val.npy")
result = {}
for name, ckpt in (("fernn_train", f"{out}/fernn_train/last.safetensors"),
                   ("torch_loop", f"{out}/torch_loop/last.safetensors")):
    m = fernn.compile("specs/fernn_v1.json", {"recurrence.channels": 16})
    m.load(ckpt)
    pred = np.concatenate([m.predict(val[i:i + 16, :10], 10) for i in range(0, len(val), 16)])
    first = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl") if "val_mse" in l]
    steps = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl") if '"loss"' in l]
    result[name] = {"val_mse_start": first[0]["val_mse"], "val_mse_end": first[-1]["val_mse"],
                    "same_val_set_mse_end": float(np.mean((pred - val[:, 10:20]) ** 2)),
                    "median_step_ms": float(np.median([s["step_ms"] for s in steps[5:]]))}
json.dump(result, open(f"{out}/summary.json", "w"), indent=1)
print(json.dumps(result, indent=1))
PY
