#!/usr/bin/python3
"""fernn's optimizer_step pipeline (gradient clipping + Adam, as compiled into every model
library) against torch.optim.Adam and clip_grad_norm_.

The same parameters (split into two tensors, so clipping uses the norm over both) and the same
sequence of gradients go through both; the parameters after every step must agree to float32
rounding (relative error <= 1e-6), with and without clipping, with gradients small and large.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", required=True)
    ap.add_argument("--fernn", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    model = os.path.join(args.workdir, "model")
    subprocess.run([args.fernn, "compile", args.spec, "-o", model], check=True, capture_output=True)
    rng = np.random.default_rng(3)
    n, split, steps = 300, 120, 25
    worst_all = 0.0
    for lr, clip, scale in [(1e-3, 1.0, 1.0), (1e-2, 0.0, 0.1), (3e-4, 0.5, 10.0), (1e-3, 1e3, 1.0)]:
        p0 = rng.standard_normal(n).astype(np.float32)
        g = (scale * rng.standard_normal((steps, n))).astype(np.float32)
        g[3] *= 1e-4  # a step with tiny gradients
        pf, gf, of = (os.path.join(args.workdir, f) for f in ("p.npy", "g.npy", "out.npy"))
        np.save(pf, p0)
        np.save(gf, g)
        subprocess.run([args.runner, model, pf, gf, repr(lr), repr(clip), of], check=True)
        ours = np.load(of)

        params = [torch.nn.Parameter(torch.from_numpy(p0[:split].copy())),
                  torch.nn.Parameter(torch.from_numpy(p0[split:].copy()))]
        opt = torch.optim.Adam(params, lr=lr)
        worst = 0.0
        for s in range(steps):
            params[0].grad = torch.from_numpy(g[s, :split].copy())
            params[1].grad = torch.from_numpy(g[s, split:].copy())
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            ref = torch.cat([p.detach() for p in params]).numpy()
            worst = max(worst, float(np.abs(ours[s] - ref).max() / np.abs(ref).max()))
        print(f"lr {lr:g} clip {clip:g} gradient scale {scale:g}: worst relative error over {steps} steps {worst:.2e}")
        worst_all = max(worst_all, worst)
    sys.exit(0 if worst_all <= 1e-6 else 1)


if __name__ == "__main__":
    main()
