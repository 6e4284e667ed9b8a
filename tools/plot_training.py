#!/usr/bin/python3
"""Training curves from training runs' metrics.jsonl (`fernn plot RUN [RUN ...]`).

    plot_training.py OUT_DIR METRICS.jsonl [METRICS.jsonl ...] [--labels A B ...]

Writes OUT_DIR/training.png: the training loss per step (log scale; a moving average over the
raw values), the gradient norm before clipping, and the validation metric (MSE or accuracy)
with the best checkpoint of each run marked. fernn checks the files before calling this.
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(path):
    steps, validations = [], []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # an append cut short by a kill
            record = json.loads(line)
            (steps if "loss" in record else validations).append(record)
    return steps, validations


def smooth(values, width):
    if len(values) < width:
        return np.asarray(values, dtype=float)
    kernel = np.ones(width) / width
    padded = np.concatenate([np.full(width - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("metrics", nargs="+")
    ap.add_argument("--labels", nargs="*")
    args = ap.parse_args()
    labels = args.labels or [os.path.basename(os.path.dirname(os.path.abspath(m))) for m in args.metrics]
    fig, (loss_ax, norm_ax, val_ax) = plt.subplots(1, 3, figsize=(14, 4))
    metric_name = None
    for path, label in zip(args.metrics, labels):
        steps, validations = read(path)
        if steps:
            x = np.array([r["step"] for r in steps])
            loss = np.array([r["loss"] for r in steps], dtype=float)
            width = max(1, len(loss) // 50)
            line, = loss_ax.plot(x, loss, alpha=0.25, lw=0.8)
            loss_ax.plot(x, smooth(loss, width), color=line.get_color(), label=label)
            norm_ax.plot(x, [r.get("grad_norm", np.nan) for r in steps], color=line.get_color(),
                         lw=0.8, label=label)
        for key in ("val_mse", "val_accuracy"):
            points = [(r["step"], r[key], r.get("best", False)) for r in validations if key in r]
            if points:
                metric_name = key
                xs, ys, best = zip(*points)
                line, = val_ax.plot(xs, ys, marker="o", ms=3, label=label)
                b = [i for i, flag in enumerate(best) if flag]
                if b:
                    i = b[-1]  # the best checkpoint the run kept
                    val_ax.plot(xs[i], ys[i], marker="*", ms=12, color=line.get_color())
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("step")
    loss_ax.set_title("training loss (smoothed; raw faint)")
    norm_ax.set_yscale("log")
    norm_ax.set_xlabel("step")
    norm_ax.set_title("gradient norm before clipping")
    val_ax.set_xlabel("step")
    val_ax.set_title({"val_mse": "validation MSE (star: best checkpoint)",
                      "val_accuracy": "validation accuracy (star: best checkpoint)"}.get(
                          metric_name, "validation"))
    if metric_name == "val_mse":
        val_ax.set_yscale("log")
    for ax in (loss_ax, norm_ax, val_ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(args.out_dir, exist_ok=True)
    out = os.path.join(args.out_dir, "training.png")
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
