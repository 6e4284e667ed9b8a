#!/usr/bin/python3
"""fernn's Rotating MNIST generator against the paper's construction.

`fernn data sample --angular-velocities ...` writes sequences and, for each, the recipe it drew
(source images, angular velocities ω, start angles θ0). This script rebuilds every frame from
those recipes as akandykeller/FERNN rotating_mnist_fp/rotating_mnist_dataset.py does (ToTensor,
F.pad by ceil(28·√2/2) − 14, the float32 rotation matrix of θ0 + ω·t, affine_grid and
grid_sample with align_corners=True, bilinear, zeros; centred crop to the frame; sum; clamp to
[0, 1]) and requires the frames to agree to float32 rounding (fernn computes in float64). It
also checks the recipes: ω from the given list, θ0 in [0, 360), every ω drawn.
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
    imgs = [torch.from_numpy(images[i].copy()).float().div(255).unsqueeze(0)
            for i in recipe["source_image"]]
    pad = int(np.ceil(28 * np.sqrt(2) / 2) - 14)
    for t in range(frames):
        frame = torch.zeros(1, size, size)
        for i, img in enumerate(imgs):
            padded = F.pad(img, (pad, pad, pad, pad), "constant", 0)
            angle = recipe["theta0"][i] + recipe["omega"][i] * t
            c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
            m = torch.tensor([[c, -s, 0], [s, c, 0]], dtype=torch.float32)
            grid = F.affine_grid(m.unsqueeze(0), padded.unsqueeze(0).shape, align_corners=True)
            rotated = F.grid_sample(padded.unsqueeze(0), grid, align_corners=True, mode="bilinear",
                                    padding_mode="zeros").squeeze(0)
            offset = (size - rotated.shape[1]) // 2
            if offset > 0:
                rotated = F.pad(rotated, (offset, offset, offset, offset), "constant", 0)
            if rotated.shape[1] > size:
                start = (rotated.shape[1] - size) // 2
                rotated = rotated[:, start:start + size, start:start + size]
            frame += rotated
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
    for size, velocities, count in [(28, list(range(-40, 41, 10)), 48), (34, [-20, -5, 0, 5, 20], 8),
                                     (44, [90, -45], 8)]:
        out = os.path.join(args.workdir, f"rot{size}.npy")
        rec = os.path.join(args.workdir, f"rot{size}.json")
        subprocess.run([args.fernn, "data", "sample", "--data", args.data, "--count", str(count),
                        "--frames", "12", "--size", str(size), "--seed", "5", "--out", out,
                        "--recipes", rec, "--angular-velocities"] + [str(v) for v in velocities],
                       check=True, capture_output=True)
        seqs = np.load(out)
        with open(rec) as f:
            recipes = json.load(f)
        images = read_idx(recipes["images"])
        worst = 0.0
        seen = set()
        for i, r in enumerate(recipes["sequences"]):
            ref = reference_sequence(images, r, 12, size)
            worst = max(worst, float(np.abs(seqs[i] - ref).max()))
            assert all(w in velocities for w in r["omega"]), r
            assert all(0 <= a < 360 for a in r["theta0"]), r
            seen.update(r["omega"])
        print(f"frame {size}x{size}, omega in {velocities}: {count} sequences, "
              f"max |fernn - reference| = {worst:.2e}, {len(seen)}/{len(velocities)} velocities "
              f"drawn, values in [{seqs.min():g}, {seqs.max():g}]")
        if not worst <= 1e-5 or seqs.min() < 0 or seqs.max() > 1:
            failures += 1
        if len(seen) != len(velocities):
            failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
