#!/usr/bin/env bash
# The GPU check of the CUDA pipelines, in two halves: prepared here, run on a lent GPU machine.
#
#   bash tools/gpu_check.sh prepare   here, after the build: builds fernn-run (no Halide or LLVM
#                                     needed where it runs), compiles the models for the CPU and
#                                     CUDA into .gpu/ (git-ignored; the CPU part for any x86-64
#                                     with AVX2) and copies the digits there.
#   bash tools/gpu_check.sh run       on the GPU machine (the device tool's `run`, carry [".gpu"]):
#                                     1. CPU vs CUDA: predictions (logits), hidden states, loss
#                                        gradients of a tiny model, FERNN-V1 (hidden 32) and a tiny
#                                        two-layer BatchNorm classifier, relative error <= 1e-4 each;
#                                     2. trains FERNN-V1 (hidden 32) 300 steps on the digits on the
#                                        GPU; the validation MSE must fall;
#                                     2b. NCCL on one GPU: 20 steps with the gradients averaged
#                                        by NCCL on the device equal 20 steps without (1e-6);
#                                     3. fernn against our PyTorch model on the GPU, alternating,
#                                        at the paper's shapes: hidden 128, batch 128, |V| = 1, 9, 25;
#                                     3b. Winograd on the GPU: FERNN-V1 hidden 128, every 3×3 stage
#                                        in F(4×4) (`fernn compile --algorithm winograd4`) against
#                                        the direct schedules, training step; its CPU-vs-GPU
#                                        agreement is part of 1 (fernn_v1-h32-f4).
#                                     Results and logs go to $OUT (default .gpu/out); the table
#                                     (gpu_results.md) is printed last, for bench/RESULTS.md.
#
# FERNN_GPU_CHECK_DEVICE=cpu bash tools/gpu_check.sh run: the same steps with the CPU in place of
# the GPU (small benchmark), to test this script where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
G=.gpu
CPU_TARGET=x86-64-linux-avx-avx2-f16c-fma-sse41
CUDA_TARGET=$CPU_TARGET-cuda-cuda_capability_86

# name spec hidden [algorithm]: the models the check runs; with an algorithm, every 3×3 stage
# that can runs in it (fernn compile --algorithm) instead of the direct default schedules.
MODELS=(
  "tiny tests/specs/tiny_fernn.json 0"
  "classifier tests/specs/tiny_classifier.json 0"
  "fernn_v1-h32 specs/fernn_v1.json 32"
  "fernn_v1-h32-f4 specs/fernn_v1.json 32 winograd4"
  "grnn-h128 specs/grnn.json 128"
  "fernn_v1-h128 specs/fernn_v1.json 128"
  "fernn_v1-h128-f4 specs/fernn_v1.json 128 winograd4"
  "fernn_v2-h128 specs/fernn_v2.json 128"
)

sets_for() {  # hidden -> --set arguments (0: the spec's own)
  if [ "$1" != 0 ]; then echo "--set recurrence.channels=$1"; fi
}

prepare() {
  cmake -S . -B build >/dev/null
  make -C build -j"$(nproc)" fernn fernn-run >/dev/null
  make -C build fernn_mpi >/dev/null 2>&1 || true  # the MPI plugin, where OpenMPI is installed
  bash tools/setup_data.sh
  rm -rf "$G"
  mkdir -p "$G/models"
  cp build/fernn-run "$G/"
  # Next to fernn-run, where a process that mpirun started looks for it.
  if [ -e build/libfernn_mpi.so ]; then cp build/libfernn_mpi.so "$G/"; fi
  for m in "${MODELS[@]}"; do
    set -- $m
    # shellcheck disable=SC2046
    build/fernn compile "$2" $(sets_for "$3") --target "$CPU_TARGET,$CUDA_TARGET" \
      ${4:+--algorithm "$4"} --out "$G/models/$1" | tail -1
  done
  cp -r "${FERNN_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/fernn}/mnist" "$G/mnist"
  git rev-parse --short HEAD >"$G/commit"
  echo "prepared $G ($(du -sh "$G" | cut -f1)); on the GPU machine: bash tools/gpu_check.sh run"
}

