#!/usr/bin/env python3
"""Compares tensors of two runs (.npy files, or .safetensors files tensor by tensor) by relative
L2 error ||a - b|| / ||b||, and fails (exit 1) when any exceeds --tol or holds a NaN. Needs only
numpy. Prints one line per tensor and a JSON summary last.

    compare_tensors.py --tol 1e-4 --label forward cpu.npy cuda.npy [cpu2.safetensors cuda2.safetensors ...]
"""
import argparse
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def read(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return {"": np.load(path)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--label", default="")
    ap.add_argument("files", nargs="+", help="pairs: tested reference")
    args = ap.parse_args()
    if len(args.files) % 2:
        sys.exit("compare_tensors.py: files come in pairs (tested, reference)")
    worst, failures, rows = 0.0, [], []
    for tested_path, ref_path in zip(args.files[::2], args.files[1::2]):
        tested, ref = read(tested_path), read(ref_path)
        if tested.keys() != ref.keys():
            failures.append(f"{tested_path}: tensors {sorted(tested)} differ from {sorted(ref)}")
            continue
        for name in sorted(ref):
            a, b = tested[name].astype(np.float64), ref[name].astype(np.float64)
            label = f"{tested_path}:{name}" if name else tested_path
            if a.shape != b.shape:
                failures.append(f"{label}: shape {a.shape} vs {b.shape}")
                continue
            norm = np.linalg.norm(b)
            err = float(np.linalg.norm(a - b) / norm) if norm > 0 else float(np.linalg.norm(a))
            if not np.isfinite(a).all() or not np.isfinite(err):
                err = float("nan")
            rows.append((label, err))
            print(f"{args.label} {label}: relative error {err:.3g}")
            if not err <= args.tol:
                failures.append(f"{label}: relative error {err:.3g} > {args.tol:g}")
            elif err > worst:
                worst = err
    print(json.dumps({"label": args.label, "tensors": len(rows), "worst": worst if not failures else None,
                      "tolerance": args.tol, "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
