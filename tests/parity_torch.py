#!/usr/bin/python3
"""Parity of fernn with the reference PyTorch model: same checkpoint, same random data.

Runs `fernn init / predict / encode / gradients` on SPEC, rebuilds the reference model in
PyTorch from the same checkpoint (load_state_dict, strict), and compares predictions, hidden
states, the MSE loss and every parameter gradient. Relative error = ||fernn - torch|| / ||torch||.
Exits 1 if any exceeds --tolerance.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import Seq2Seq, load_safetensors  # noqa: E402


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / (denom if denom > 0 else 1.0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.workdir, exist_ok=True)
    sets = [x for s in args.set for x in ("--set", s)]
    spec = json.loads(run([args.fernn, "check", args.spec, "--json"] + sets))["spec"]
    t_in, t_out = spec["sequence"]["input_frames"], spec["sequence"]["output_frames"]
    c, h, w = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]

    rng = np.random.default_rng(args.seed)
    x = rng.random((args.batch, t_in, c, h, w), dtype=np.float32)
    y = rng.random((args.batch, t_out, c, h, w), dtype=np.float32)
    paths = {k: os.path.join(args.workdir, k) for k in
             ["x.npy", "y.npy", "ckpt.safetensors", "pred.npy", "hidden.npy", "grads.safetensors"]}
    np.save(paths["x.npy"], x)
    np.save(paths["y.npy"], y)
    run([args.fernn, "init", args.spec, "--seed", str(args.seed), "--out", paths["ckpt.safetensors"]] + sets)
    common = ["--checkpoint", paths["ckpt.safetensors"], "--input", paths["x.npy"]] + sets
    run([args.fernn, "predict", args.spec, "--output", paths["pred.npy"], "--frames", str(t_out)] + common)
    run([args.fernn, "encode", args.spec, "--output", paths["hidden.npy"]] + common)
    out = run([args.fernn, "gradients", args.spec, "--target", paths["y.npy"],
               "--out", paths["grads.safetensors"]] + common)
    fernn_loss = float(out.split()[1])

    model = Seq2Seq(spec)
    model.load_state_dict(load_safetensors(paths["ckpt.safetensors"]), strict=True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.no_grad():
        _, hidden = model(xt, 0, return_hidden=True)
    pred = model(xt, t_out)
    loss = torch.nn.functional.mse_loss(pred, yt)
    loss.backward()

    checks = [("predictions", np.load(paths["pred.npy"]), pred.detach().numpy()),
              ("hidden states", np.load(paths["hidden.npy"]), hidden.numpy()),
              ("loss", fernn_loss, loss.item())]
    grads = load_safetensors(paths["grads.safetensors"])
    for name, p in model.named_parameters():
        checks.append(("grad " + name, grads[name].numpy(), p.grad.numpy()))
    if set(grads) != {n for n, _ in model.named_parameters()}:
        sys.exit(f"gradient names differ: fernn {sorted(grads)}")
    worst = 0.0
    for name, a, b in checks:
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            sys.exit(f"{name}: shape {a.shape} vs torch {b.shape}")
        e = rel_err(a, b)
        worst = max(worst, e)
        print(f"{name:32s} rel err {e:.3e}   |torch| {np.linalg.norm(b):.4g}")
    print(f"worst relative error {worst:.3e} (tolerance {args.tolerance:g})")
    if not worst <= args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