run() {
  local dev="${FERNN_GPU_CHECK_DEVICE:-cuda}" fr="$G/fernn-run" py="${FERNN_PYTHON:-python3}"
  local out="${OUT:-$G/out}" work="$G/work"
  [ -x "$fr" ] || { echo "gpu_check: $fr is missing: run 'bash tools/gpu_check.sh prepare' first" >&2; exit 2; }
  mkdir -p "$out"
  rm -rf "$work"
  mkdir -p "$work"
  export FERNN_COMMIT="$(cat "$G/commit" 2>/dev/null || echo unknown)"
  exec > >(tee "$out/gpu_check.log") 2>&1
  echo "== gpu_check on $dev, commit $FERNN_COMMIT, $(date -u +%FT%TZ)"
  if [ "$dev" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  fi
  local failed=0

  echo "== 1. CPU vs $dev: predictions, hidden states, gradients (relative error <= 1e-4)"
  for name in tiny fernn_v1-h32 fernn_v1-h32-f4 classifier; do
    local spec hidden
    for m in "${MODELS[@]}"; do
      set -- $m
      if [ "$1" = "$name" ]; then spec=$2; hidden=$3; fi
    done
    local w="$work/$name" sets
    sets=$(sets_for "$hidden")
    mkdir -p "$w"
    # shellcheck disable=SC2086
    "$fr" init "$spec" $sets --seed 7 --out "$w/params.safetensors" >/dev/null
    # shellcheck disable=SC2086
    "$py" - "$w" "$("$fr" check "$spec" $sets --json)" <<'EOF'
import json, sys
import numpy as np
w, spec = sys.argv[1], json.loads(sys.argv[2])["spec"]
rng = np.random.default_rng()  # fresh inputs every run
c, h, wd = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
t_in, t_out = spec["sequence"]["input_frames"], spec["sequence"].get("output_frames", 0)
np.save(f"{w}/x.npy", rng.random((4, t_in, c, h, wd), dtype=np.float32))
if spec["readout"]["kind"] == "classes":
    np.save(f"{w}/y.npy", rng.integers(0, spec["readout"]["classes"], size=4).astype(np.int64))
else:
    np.save(f"{w}/y.npy", rng.random((4, t_out, c, h, wd), dtype=np.float32))
np.save(f"{w}/t_out.npy", np.array(t_out))
EOF
    local t_out
    t_out=$("$py" -c "import numpy; print(int(numpy.load('$w/t_out.npy')))")
    # Frame predictors predict t_out frames and take target frames; classifiers take labels.
    local frames=(--frames "$t_out") target=(--target "$w/y.npy")
    if [ "$t_out" = 0 ]; then frames=(); target=(--labels "$w/y.npy"); fi
    for tag in cpu dev; do
      local d=cpu
      [ "$tag" = dev ] && d=$dev
      local args=("$spec" $sets --model "$G/models/$name" --device "$d" --checkpoint "$w/params.safetensors" --input "$w/x.npy")
      "$fr" predict "${args[@]}" "${frames[@]}" --output "$w/pred_$tag.npy" >/dev/null
      "$fr" encode "${args[@]}" --layer 0 --output "$w/hidden_$tag.npy" >/dev/null
      "$fr" gradients "${args[@]}" "${target[@]}" --out "$w/grad_$tag.safetensors" \
        --state-out "$w/state_$tag.safetensors" >"$w/loss_$tag.txt"
    done
    "$py" tools/compare_tensors.py --tol 1e-4 --label "$name" "$w/pred_dev.npy" "$w/pred_cpu.npy" \
      "$w/hidden_dev.npy" "$w/hidden_cpu.npy" "$w/grad_dev.safetensors" "$w/grad_cpu.safetensors" \
      "$w/state_dev.safetensors" "$w/state_cpu.safetensors" |
      tee "$w/compare.txt" | tail -1 || failed=1
    grep -q '"failures": \[\]' "$w/compare.txt" || failed=1
    echo "   loss cpu: $(cat "$w/loss_cpu.txt" | tr '\n' ' ')"
    echo "   loss $dev: $(cat "$w/loss_dev.txt" | tr '\n' ' ')"
  done
  cat "$work"/*/compare.txt >"$out/cpu_vs_device.txt"

  local steps=300
  [ "$dev" = cpu ] && steps=30
  echo "== 2. training FERNN-V1 (hidden 32) on $dev: $steps steps, batch 32"
  "$fr" train specs/fernn_v1.json --set recurrence.channels=32 --model "$G/models/fernn_v1-h32" \
    --device "$dev" --steps "$steps" --batch 32 --val-every $((steps / 3)) --val-sequences 64 \
    --data "$G/mnist" --out "$work/train" | tail -3 || failed=1
  cp "$work/train/metrics.jsonl" "$out/train_metrics.jsonl" 2>/dev/null || failed=1
  "$py" - "$work/train/metrics.jsonl" <<'EOF' || failed=1
import json, sys
vals = [json.loads(l) for l in open(sys.argv[1]) if '"val_mse"' in l]
first, last = vals[0]["val_mse"], vals[-1]["val_mse"]
print(f"   validation MSE {first:.4f} -> {last:.4f} over {vals[-1]['step']} steps")
sys.exit(0 if last < first else 1)
EOF

  echo "== 2b. NCCL on one $dev: gradients averaged on the device (FERNN_NCCL=1) vs not at all"
  if [ "$dev" != cuda ]; then
    echo "   (NCCL averages CUDA buffers only: not run on $dev)"
  elif ! ldconfig -p | grep -q libnccl.so.2 && [ ! -e /usr/local/cuda/lib64/libnccl.so.2 ]; then
    echo "   NOT RUN: libnccl.so.2 is not on this machine (it is too large to carry)"
  else
    local nccl_args=(specs/fernn_v1.json --set recurrence.channels=32
      --model "$G/models/fernn_v1-h32" --device cuda --steps 20 --batch 32 --val-every 10
      --val-sequences 32 --data "$G/mnist")
    FERNN_NCCL=0 "$fr" train "${nccl_args[@]}" --out "$work/nccl_off" | tail -1 || failed=1
    FERNN_NCCL=1 "$fr" train "${nccl_args[@]}" --out "$work/nccl_on" 2>&1 |
      tee "$work/nccl_on.log" | tail -1 || failed=1
    grep -q "gradients averaged over the ranks by NCCL" "$work/nccl_on.log" || {
      echo "   NCCL was not used"
      failed=1
    }
    "$py" tools/compare_tensors.py --tol 1e-6 --label nccl-1gpu \
      "$work/nccl_on/resume.safetensors" "$work/nccl_off/resume.safetensors" | tail -1 || failed=1
    if command -v mpirun >/dev/null; then
      mpirun --allow-run-as-root -np 1 "$fr" train "${nccl_args[@]}" --out "$work/nccl_mpi" |
        tail -1 || failed=1
      "$py" tools/compare_tensors.py --tol 1e-6 --label nccl-mpirun-1 \
        "$work/nccl_mpi/resume.safetensors" "$work/nccl_off/resume.safetensors" | tail -1 ||
        failed=1
    else
      echo "   (no mpirun on this machine: the NCCL run above went without MPI)"
    fi
  fi

  echo "== 3. fernn vs PyTorch on $dev, alternating"
  local configs="grnn:128,fernn_v1:128,fernn_v2:128" batch=128 rounds=2 repeats=3
  if [ "$dev" = cpu ]; then configs="fernn_v1:32"; batch=4; rounds=1; repeats=1; fi
  local models="$work/bench_models"
  mkdir -p "$models"
  for c in ${configs//,/ }; do ln -sfn "$PWD/$G/models/${c%%:*}-h${c##*:}" "$models/${c%%:*}-h${c##*:}"; done
  PYTHONUNBUFFERED=1 "$py" bench/compare.py --device "$dev" --fernn "$fr" --models "$models" \
    --configs "$configs" --batch "$batch" --rounds "$rounds" --repeats "$repeats" \
    --torch-warmup 2 --python "$py" --output "$out/gpu_results.md" || failed=1

  echo "== 3b. Winograd F(4x4) vs direct on $dev: FERNN-V1 training step"
  local wh=128 wb=128
  if [ "$dev" = cpu ]; then wh=32; wb=4; fi
  for m in "fernn_v1-h$wh" "fernn_v1-h$wh-f4"; do
    "$fr" bench specs/fernn_v1.json --set recurrence.channels=$wh --model "$G/models/$m" \
      --device "$dev" --batch "$wb" --repeats 3 --json >"$work/bench_$m.json" || failed=1
  done
  "$py" - "$work/bench_fernn_v1-h$wh.json" "$work/bench_fernn_v1-h$wh-f4.json" <<'EOF' |
import json, sys
d, w = (json.load(open(p))["train_step_ms"] for p in sys.argv[1:3])
print(f"   training step: direct {d:.1f} ms, winograd4 {w:.1f} ms ({d / w:.2f}x)")
EOF
    tee "$out/winograd.txt" || failed=1

  echo "== results"
  cat "$out/winograd.txt" 2>/dev/null || true
  cat "$out/gpu_results.md" 2>/dev/null || true
  if [ "$failed" != 0 ]; then
    echo "gpu_check: FAILED (see above)"
    exit 1
  fi
  echo "gpu_check: all checks passed"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *)
    echo "usage: bash tools/gpu_check.sh prepare | run" >&2
    exit 2
    ;;
esac
