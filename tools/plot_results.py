#!/usr/bin/python3
"""Figures from `fernn eval` results (results.json), one model or several on one figure.

    plot_results.py OUT_DIR RESULTS.json [RESULTS.json ...] [--labels A B ...]

Frame predictors: writes OUT_DIR/length_generalization.png (per-step test MSE, mean ± std, the
training horizon marked) and OUT_DIR/velocity_generalization.png (MSE per (vx, vy), the training
velocities boxed; one panel per model, on a shared color scale; rotation models: MSE per angular
velocity, one curve per model, the training velocities shaded). Classifiers: writes
OUT_DIR/velocity_accuracy.png (test accuracy per velocity range, the training range marked; per
angular velocity for rotation models).
A frame predictor's results with a strip (strip.npy beside results.json) also give
OUT_DIR/strip.png (strip_<label>.png for several): input, truth and prediction rows of the first
test sequences, each frame under its index.
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("results", nargs="+")
    ap.add_argument("--labels", nargs="*")
    args = ap.parse_args()
    runs = []
    for path in args.results:
        with open(path) as f:
            runs.append(json.load(f))
    labels = args.labels or [r["model"] for r in runs]
    if len(labels) != len(runs):
        raise SystemExit("--labels needs one label per results file")
    os.makedirs(args.out_dir, exist_ok=True)
    def classifier(r):
        return "test_accuracy" in r

    if all(classifier(r) for r in runs):
        plot_classifiers(args.out_dir, runs, labels)
        return
    if any(classifier(r) for r in runs):
        raise SystemExit("plot classifiers and frame predictors separately")

    for path, run, label in zip(args.results, runs, labels):
        if "strip" in run:
            name = "strip.png" if len(runs) == 1 else f"strip_{label}.png"
            plot_strip(os.path.join(os.path.dirname(os.path.abspath(path)), run["strip"]["file"]),
                       run["strip"], os.path.join(args.out_dir, name), label)

    fig, ax = plt.subplots(figsize=(6, 4))
    for run, label in zip(runs, labels):
        lg = run["length_generalization"]
        mean, std = np.array(lg["mean"]), np.array(lg["std"])
        t = np.arange(1, len(mean) + 1)
        ax.plot(t, mean, label=label)
        ax.fill_between(t, np.maximum(mean - std, mean * 1e-2), mean + std, alpha=0.2)
    ax.axvline(runs[0]["length_generalization"]["train_frames"], color="gray", ls="--", lw=1,
               label="training horizon")
    ax.set_xlabel("predicted frame")
    ax.set_ylabel("MSE (log scale)")
    ax.set_yscale("log")  # errors span orders of magnitude once predictions drift
    ax.set_title("Length generalization")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "length_generalization.png"), dpi=120)
    plt.close(fig)

    if all("angular_velocity_generalization" in r for r in runs):
        plot_angular(args.out_dir, runs, labels)
        print(f"wrote {args.out_dir}/length_generalization.png")
        return
    if any("angular_velocity_generalization" in r for r in runs):
        raise SystemExit("plot rotation and translation models separately")
    grids = [np.array(r["velocity_generalization"]["mse"]) for r in runs]
    vmax = max(g.max() for g in grids)
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.8), squeeze=False)
    for ax, run, grid, label in zip(axes[0], runs, grids, labels):
        vg = run["velocity_generalization"]
        vx, vy = vg["vx"], vg["vy"]
        im = ax.imshow(grid, origin="lower", vmin=0, vmax=vmax, cmap="viridis",
                       extent=[vx[0] - 0.5, vx[-1] + 0.5, vy[0] - 0.5, vy[-1] + 0.5])
        d = vg["train_range"]
        ax.add_patch(plt.Rectangle((-d - 0.5, -d - 0.5), 2 * d + 1, 2 * d + 1, fill=False, ec="white", lw=1.5))
        ax.set_xlabel("$v_x$ (pixels / frame)")
        ax.set_ylabel("$v_y$")
        ax.set_title(label)
    fig.colorbar(im, ax=axes[0].tolist(), label="MSE")
    fig.suptitle("Velocity generalization (box: training velocities)")
    fig.savefig(os.path.join(args.out_dir, "velocity_generalization.png"), dpi=120)
    plt.close(fig)
    print(f"wrote {args.out_dir}/length_generalization.png and velocity_generalization.png")


def shade_training(ax, velocities, grid, label):
    """Shades each training angular velocity as wide as one step of the test grid, so a test
    velocity between two training ones stays unshaded; neighbours merge into one band."""
    grid = sorted(grid)
    half = min((b - a for a, b in zip(grid, grid[1:])), default=10) / 2
    bands = []
    for v in sorted(velocities):
        if bands and v - half <= bands[-1][1]:
            bands[-1][1] = v + half
        else:
            bands.append([v - half, v + half])
    for i, (lo, hi) in enumerate(bands):
        ax.axvspan(lo, hi, color="gray", alpha=0.15, label=label if i == 0 else None)


def line_figure(path, curves, mark, xlabel, ylabel, title, ylim=None):
    """One curve (x, y, label) per model; mark(ax) marks the training velocities."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for x, y, label in curves:
        ax.plot(x, y, marker="o", label=label)
    mark(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def plot_angular(out_dir, runs, labels):
    """Rotation models: MSE per angular velocity, the training velocities shaded."""
    key = "angular_velocity_generalization"
    line_figure(os.path.join(out_dir, "velocity_generalization.png"),
                [(r[key]["omega"], r[key]["mse"], label) for r, label in zip(runs, labels)],
                lambda ax: shade_training(ax, runs[0][key]["train_velocities"],
                                          runs[0][key]["omega"], "training velocities"),
                "angular velocity ω (degrees / frame), both digits", "test MSE",
                "Angular velocity generalization")


def plot_strip(npy, info, out, label):
    """Rows input / truth / prediction per sequence; frames numbered from 1 (the input's first)."""
    strip = np.load(npy)  # (k, 3, frames, C, H, W), NaN where a row is shorter
    k, rows, cols = strip.shape[:3]
    t_in = info["input_frames"]
    fig, axes = plt.subplots(k * rows, cols, figsize=(0.75 * cols + 1.2, 0.8 * k * rows + 0.6),
                             squeeze=False)
    for b in range(k):
        for r in range(rows):
            for c in range(cols):
                ax = axes[b * rows + r][c]
                ax.set_xticks([])
                ax.set_yticks([])
                frame = strip[b, r, c]
                if np.isnan(frame).all():
                    ax.axis("off")
                    continue
                image = frame[0] if frame.shape[0] != 3 else np.transpose(frame, (1, 2, 0))
                ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
                # Frame index: the input row counts from 1, the predicted frames go on after it.
                ax.set_xlabel(str(c + 1 if r == 0 else t_in + c + 1), fontsize=6, labelpad=1)
                if c == 0:
                    ax.set_ylabel(f"{b + 1}: {info['rows'][r]}", fontsize=7, rotation=0,
                                  ha="right", va="center")
    fig.suptitle(f"{label}: frames 1..{t_in} in, {t_in + 1}..{t_in + info['output_frames']} "
                 "predicted", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_classifiers(out_dir, runs, labels):
    path = os.path.join(out_dir, "velocity_accuracy.png")
    if all("angular_velocity_accuracy" in r for r in runs):
        key = "angular_velocity_accuracy"
        line_figure(path, [(r[key]["omega"], r[key]["accuracy"], label)
                           for r, label in zip(runs, labels)],
                    lambda ax: shade_training(ax, runs[0][key]["train_velocities"],
                                              runs[0][key]["omega"], "training velocities"),
                    "angular velocity ω (degrees / frame)", "test accuracy",
                    "Angular velocity generalization", (0, 1))
    elif all("velocity_accuracy" in r for r in runs):
        key = "velocity_accuracy"
        line_figure(path, [(r[key]["velocity_range"], r[key]["accuracy"], label)
                           for r, label in zip(runs, labels)],
                    lambda ax: ax.axvline(runs[0][key]["train_range"], color="gray", ls="--",
                                          lw=1, label="training range"),
                    "test velocity range d (velocities in [-d, d]²)", "test accuracy",
                    "Velocity generalization", (0, 1))
    else:
        print("no common velocity sweep in these results (clips of a rotation model, or "
              "rotation and translation models together): no figure")


if __name__ == "__main__":
    main()
