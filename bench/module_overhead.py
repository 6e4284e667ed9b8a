#!/usr/bin/python3
"""What fernn.torch.Model costs inside a PyTorch loop, side by side on this machine.

For each configuration, alternately (--rounds times each): `fernn bench --json` (the training
step of `fernn train`: compiled forward, BPTT and the fused clip + Adam pipeline),
bench/torch_bench.py --module (the same compiled model as fernn.torch.Model in a plain PyTorch
loop: zero_grad, forward, MSE or cross-entropy in PyTorch, backward, clip_grad_norm_,
torch.optim.Adam) and bench/torch_bench.py (the reference model in PyTorch, the same loop).
Medians go into bench/RESULTS.md between the torch-module markers with the command, date, CPU
and commit. Goals: the module within 5 % of fernn train's step; its speed-up over the
reference that of the side-by-side table.

    bench/module_overhead.py [--rounds 3] [--configs grnn:32,fernn_v1:32,...] [--batch 16]
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import LABELS, ROOT, cpu_name, median, run_json, spec_sets  # noqa: E402

CONFIGS = "grnn:32,fernn_v1:32,fernn_v2:32,fernn_v1:64,kth_fernn:32:1"
MARKER = "torch-module-side-by-side"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--configs", default=CONFIGS, help="spec:hidden[:velocity range],...")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--fernn", default=os.path.join(ROOT, "build", "fernn"))
    ap.add_argument("--output", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    args = ap.parse_args()
    rows = []
    for c in args.configs.split(","):
        parts = c.split(":")
        spec, hidden = parts[0], int(parts[1])
        velocity_range = int(parts[2]) if len(parts) > 2 else None
        spec_path = os.path.join(ROOT, "specs", spec + ".json")
        sets = spec_sets(spec_path, hidden, velocity_range)
        common = ["--batch", str(args.batch), "--threads", str(args.threads), "--repeats",
                  str(args.repeats)]
        fernn_cmd = [args.fernn, "bench", spec_path, *sets, *common, "--json"]
        torch_cmd = [args.python, os.path.join(ROOT, "bench", "torch_bench.py"), "--fernn",
                     args.fernn, "--spec", spec_path, *sets, *common]
        runs = {"fernn": [], "module": [], "torch": []}
        for _ in range(args.rounds):
            f = run_json(fernn_cmd)
            velocities = f["velocities"]
            runs["fernn"].append(f["train_step_ms"])
            runs["module"].append(run_json(torch_cmd + ["--module"])["train_step_ms"])
            runs["torch"].append(run_json(torch_cmd)["train_step_ms"])
        m = {k: median(v) for k, v in runs.items()}
        rows.append((LABELS.get(spec, spec), hidden, velocities, m))
        print(f"{LABELS.get(spec, spec)} hidden {hidden} |V| {velocities}: fernn train "
              f"{m['fernn']:.1f} ms, fernn.torch {m['module']:.1f} ms "
              f"({100 * (m['module'] / m['fernn'] - 1):+.1f}%), PyTorch {m['torch']:.1f} ms",
              flush=True)

    lines = ["| model | hidden | |V| | fernn train step (ms) | fernn.torch in a PyTorch loop (ms) | "
             "overhead | PyTorch reference (ms) | speed-up: fernn train / fernn.torch |",
             "|---|---|---|---|---|---|---|---|"]
    for label, hidden, nv, m in rows:
        lines.append(f"| {label} | {hidden} | {nv} | {m['fernn']:.1f} | {m['module']:.1f} | "
                     f"**{100 * (m['module'] / m['fernn'] - 1):+.1f}%** | {m['torch']:.1f} | "
                     f"{m['torch'] / m['fernn']:.2f}× / {m['torch'] / m['module']:.2f}× |")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    block = "\n".join([
        f"<!-- {MARKER}:begin -->",
        f"Measured {datetime.date.today()} on {cpu_name()} ({os.cpu_count()} cores), "
        f"{args.threads} threads each, commit {commit}, batch {args.batch}, median of "
        f"{args.rounds} alternating rounds × {args.repeats} repeats. Command: "
        "`bench/module_overhead.py" + "".join(" " + a for a in sys.argv[1:]) + "`",
        "",
        *lines,
        f"<!-- {MARKER}:end -->",
    ])
    text = open(args.output).read()
    if f"<!-- {MARKER}:begin -->" in text:
        text = re.sub(f"<!-- {MARKER}:begin -->.*<!-- {MARKER}:end -->", lambda _: block, text,
                      flags=re.S)
    else:
        text += "\n## fernn.torch.Model in a PyTorch loop vs fernn train\n\n" + block + "\n"
    with open(args.output, "w") as f:
        f.write(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
