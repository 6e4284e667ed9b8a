#!/usr/bin/python3
"""Parity of fernn with the reference PyTorch models: same checkpoint, same random data.

Runs `fernn init / predict / encode / gradients` on SPEC, rebuilds the reference model in
PyTorch (tests/reference_model.py) from the same checkpoint (load_state_dict, strict), and
compares, with relative error ||fernn - torch|| / ||torch||:
  frames   predictions, every layer's hidden states, the MSE loss and every gradient;
  classes  logits and hidden states in evaluation mode (BatchNorm's running statistics), the
           cross-entropy loss and every gradient in training mode (batch statistics), and the
           running statistics that training-mode forward leaves behind.
Exits 1 if any exceeds --tolerance.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import build, load_safetensors  # noqa: E402


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


def hidden_files(path, layers):
    if layers == 1:
        return [path]
    stem, ext = os.path.splitext(path)
    return [f"{stem}.layer{l}{ext}" for l in range(layers)]


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
    for old in glob.glob(os.path.join(args.workdir, "*")):
        os.remove(old)
    sets = [x for s in args.set for x in ("--set", s)]
    spec = json.loads(run([args.fernn, "check", args.spec, "--json"] + sets))["spec"]
    classes = spec["readout"]["kind"] == "classes"
    layers = len(spec["recurrence"]["layers"])
    t_in = spec["sequence"]["input_frames"]
    t_out = 0 if classes else spec["sequence"]["output_frames"]
    c, h, w = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]

    rng = np.random.default_rng(args.seed)
    x = rng.random((args.batch, t_in, c, h, w), dtype=np.float32)
    paths = {k: os.path.join(args.workdir, k) for k in
             ["x.npy", "y.npy", "ckpt.safetensors", "pred.npy", "hidden.npy", "grads.safetensors",
              "state.safetensors"]}
    np.save(paths["x.npy"], x)
    if classes:
        y = rng.integers(0, spec["readout"]["classes"], size=args.batch).astype(np.int64)
        target = ["--labels", paths["y.npy"]]
    else:
        y = rng.random((args.batch, t_out, c, h, w), dtype=np.float32)
        target = ["--target", paths["y.npy"]]
    np.save(paths["y.npy"], y)
    run([args.fernn, "init", args.spec, "--seed", str(args.seed), "--out", paths["ckpt.safetensors"]] + sets)
    common = ["--checkpoint", paths["ckpt.safetensors"], "--input", paths["x.npy"]] + sets
    run([args.fernn, "predict", args.spec, "--output", paths["pred.npy"]]
        + ([] if classes else ["--frames", str(t_out)]) + common)
    run([args.fernn, "encode", args.spec, "--output", paths["hidden.npy"]] + common)
    out = run([args.fernn, "gradients", args.spec, "--out", paths["grads.safetensors"],
               "--state-out", paths["state.safetensors"]] + target + common)
    fernn_loss = float(out.split()[1])

    ckpt = load_safetensors(paths["ckpt.safetensors"])
    model = build(spec, {name: tuple(t.shape) for name, t in ckpt.items()}).double()
    for name, buf in model.named_buffers():
        if name.endswith("shift_kernels") and not torch.equal(buf.float(), ckpt[name]):
            sys.exit(f"{name}: fernn's buffer differs from the reference construction")
    model.load_state_dict(ckpt, strict=True)
    model.double()
    xt = torch.from_numpy(x).double()
    checks = []
    model.eval()
    with torch.no_grad():
        if classes:
            pred, hidden = model(xt, return_hidden=True)
        else:
            pred = model(xt, t_out)
            _, hidden = model(xt, 0, return_hidden=True)
    checks.append(("logits" if classes else "predictions", np.load(paths["pred.npy"]), pred.numpy()))
    for l, path in enumerate(hidden_files(paths["hidden.npy"], layers)):
        checks.append((f"hidden states layer {l}", np.load(path), hidden[l].numpy()))

    model.train()
    if classes:
        loss = torch.nn.functional.cross_entropy(model(xt), torch.from_numpy(y))
    else:
        loss = torch.nn.functional.mse_loss(model(xt, t_out), torch.from_numpy(y).double())
    loss.backward()
    checks.append(("loss", fernn_loss, loss.item()))
    grads = load_safetensors(paths["grads.safetensors"])
    if set(grads) != {n for n, _ in model.named_parameters()}:
        sys.exit(f"gradient names differ: fernn {sorted(grads)}")
    for name, p in model.named_parameters():
        checks.append(("grad " + name, grads[name].numpy(), p.grad.numpy()))
    state = load_safetensors(paths["state.safetensors"])
    for name, buf in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            if int(state[name]) != int(buf):
                sys.exit(f"{name}: fernn {int(state[name])}, torch {int(buf)}")
        elif not name.endswith(("shift_kernels", "sampled_basis", ".filter")):
            checks.append(("after training forward: " + name, state[name].numpy(), buf.numpy()))
    if any(n.endswith("running_var") for n, _ in model.named_buffers()):
        # Evaluation mode again, now with the running statistics the training forward moved.
        moved = os.path.join(args.workdir, "pred_moved.npy")
        run([args.fernn, "predict", args.spec, "--output", moved, "--checkpoint",
             paths["state.safetensors"], "--input", paths["x.npy"]]
            + ([] if classes else ["--frames", str(t_out)]) + sets)
        model.eval()
        with torch.no_grad():
            again = model(xt) if classes else model(xt, t_out)
        checks.append(("evaluation mode, moved statistics", np.load(moved), again.numpy()))

    worst = 0.0
    for name, a, b in checks:
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            sys.exit(f"{name}: shape {a.shape} vs torch {b.shape}")
        e = rel_err(a, b)
        worst = max(worst, e)
        print(f"{name:56s} rel err {e:.3e}   |torch| {np.linalg.norm(b):.4g}")
    print(f"worst relative error {worst:.3e} (tolerance {args.tolerance:g})")
    if not worst <= args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
