"""fernn.torch.Model against the PyTorch reference model (tests/reference_model.py, float64):
forward, parameter gradients of a loss that is not the built-in one (L1 plus a weighted sum
over frames; for classifiers a weighted softplus of the logits plus L1), BatchNorm's running
statistics, state_dict both ways with strict loading; and torch.autograd.gradcheck of a
float64 build.

    torch_module_test.py --spec SPEC [--set PATH=VALUE ...] [--batch B] [--gradcheck]
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_model import build  # noqa: E402

import fernn  # noqa: E402
import fernn.torch  # noqa: E402


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def custom_loss(out, target, classes):
    """Not the built-in loss: L1 plus a weighted sum over frames (frames), or a weighted
    softplus of the logits plus their L1 distance to a target (classes)."""
    if classes:
        w = torch.linspace(0.5, 1.5, out.shape[1], dtype=out.dtype)
        return (torch.nn.functional.softplus(out) * w).mean() + (out - target).abs().mean()
    w = torch.linspace(1.0, 2.0, out.shape[1], dtype=out.dtype).view(1, -1, 1, 1, 1)
    return (out - target).abs().mean() + (w * out.pow(2)).sum(dim=(2, 3, 4)).mean()


def parity(args, sets):
    torch.manual_seed(args.seed)
    model = fernn.torch.Model(args.spec, overrides=sets)
    spec = model.compiled.spec
    classes = spec["readout"]["kind"] == "classes"
    t_in = spec["sequence"]["input_frames"]
    t_out = 0 if classes else spec["sequence"]["output_frames"]
    c, h, w = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
    model.eval()  # escnn's `filter` tensors are in eval-mode state dicts only
    state = model.state_dict()
    ref = build(spec, {k: tuple(v.shape) for k, v in state.items()})
    ref.eval()
    ref.load_state_dict(state, strict=True)
    ref.double()

    g = torch.Generator().manual_seed(args.seed)
    x = torch.rand(args.batch, t_in, c, h, w, generator=g)
    target = (torch.randn(args.batch, spec["readout"]["classes"], generator=g) if classes
              else torch.rand(args.batch, t_out, c, h, w, generator=g))
    checks = []

    model.eval()
    with torch.no_grad():
        ours = model(x)
        theirs = ref(x.double()) if classes else ref(x.double(), t_out)
    checks.append(("eval outputs", ours, theirs))

    model.train()
    ref.train()
    ours = model(x)
    loss = custom_loss(ours, target, classes)
    loss.backward()
    theirs = ref(x.double()) if classes else ref(x.double(), t_out)
    ref_loss = custom_loss(theirs, target.double(), classes)
    ref_loss.backward()
    checks.append(("train outputs", ours.detach(), theirs.detach()))
    checks.append(("loss", loss.item(), ref_loss.item()))
    ref_params = dict(ref.named_parameters())
    names = [n for n, _ in model.named_parameters()]
    if set(names) != set(ref_params):
        sys.exit(f"parameter names differ: {sorted(names)} vs {sorted(ref_params)}")
    for name, p in model.named_parameters():
        checks.append((f"grad {name}", p.grad, ref_params[name].grad))
    ref_buffers = dict(ref.named_buffers())
    for name, b in model.named_buffers():
        if "running" in name or "num_batches" in name:
            checks.append((f"buffer {name}", b, ref_buffers[name]))

    failed = False
    for what, a, b in checks:
        a = a.numpy() if torch.is_tensor(a) else a
        b = b.numpy() if torch.is_tensor(b) else b
        e = rel_err(a, b)
        ok = e <= args.tolerance
        failed |= not ok
        print(f"{'ok ' if ok else 'BAD'} {what}: relative error {e:.2e}")

    # The reference's state_dict loads back strictly (train mode: no derived `filter`).
    ref.float()
    model.load_state_dict(ref.state_dict(), strict=True)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not torch.equal(p, ref_params[name].float()):
                sys.exit(f"load_state_dict: {name} was not loaded")
    return failed


def gradcheck(args, sets):
    model = fernn.torch.Model(args.spec, overrides=sets, precision="float64", seed=args.seed)
    model.train()
    spec = model.compiled.spec
    classes = spec["readout"]["kind"] == "classes"
    t_in = spec["sequence"]["input_frames"]
    c, h, w = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.rand(args.batch, t_in, c, h, w, generator=g, dtype=torch.float64)
    params = tuple(model.parameters())
    weight = None

    def f(*ps):
        # gradcheck perturbs `ps`, the module's own parameters, in place: the compiled model
        # reads them where they are. One predicted frame: from the second on, the reference
        # feeds predictions back detached (no gradient through them), which a finite
        # difference would see; the parity test covers longer predictions.
        out = model(x) if classes else model(x, 1)
        nonlocal weight
        if weight is None:
            weight = torch.randn(out.shape, generator=g, dtype=torch.float64)
        return (out * weight).sum().reshape(1) + out.abs().sum().reshape(1)

    ok = torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)
    print(f"{'ok ' if ok else 'BAD'} torch.autograd.gradcheck, float64 build "
          f"({sum(p.numel() for p in params)} parameters)")
    return not ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--gradcheck", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    failed = gradcheck(args, args.set) if args.gradcheck else parity(args, args.set)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
