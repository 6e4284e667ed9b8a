#!/usr/bin/python3
"""Checkpoints between fernn and the reference rotation model with the real escnn (run by hand;
escnn is not installable on Debian, see make_escnn_basis.py for running it from its source).

    PYTHONPATH=/tmp/escnn:/tmp/stubs:/path/to/FERNN/rotating_mnist_fp \\
        /usr/bin/python3 tests/goldens/escnn_roundtrip.py --fernn build/fernn

1. `fernn init` → load_state_dict(strict=True) into Seq2SeqRotationRNN (eval mode) → both
   predict the same random frames.
2. The reference's own initial state_dict (escnn's float32 basis and filters) saved as
   safetensors → `fernn predict` with it → both predict the same frames.
Prints the relative errors; exits 1 above 1e-4.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference_model import load_safetensors  # noqa: E402
from rotating_mnist_models import Seq2SeqRotationRNN  # noqa: E402  (the reference's file)

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "specs",
                    "rotating_fernn.json")
SETS = ["--set", "recurrence.channels=2", "--set", "input.height=16", "--set", "input.width=16",
        "--set", "sequence.input_frames=3", "--set", "sequence.output_frames=2",
        "--set", "readout.decoder.layers=1"]


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().cpu().numpy().astype(np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def reference():
    m = Seq2SeqRotationRNN(1, 2, 16, 16, h_kernel_size=3, u_kernel_size=3,
                           v_list=list(range(-40, 41, 10)), N=36, decoder_conv_layers=1)
    m.eval()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    x = np.random.default_rng(0).random((2, 3, 1, 16, 16), dtype=np.float32)
    np.save(os.path.join(work, "x.npy"), x)

    def fernn_predict(checkpoint):
        out = os.path.join(work, "p.npy")
        subprocess.run([args.fernn, "predict", SPEC, "--checkpoint", checkpoint, "--input",
                        os.path.join(work, "x.npy"), "--output", out, "--frames", "2"] + SETS,
                       check=True, capture_output=True)
        return np.load(out)

    worst = 0.0
    ckpt = os.path.join(work, "fernn.safetensors")
    subprocess.run([args.fernn, "init", SPEC, "--seed", "3", "--out", ckpt] + SETS, check=True,
                   capture_output=True)
    m = reference()
    m.load_state_dict(load_safetensors(ckpt), strict=True)
    with torch.no_grad():
        want = m(torch.from_numpy(x), 2).numpy()
    e = float(np.linalg.norm(fernn_predict(ckpt) - want) / np.linalg.norm(want))
    print(f"fernn checkpoint in the reference (strict load): rel err {e:.3e}")
    worst = max(worst, e)

    m = reference()
    ref_ckpt = os.path.join(work, "reference.safetensors")
    save_safetensors(ref_ckpt, m.state_dict())
    with torch.no_grad():
        want = m(torch.from_numpy(x), 2).numpy()
    e = float(np.linalg.norm(fernn_predict(ref_ckpt) - want) / np.linalg.norm(want))
    print(f"reference checkpoint in fernn: rel err {e:.3e}")
    worst = max(worst, e)
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()
