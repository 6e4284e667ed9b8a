#!/usr/bin/env python3
"""The data-parallel scaling model of bench/RESULTS.md: a step of N nodes at global batch B takes

    T(N) = c * ceil(B / N) + A(N),    A(N) = 2 (N-1)/N * S / beta + 2 (N-1) * alpha + 2 log2(N) * alpha

c: one node's compute per sequence (measured: bench/data_parallel_scaling.sh, 1 process);
A(N): the ring allreduce of the S-byte gradient (bandwidth beta, latency alpha per message)
plus the step's small sums (loss, counts: a tree of log2 N rounds each way). Compute per
sequence is taken as constant down to a few sequences per node (measured here: 2 ranks of 4
sequences each run as fast as 1 process of 8). Prints a Markdown table.

    bench/scaling_model.py --compute-per-sequence 3.93 --gradient-floats 739584
"""
import argparse
import math

INTERCONNECTS = {  # name: (bandwidth bytes/s, latency s)
    "25 Gb/s Ethernet": (25e9 / 8, 25e-6),
    "100 Gb/s InfiniBand": (100e9 / 8, 2e-6),
}


def allreduce(n, size, beta, alpha):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * size / beta + 2 * (n - 1) * alpha + 2 * math.log2(n) * alpha


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--compute-per-sequence", type=float, required=True, help="seconds, one node")
    p.add_argument("--gradient-floats", type=int, default=739584)
    p.add_argument("--nodes", default="1,8,64")
    p.add_argument("--batches", default="128,16/node", help="global batches; K/node: K per node")
    a = p.parse_args()
    size = 4 * a.gradient_floats
    c = a.compute_per_sequence
    print(f"c = {c:.3g} s per sequence per node, gradient {size / 1e6:.2f} MB")
    print("| global batch | nodes | interconnect | allreduce | step | speed-up | efficiency | allreduce share |")
    print("|---|---|---|---|---|---|---|---|")
    for b in a.batches.split(","):
        for n in (int(x) for x in a.nodes.split(",")):
            batch = int(b.split("/")[0]) * n if b.endswith("/node") else int(b)
            base = c * batch  # one node, the same global batch
            for name, (beta, alpha) in INTERCONNECTS.items():
                if n == 1 and name != next(iter(INTERCONNECTS)):
                    continue
                ar = allreduce(n, size, beta, alpha)
                step = c * math.ceil(batch / n) + ar
                speedup = base / step
                print(f"| {batch} | {n} | {name if n > 1 else '-'} | {ar * 1e3:.2f} ms | "
                      f"{step:.3g} s | {speedup:.1f}x | {100 * speedup / n:.1f} % | "
                      f"{100 * ar / step:.3f} % |")


if __name__ == "__main__":
    main()
