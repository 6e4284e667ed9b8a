#!/usr/bin/python3
"""A compiled FERNN trained by an ordinary PyTorch loop: fernn.torch.Model, torch.optim.Adam,
clip_grad_norm_, mean squared error written in PyTorch, on Flowing MNIST sequences exported to
numpy by `fernn data sample`. It writes metrics.jsonl with the keys `fernn train` writes
(step, loss, grad_norm, step_ms; validation lines step, val_mse, best), so
tools/plot_training.py draws both kinds of run on one figure.

    fernn data sample --split train --count 3200 --frames 20 --out train.npy
    fernn data sample --split val --count 128 --frames 20 --out val.npy
    train_flowing_mnist.py --spec specs/fernn_v1.json --set recurrence.channels=16 \\
        --train train.npy --val val.npy --steps 200 --batch 16 --out runs/torch_loop
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fernn.torch  # noqa: E402


def validate(model, val, t_in, t_out, batch):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(val), batch):
            seq = torch.from_numpy(val[i:i + batch])
            pred = model(seq[:, :t_in], t_out)
            total += torch.nn.functional.mse_loss(pred, seq[:, t_in:t_in + t_out],
                                                  reduction="sum").item()
            count += pred.numel()
    model.train()
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--set", action="append", default=[], help="PATH=VALUE, as fernn --set")
    ap.add_argument("--train", required=True, help="(N, T_in + T_out, C, H, W) .npy")
    ap.add_argument("--val", required=True)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0, help="the initialization's, as fernn train")
    ap.add_argument("--val-every", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = fernn.torch.Model(args.spec, overrides=args.set, seed=args.seed)
    model.compiled.set_threads(args.threads)
    seq = model.compiled.spec["sequence"]
    t_in, t_out = seq["input_frames"], seq["output_frames"]
    train = np.load(args.train, mmap_mode="r")
    val = np.ascontiguousarray(np.load(args.val)[:, :t_in + t_out])
    if len(train) < args.steps * args.batch:
        sys.exit(f"{args.train}: {len(train)} sequences; {args.steps} steps of {args.batch} "
                 f"need {args.steps * args.batch}")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out, exist_ok=True)
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "w")
    best = float("inf")

    def log_validation(step):
        nonlocal best
        v = validate(model, val, t_in, t_out, args.batch)
        is_best = v < best
        best = min(best, v)
        metrics.write(json.dumps({"step": step, "val_mse": v, "best": is_best}) + "\n")
        metrics.flush()
        print(f"step {step}: validation MSE {v:.6f}", flush=True)

    log_validation(0)
    for step in range(1, args.steps + 1):
        # A copy: the memory-mapped file is read-only.
        batch = torch.from_numpy(np.array(
            train[(step - 1) * args.batch:step * args.batch, :t_in + t_out]))
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(batch[:, :t_in], t_out), batch[:, t_in:])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step_ms = 1e3 * (time.perf_counter() - t0)
        metrics.write(json.dumps({"step": step, "loss": loss.item(), "grad_norm": float(norm),
                                  "step_ms": step_ms}) + "\n")
        if step % args.val_every == 0 or step == args.steps:
            log_validation(step)
    metrics.close()
    fernn.torch.save_checkpoint(os.path.join(args.out, "last.safetensors"), model.state_dict())


if __name__ == "__main__":
    main()
