#!/usr/bin/env bash
# Data parallelism on this machine, side by side: `fernn train` as 1 process with 2 threads vs
# 2 MPI ranks with 1 thread each (mpirun -np 2), at the same global batch, alternating, ROUNDS
# rounds; the median step time (steps 3.., without validation), the collectives' time per step
# (sync_ms in metrics.jsonl: the gradient allreduce and the step's sums, waiting for the slower
# rank included) and the peak resident memory of each process (/usr/bin/time).
#
#   bash bench/data_parallel_scaling.sh            # FERNN-V2 (hidden 128, |V| = 25), batch 8
#   SPEC=specs/fernn_v1.json BATCH=32 STEPS=20 ROUNDS=3 bash bench/data_parallel_scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
F=build/fernn
SPEC=${SPEC:-specs/fernn_v2.json}
BATCH=${BATCH:-8}
STEPS=${STEPS:-5}
ROUNDS=${ROUNDS:-1}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
common=("$SPEC" --batch "$BATCH" --val-every 100000 --val-sequences 16)
# Compiles the model into the cache first, so that no timed run does.
$F train "${common[@]}" --steps 1 --out "$W/warm" >"$W/warm.log" 2>&1 || {
  cat "$W/warm.log"
  exit 1
}
common+=(--steps "$STEPS")
for r in $(seq 1 "$ROUNDS"); do
  /usr/bin/time -f %M -o "$W/mem_one_$r" $F train "${common[@]}" --threads 2 \
    --out "$W/one_$r" >/dev/null 2>&1
  mpirun --allow-run-as-root -np 2 sh -c \
    "exec /usr/bin/time -f %M -o $W/mem_two_${r}_\$OMPI_COMM_WORLD_RANK $F train ${common[*]} \
     --threads 1 --out $W/two_$r" >/dev/null 2>&1
done
/usr/bin/python3 - "$W" "$ROUNDS" "$SPEC" "$BATCH" <<'PY'
import json, statistics, sys
w, rounds, spec, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def steps(run):
    rows = [json.loads(l) for l in open(f"{w}/{run}/metrics.jsonl") if '"loss"' in l]
    return rows[2:]  # the first steps warm the allocator and the thread pool
def mem(path):
    return int(open(path).read().split()[-1]) / 2**20  # KiB -> GiB
one = [s for r in range(1, rounds + 1) for s in steps(f"one_{r}")]
two = [s for r in range(1, rounds + 1) for s in steps(f"two_{r}")]
t1 = statistics.median(s["step_ms"] for s in one)
t2 = statistics.median(s["step_ms"] for s in two)
sync = statistics.median(s["sync_ms"] for s in two)
m1 = max(mem(f"{w}/mem_one_{r}") for r in range(1, rounds + 1))
m2 = [max(mem(f"{w}/mem_two_{r}_{k}") for r in range(1, rounds + 1)) for k in (0, 1)]
print(f"{spec}, global batch {batch}, {len(one)} and {len(two)} timed steps")
print("| run | step (median) | sequences/s | collectives per step | peak memory |")
print("|---|---|---|---|---|")
print(f"| 1 process x 2 threads | {t1:.0f} ms | {batch / t1 * 1e3:.1f} | - | {m1:.2f} GiB |")
print(f"| 2 ranks x 1 thread | {t2:.0f} ms | {batch / t2 * 1e3:.1f} | {sync:.1f} ms "
      f"({100 * sync / t2:.2f} %) | {m2[0]:.2f} + {m2[1]:.2f} GiB |")
print(f"2 ranks / 1 process step time: {t2 / t1:.3f}")
PY
