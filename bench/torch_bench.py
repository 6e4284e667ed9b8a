#!/usr/bin/python3
"""The PyTorch anchor of `fernn bench`: the same model written the way the paper's code writes
it (tests/reference_model.py: frame predictors with torch.roll per velocity, classifiers with
the KTH reference's shift-kernel group convolution; circular Conv2d over the stacked copies;
rotation models as rotating_mnist_fp with escnn's expansion, tests/rotation_reference.py),
timed the same way: inference forward (BatchNorm in evaluation mode); training step = forward
+ loss (MSE or cross-entropy) + backward + clip_grad_norm_ + Adam step. Prints one JSON
object.

On CUDA (--device cuda) every timing ends with torch.cuda.synchronize(); convolutions run in
true float32 like fernn's (TF32 off unless --tf32) with cuDNN's autotuner on.

--module times fernn's own model in the same loop: fernn.torch.Model (python/fernn), the
compiled forward and BPTT as a torch.nn.Module, with the loss, clipping and Adam in PyTorch
(bench/module_overhead.py compares it with `fernn train`'s step and the reference).

    torch_bench.py --fernn build/fernn --spec specs/fernn_v1.json [--set PATH=VALUE ...]
                   [--batch 16] [--threads 2] [--repeats 3] [--warmup 1] [--device cuda]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from reference_model import build, load_safetensors  # noqa: E402


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)  # oneDNN builds its kernels on first use
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tf32", action="store_true", help="let cuDNN use TF32 (not float32)")
    ap.add_argument("--module", action="store_true",
                    help="time fernn.torch.Model (the compiled model) instead of the reference")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32

    def now():
        if args.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    sets = [x for s in args.set for x in ("--set", s)]
    spec = json.loads(subprocess.run([args.fernn, "check", args.spec, "--json"] + sets, check=True,
                                     capture_output=True, text=True).stdout)["spec"]
    classes = spec["readout"]["kind"] == "classes"
    t_in = spec["sequence"]["input_frames"]
    t_out = 0 if classes else spec["sequence"]["output_frames"]
    c, h, w = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
    torch.manual_seed(0)
    framework = f"pytorch {torch.__version__}"
    if args.module:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
        import fernn.torch
        model = fernn.torch.Model(args.spec, overrides=args.set, device=args.device, seed=0)
        model.compiled.set_threads(args.threads)
        framework = f"fernn.torch (pytorch {torch.__version__})"
    elif spec["flow"]["group"] == "rotation":
        # escnn's R2Conv needs its sampled basis: take it (and initial weights) from fernn init.
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "init.safetensors")
            subprocess.run([args.fernn, "init", args.spec, "--seed", "0", "--out", ckpt] + sets,
                           check=True, capture_output=True)
            state = load_safetensors(ckpt)
        model = build(spec, {k: tuple(v.shape) for k, v in state.items()})
        model.load_state_dict(state)
        model = model.to(dev)
    else:
        model = build(spec).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=spec["training"]["lr"])
    x = torch.rand(args.batch, t_in, c, h, w, device=dev)
    if classes:
        y = torch.randint(0, spec["readout"]["classes"], (args.batch,), device=dev)
        run = lambda: model(x)  # noqa: E731
        loss_of = torch.nn.functional.cross_entropy
    else:
        y = torch.rand(args.batch, t_out, c, h, w, device=dev)
        run = lambda: model(x, t_out)  # noqa: E731
        loss_of = torch.nn.functional.mse_loss
    clip = spec["training"]["clip_grad_norm"]

    forward, backward, step = [], [], []
    for rep in range(args.warmup + args.repeats):
        model.eval()
        t0 = now()
        with torch.no_grad():
            run()
        t1 = now()
        model.train()
        opt.zero_grad()
        loss = loss_of(run(), y)
        t2 = now()
        loss.backward()
        t3 = now()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        t4 = now()
        if rep >= args.warmup:
            forward.append(1e3 * (t1 - t0))
            backward.append(1e3 * (t3 - t2))
            step.append(1e3 * (t4 - t1))
    print(json.dumps({"framework": framework, "device": args.device,
                      "tf32": args.tf32, "threads": args.threads,
                      "batch": args.batch, "forward_ms": median(forward),
                      "backward_ms": median(backward), "train_step_ms": median(step),
                      # the process's largest resident set (host memory; GPU memory not counted)
                      "peak_memory_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


if __name__ == "__main__":
    main()
