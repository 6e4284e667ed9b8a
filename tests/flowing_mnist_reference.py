#!/usr/bin/python3
"""fernn's Flowing MNIST generator against the paper's construction.

`fernn data sample` writes sequences and, for each, the recipe it drew (source images,
velocities, start offsets). This script rebuilds every frame from those recipes exactly as
akandykeller/FERNN moving_mnist_fp/moving_mnist_dataset.py does (ToTensor, F.pad to the frame
size, torch.roll by (y0 + vy*t, x0 + vx*t), sum, clamp to [0, 1]) and requires equality.
It also checks the recipes: velocities within [-d, d], offsets within the frame, all
velocities drawn.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import read_idx  # noqa: E402


def reference_sequence(images, recipe, frames, size):
    seq = torch.zeros(frames, 1, size, size)
    imgs = [torch.from_numpy(images[i].copy()).float().div(255).unsqueeze(0) for i in recipe["source_image"]]
    for t in range(frames):
        frame = torch.zeros(1, size, size)
        for i, img in enumerate(imgs):
            pad = (size - img.shape[1]) // 2
            img = F.pad(img, (pad, pad, pad, pad), "constant", 0)
            if img.shape[1] < size:
                img = F.pad(img, (0, size - img.shape[2], 0, size - img.shape[1]), "constant", 0)
            shift_x = recipe["x0"][i] + recipe["vx"][i] * t
            shift_y = recipe["y0"][i] + recipe["vy"][i] * t
            frame += torch.roll(img, shifts=(shift_y, shift_x), dims=(1, 2))
        seq[t] = frame.clamp(0.0, 1.0)
    return seq.numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    failures = 0
    for size, d, count in [(28, 2, 64), (33, 1, 16), (40, 3, 16)]:
        out = os.path.join(args.workdir, f"seq{size}.npy")
        rec = os.path.join(args.workdir, f"seq{size}.json")
        subprocess.run([args.fernn, "data", "sample", "--data", args.data, "--count", str(count), "--frames", "12",
                        "--size", str(size), "--data-velocity-range", str(d), "--seed", "5", "--out", out,
                        "--recipes", rec], check=True, capture_output=True)
        seqs = np.load(out)
        with open(rec) as f:
            recipes = json.load(f)
        images = read_idx(recipes["images"])
        worst = 0.0
        seen = set()
        for i, r in enumerate(recipes["sequences"]):
            ref = reference_sequence(images, r, 12, size)
            worst = max(worst, float(np.abs(seqs[i] - ref).max()))
            for key, hi in [("vx", d), ("vy", d)]:
                assert all(-hi <= v <= hi for v in r[key]), r
            assert all(0 <= v < size for v in r["x0"] + r["y0"]), r
            seen.update(zip(r["vx"], r["vy"]))
        full = (2 * d + 1) ** 2
        print(f"frame {size}x{size}, d={d}: {count} sequences, max |fernn - reference| = {worst:g}, "
              f"{len(seen)}/{full} velocities drawn, values in [{seqs.min():g}, {seqs.max():g}]")
        if worst != 0.0 or seqs.min() < 0 or seqs.max() > 1:
            failures += 1
        if count >= 64 and len(seen) != full:
            failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
