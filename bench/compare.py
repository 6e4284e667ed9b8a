#!/usr/bin/python3
"""fernn against our PyTorch implementation, side by side on this machine.

For each configuration, runs `fernn bench --json` and bench/torch_bench.py alternately
(--rounds times each, so both see the same machine load), takes each side's run with the median
training step, and writes the table into bench/RESULTS.md between the side-by-side markers,
with the command, the date, the CPU and the commit. Ratios are the headline: absolute times vary with the machine's load.

    bench/compare.py [--rounds 2] [--threads 2] [--batch 16] [--quick]
    bench/compare.py --kth          # the KTH classifier: hidden 32 and 128, |V| = 1, 9, 25
    bench/compare.py --rotation     # Rotating MNIST (C_36): 4 and 8 fields, |V| = 1 and 9

On a GPU machine (tools/gpu_check.sh), with models compiled beforehand and fernn-run:

    bench/compare.py --device cuda --fernn .gpu/fernn-run --models .gpu/models --batch 128
                     --configs grnn:128,fernn_v1:128,fernn_v2:128 --output RESULTS
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
LABELS = {"grnn": "G-RNN", "fernn_v1": "FERNN-V1", "fernn_v2": "FERNN-V2",
          "kth_grnn": "KTH G-RNN", "kth_fernn": "KTH FERNN", "kth_grnn_plus": "KTH G-RNN+",
          "rotating_grnn": "Rot. G-RNN", "rotating_fernn": "FERNN-V4R"}
# (spec, hidden, velocity range or None) of the CPU tables
CONFIGS = [("grnn", 32, None), ("fernn_v1", 32, None), ("fernn_v2", 32, None), ("grnn", 64, None),
           ("fernn_v1", 64, None), ("fernn_v2", 64, None), ("fernn_v1", 128, None)]
# The KTH classifier (32×32, 16 frames): |V| = 1, 9, 25 at hidden 32 and 128.
KTH_CONFIGS = [("kth_grnn", 32, None), ("kth_fernn", 32, 1), ("kth_fernn", 32, 2),
               ("kth_grnn", 128, None), ("kth_fernn", 128, 1), ("kth_fernn", 128, 2)]
# Rotating MNIST (28×28, 10+10 frames, C_36): hidden counts fields of 36 orientation channels
# (the paper's 32 fields are 1152 channels, beyond a side-by-side run on two cores).
ROTATION_CONFIGS = [("rotating_grnn", 4, None), ("rotating_fernn", 4, None),
                    ("rotating_grnn", 8, None), ("rotating_fernn", 8, None)]


def spec_sets(spec_path, hidden, velocity_range):
    """--set options for a hidden size (the lifting's last layer follows) and a velocity range."""
    sets = ["--set", f"recurrence.channels={hidden}"]
    spec = json.load(open(spec_path))
    if "layers" in spec["lifting"]:
        lifting = spec["lifting"]
        lifting["layers"][-1]["channels"] = hidden
        sets += ["--set", "lifting=" + json.dumps(lifting)]
    if velocity_range is not None:
        sets += ["--set", f"flow.velocities.range={velocity_range}"]
    return sets


def algorithm_summary(configs):
    """How each 3×3 stage was computed, configurations with the same choices together, e.g.
    'FERNN-V1 32, FERNN-V1 64: 16 of 20 stages winograd4; direct: lifting_forward.conv, ...'.
    configs: [(label, hidden, {"pipeline.stage": algorithm})]. Every algorithm's stages are named
    but the most common one's, which the count says."""
    groups = {}
    for label, hidden, algorithms in configs:
        key = json.dumps(algorithms, sort_keys=True)
        groups.setdefault(key, ([], algorithms))[0].append(f"{label} {hidden}")
    parts = []
    for names, algorithms in groups.values():
        if not algorithms:
            parts.append(", ".join(names) + ": n/a")
            continue
        by_algorithm = {}
        for stage, algorithm in sorted(algorithms.items()):
            by_algorithm.setdefault(algorithm, []).append(stage)
        common = max(by_algorithm, key=lambda a: len(by_algorithm[a]))
        text = f"{len(by_algorithm[common])} of {len(algorithms)} stages {common}"
        for algorithm, stages in sorted(by_algorithm.items()):
            if algorithm != common:
                text += f"; {algorithm}: {', '.join(stages)}"
        parts.append(", ".join(names) + ": " + text)
    return ". ".join(parts)


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_torch(cmd):
    """torch_bench.py's result, or None where the kernel killed it (out of memory): such a
    configuration is a result too (fernn runs where PyTorch cannot), not a reason to lose the
    table."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == -9:
        return None
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def median_run(runs):
    """The run with the median training step (the upper middle one of an even count)."""
    return sorted(runs, key=lambda r: r["train_step_ms"])[len(runs) // 2]


def pct(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def gpu_name(python):
    out = subprocess.run([python, "-c", "import torch; print(torch.cuda.get_device_name(0))"],
                         capture_output=True, text=True).stdout.strip()
    return out or "an unknown GPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="default 16 (32 with --kth)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="hidden 32 only (a fast check)")
    ap.add_argument("--kth", action="store_true",
                    help="the KTH classifier's table (batch 32 unless --batch) instead")
    ap.add_argument("--rotation", action="store_true",
                    help="the rotation models' table (batch 4 unless --batch) instead")
    ap.add_argument("--output", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--fernn", default=os.path.join(ROOT, "build", "fernn"),
                    help="fernn or fernn-run")
    ap.add_argument("--models", help="compiled models as DIR/<spec>-h<hidden>[-r<velocity range>] "
                                     "(default: compile)")
    ap.add_argument("--configs", help="spec:hidden,... (default: the CPU table's)")
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python with torch")
    ap.add_argument("--torch-warmup", type=int, default=2, help="PyTorch's untimed first steps")
    args = ap.parse_args()
    if args.batch is None:
        args.batch = 32 if args.kth else 4 if args.rotation else 16
    cuda = args.device == "cuda"
    configs = KTH_CONFIGS if args.kth else ROTATION_CONFIGS if args.rotation else CONFIGS
    if args.configs:  # spec:hidden[:velocity range],...
        configs = []
        for c in args.configs.split(","):
            parts = c.split(":")
            configs.append((parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else None))
    configs = [c for c in configs if not args.quick or c[1] == 32]
    rows = []
    for spec, hidden, velocity_range in configs:
        label = LABELS.get(spec, spec)
        spec_path = os.path.join(ROOT, "specs", spec + ".json")
        sets = spec_sets(spec_path, hidden, velocity_range)
        # DIR/<spec>-h<hidden>[-r<velocity range>]: one compiled model per configuration
        name = f"{spec}-h{hidden}" + (f"-r{velocity_range}" if velocity_range is not None else "")
        model = ["--model", os.path.join(args.models, name)] if args.models else []
        fernn_cmd = [args.fernn, "bench", spec_path, *sets, *model, "--batch", str(args.batch),
                     "--threads", str(args.threads), "--repeats", str(args.repeats), "--json",
                     "--device", args.device]
        torch_cmd = [args.python, os.path.join(ROOT, "bench", "torch_bench.py"), "--fernn",
                     args.fernn, "--spec", spec_path, *sets, "--batch", str(args.batch),
                     "--threads", str(args.threads), "--repeats", str(args.repeats),
                     "--device", args.device, "--warmup", str(args.torch_warmup)]
        f_runs, t_runs = [], []
        for _ in range(args.rounds):
            f_runs.append(run_json(fernn_cmd))
            if None not in t_runs:  # once killed for memory, it would only be killed again
                t_runs.append(run_torch(torch_cmd))
        # Every value from one run, the median by training step: on a machine whose speed
        # drifts, per-value medians of an even count mix a slow run's step time with a fast
        # run's GFLOP/s.
        f_mid = median_run(f_runs)
        f = {k: f_mid[k] for k in
             ("train_step_ms", "forward_ms", "backward_ms", "gflops_per_s",
              "cell_forward_gflops_per_s", "cell_backward_gflops_per_s",
              "cell_forward_ms", "cell_backward_ms")}
        if not cuda:
            f.update({k: f_mid[k] for k in
                      ("peak_fraction", "cell_forward_peak_fraction", "cell_backward_peak_fraction",
                       "peak_gflops_per_s")})
        f["peak_memory_gib"] = max(r.get("peak_memory_gib", 0) for r in f_runs)
        if None not in t_runs:
            t_mid = median_run(t_runs)
            t = {k: t_mid[k] for k in ("train_step_ms", "forward_ms", "backward_ms")}
            t["peak_memory_gib"] = max(r["peak_memory_gib"] for r in t_runs)
            t["framework"] = t_runs[0]["framework"]
        else:  # killed: report it, and no times
            t = {"killed": True}
        f["algorithms"] = f_runs[0].get("algorithms", {})
        rows.append((label, spec, hidden, f, t, f_runs[0]["velocities"]))
        torch_text = ("killed (out of memory)" if t.get("killed") else
                      f"{t['train_step_ms']:.1f} ms -> {t['train_step_ms'] / f['train_step_ms']:.2f}x")
        print(f"{label:9s} hidden {hidden:3d} |V| {f_runs[0]['velocities']:2d}: train step fernn "
              f"{f['train_step_ms']:.1f} ms, PyTorch {torch_text}", flush=True)

    if cuda:
        lines = ["| model | hidden | |V| | train step fernn / PyTorch (ms) | speed-up | forward speed-up | "
                 "fernn GFLOP/s | recurrent cell fwd / bwd GFLOP/s |",
                 "|---|---|---|---|---|---|---|---|"]
    else:
        lines = ["| model | hidden | |V| | train step fernn / PyTorch (ms) | speed-up | forward speed-up | "
                 "peak memory fernn / PyTorch (GiB) | "
                 "fernn GFLOP/s (share of peak) | recurrent cell fwd / bwd share of peak |",
                 "|---|---|---|---|---|---|---|---|---|"]
    total = memory_gib()
    for label, spec, hidden, f, t, nv in rows:
        if t.get("killed"):
            head = (f"| {label} | {hidden} | {nv} | {f['train_step_ms']:.1f} / killed | "
                    f"PyTorch out of memory ({total:.0f} GiB) | – | ")
        else:
            head = (f"| {label} | {hidden} | {nv} | {f['train_step_ms']:.1f} / {t['train_step_ms']:.1f} | "
                    f"**{t['train_step_ms'] / f['train_step_ms']:.2f}×** | "
                    f"{t['forward_ms'] / f['forward_ms']:.2f}× | ")
        if not cuda:
            torch_memory = "killed" if t.get("killed") else f"{t['peak_memory_gib']:.1f}"
            head += f"{f['peak_memory_gib']:.1f} / {torch_memory} | "
        if cuda:
            lines.append(head + f"{f['gflops_per_s']:.0f} | {f['cell_forward_gflops_per_s']:.0f} / "
                         f"{f['cell_backward_gflops_per_s']:.0f} |")
        else:
            lines.append(head + f"{f['gflops_per_s']:.1f} ({pct(f['peak_fraction'])}) | "
                         f"{pct(f['cell_forward_peak_fraction'])} / "
                         f"{pct(f['cell_backward_peak_fraction'])} |")
    # |V| scaling of the recurrent cell: FERNN-V cell time vs |V| x G-RNN cell time, same hidden.
    scaling = []
    for label, spec, hidden, f, t, nv in rows:
        grnn = ("kth_grnn" if spec.startswith("kth") else
                "rotating_grnn" if spec.startswith("rotating") else "grnn")
        base = [r for r in rows if r[1] == grnn and r[2] == hidden]
        if spec != grnn and base:
            g = base[0][3]
            scaling.append(f"{label} hidden {hidden}: cell forward {f['cell_forward_ms'] / (nv * g['cell_forward_ms']):.2f}, "
                           f"cell backward {f['cell_backward_ms'] / (nv * g['cell_backward_ms']):.2f}")
    # FERNN_COMMIT: set by tools/gpu_check.sh, whose copy of the tree has no git history.
    commit = os.environ.get("FERNN_COMMIT") or subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    marker = ("gpu-" if cuda else "") + ("kth-side-by-side" if args.kth else
                                         "rotation-side-by-side" if args.rotation else "side-by-side")
    first = json.loads(subprocess.run([args.fernn, "check", os.path.join(ROOT, "specs", configs[0][0] + ".json"),
                                       "--json"], capture_output=True, text=True).stdout)["spec"]
    size = f"{first['input']['height']}×{first['input']['width']}"
    frames = (f"{first['sequence']['input_frames']} frames" if first["readout"]["kind"] == "classes"
              else f"{first['sequence']['input_frames']}+{first['sequence']['output_frames']} frames")
    torch_version = next((r[4]["framework"] for r in rows if "framework" in r[4]), "pytorch ?").split(" ", 1)[-1]
    where = (f"{gpu_name(args.python)}, fernn vs PyTorch {torch_version}, float32 (TF32 off)"
             if cuda else f"{cpu_name()} ({os.cpu_count()} cores), {args.threads} threads each")
    peak_value = None if cuda else rows[0][3]["peak_gflops_per_s"]
    peak = f"; peak {peak_value:.1f} GFLOP/s (measured FMA kernel)" if peak_value else ""
    block = "\n".join([
        f"<!-- {marker}:begin -->",
        f"Measured {datetime.date.today()} on {where}, commit {commit}, batch {args.batch}, {size}, "
        f"{frames}, median of {args.rounds} alternating rounds × {args.repeats} repeats{peak}. "
        "Command: `bench/compare.py" + "".join(" " + a for a in sys.argv[1:]) + "`",
        "",
        *lines,
        "",
        "Recurrent cell cost relative to |V| × G-RNN's (target ≤ 1.05): " + ("; ".join(scaling) or "n/a") + ".",
        "",
        "How fernn computed each convolution and weight gradient (its schedule record): " +
        (algorithm_summary([(label, hidden, f["algorithms"]) for label, _, hidden, f, _, _ in rows])
         or "n/a") + ".",
        f"<!-- {marker}:end -->",
    ])
    text = open(args.output).read() if os.path.exists(args.output) else "# Measured results\n"
    if f"<!-- {marker}:begin -->" in text:
        text = re.sub(f"<!-- {marker}:begin -->.*<!-- {marker}:end -->", lambda _: block, text, flags=re.S)
    else:
        title = ("fernn vs PyTorch on the GPU, side by side" if cuda else "fernn vs PyTorch, side by side")
        if args.kth:
            title += ": the KTH classifier"
        if args.rotation:
            title += ": rotation flows (Rotating MNIST, C_36)"
        text += f"\n## {title}\n\n" + block + "\n"
    with open(args.output, "w") as f:
        f.write(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    sys.exit(main())
