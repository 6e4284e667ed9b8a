#!/usr/bin/python3
"""fernn against our PyTorch implementation, side by side on this machine.

For each configuration, runs `fernn bench --json` and bench/torch_bench.py alternately
(--rounds times each, so both see the same machine load), takes the median of each, and writes
the table into bench/RESULTS.md between the side-by-side markers, with the command, the date,
the CPU and the commit. Ratios are the headline: absolute times vary with the machine's load.

    bench/compare.py [--rounds 2] [--threads 2] [--batch 16] [--quick]
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERNN = os.path.join(ROOT, "build", "fernn")

# (label, spec, hidden)
CONFIGS = [
    ("G-RNN", "grnn", 32), ("FERNN-V1", "fernn_v1", 32), ("FERNN-V2", "fernn_v2", 32),
    ("G-RNN", "grnn", 64), ("FERNN-V1", "fernn_v1", 64), ("FERNN-V2", "fernn_v2", 64),
    ("FERNN-V1", "fernn_v1", 128),
]


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="hidden 32 only (a fast check)")
    ap.add_argument("--output", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    args = ap.parse_args()
    configs = [c for c in CONFIGS if not args.quick or c[2] == 32]
    rows = []
    for label, spec, hidden in configs:
        spec_path = os.path.join(ROOT, "specs", spec + ".json")
        sets = ["--set", f"recurrence.channels={hidden}"]
        fernn_cmd = [FERNN, "bench", spec_path, *sets, "--batch", str(args.batch), "--threads",
                     str(args.threads), "--repeats", str(args.repeats), "--json"]
        torch_cmd = ["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_bench.py"), "--fernn", FERNN,
                     "--spec", spec_path, *sets, "--batch", str(args.batch), "--threads", str(args.threads),
                     "--repeats", str(args.repeats)]
        f_runs, t_runs = [], []
        for _ in range(args.rounds):
            f_runs.append(run_json(fernn_cmd))
            t_runs.append(run_json(torch_cmd))
        f = {k: median([r[k] for r in f_runs]) for k in
             ("train_step_ms", "forward_ms", "backward_ms", "gflops_per_s", "peak_fraction",
              "cell_forward_peak_fraction", "cell_backward_peak_fraction", "peak_gflops_per_s")}
        t = {k: median([r[k] for r in t_runs]) for k in ("train_step_ms", "forward_ms", "backward_ms")}
        f["cell_forward_ms"] = median([r["cell_forward_ms"] for r in f_runs])
        f["cell_backward_ms"] = median([r["cell_backward_ms"] for r in f_runs])
        rows.append((label, spec, hidden, f, t, f_runs[0]["velocities"]))
        print(f"{label:9s} hidden {hidden:3d}: train step fernn {f['train_step_ms']:.1f} ms, "
              f"PyTorch {t['train_step_ms']:.1f} ms -> {t['train_step_ms'] / f['train_step_ms']:.2f}x", flush=True)

    lines = ["| model | hidden | |V| | train step fernn / PyTorch (ms) | speed-up | forward speed-up | "
             "fernn GFLOP/s (share of peak) | recurrent cell fwd / bwd share of peak |",
             "|---|---|---|---|---|---|---|---|"]
    for label, spec, hidden, f, t, nv in rows:
        lines.append(f"| {label} | {hidden} | {nv} | {f['train_step_ms']:.1f} / {t['train_step_ms']:.1f} | "
                     f"**{t['train_step_ms'] / f['train_step_ms']:.2f}×** | "
                     f"{t['forward_ms'] / f['forward_ms']:.2f}× | {f['gflops_per_s']:.1f} ({100 * f['peak_fraction']:.0f}%) | "
                     f"{100 * f['cell_forward_peak_fraction']:.0f}% / {100 * f['cell_backward_peak_fraction']:.0f}% |")
    # |V| scaling of the recurrent cell: FERNN-V cell time vs |V| x G-RNN cell time, same hidden.
    scaling = []
    for label, spec, hidden, f, t, nv in rows:
        base = [r for r in rows if r[1] == "grnn" and r[2] == hidden]
        if spec != "grnn" and base:
            g = base[0][3]
            scaling.append(f"{label} hidden {hidden}: cell forward {f['cell_forward_ms'] / (nv * g['cell_forward_ms']):.2f}, "
                           f"cell backward {f['cell_backward_ms'] / (nv * g['cell_backward_ms']):.2f}")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    block = "\n".join([
        "<!-- side-by-side:begin -->",
        f"Measured {datetime.date.today()} on {cpu_name()} ({os.cpu_count()} cores), commit {commit}, "
        f"{args.threads} threads each, batch {args.batch}, 28×28, 10+10 frames, median of {args.rounds} "
        f"alternating rounds × {args.repeats} repeats; peak {rows[0][3]['peak_gflops_per_s']:.1f} GFLOP/s "
        "(measured FMA kernel). Command: `bench/compare.py" + (" --quick" if args.quick else "") + "`",
        "",
        *lines,
        "",
        "Recurrent cell cost relative to |V| × G-RNN's (target ≤ 1.05): " + "; ".join(scaling) + ".",
        "<!-- side-by-side:end -->",
    ])
    text = open(args.output).read() if os.path.exists(args.output) else "# Measured results\n"
    if "<!-- side-by-side:begin -->" in text:
        text = re.sub(r"<!-- side-by-side:begin -->.*<!-- side-by-side:end -->", lambda _: block, text, flags=re.S)
    else:
        text += "\n## fernn vs PyTorch, side by side\n\n" + block + "\n"
    with open(args.output, "w") as f:
        f.write(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    sys.exit(main())
