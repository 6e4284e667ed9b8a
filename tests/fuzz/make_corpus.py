#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/NAME/) from real fernn files: the
shipped specs, a compiled tiny model's manifest, numpy-written .npy files, fernn-written
safetensors, IDX files plain and gzipped, a run record and metrics lines. Deterministic; the
output is committed, so the fuzzers start from valid files of every kind.

  tests/fuzz/make_corpus.py --fernn build/fernn
"""
import argparse
import glob
import gzip
import json
import os
import shutil
import struct
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(name, file, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, file), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    a = ap.parse_args()
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    tiny = os.path.join(ROOT, "tests", "specs", "tiny_fernn.json")

    specs = sorted(glob.glob(os.path.join(ROOT, "specs", "*.json")) +
                   glob.glob(os.path.join(ROOT, "tests", "specs", "*.json")))
    for path in specs:
        put("spec", os.path.basename(path), open(path, "rb").read())

    put("set", "channels", "recurrence.channels=8")
    put("set", "velocities", "flow.velocities=[[2,0],[0,-1],[-1,3]]\nreadout.pool=mean")
    put("set", "lifting", 'lifting={"layers": [{"channels": 3, "kernel": 3, "padding": "zeros", '
        '"batchnorm": true, "activation": "relu"}, {"channels": 5, "kernel": 3, '
        '"padding": "circular", "batchnorm": false, "activation": "none"}]}\nfernn=2')
    put("set", "classes", 'fernn=2\nreadout={"kind": "classes", "classes": 3, "pool": "max", '
        '"time": "last", "space": "mean"}\nsequence={"input_frames": 4}')

    with tempfile.TemporaryDirectory() as tmp:
        def npy(name, array, version=None):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                if version:
                    np.lib.format.write_array(f, array, version=version)
                else:
                    np.save(f, array)
            put("npy", name, open(path, "rb").read())
        rng = np.random.default_rng(0)
        npy("frames_f4.npy", rng.random((2, 3, 1, 6, 7), dtype=np.float32))
        npy("frames_f8.npy", rng.random((1, 2, 1, 3, 3)))
        npy("labels_i8.npy", np.arange(5, dtype=np.int64))
        npy("labels_i4.npy", np.arange(3, dtype=np.int32))
        npy("clips_u1.npy", rng.integers(0, 255, (2, 4, 1, 4, 4), dtype=np.uint8))
        npy("scalar.npy", np.float32(3.25))
        npy("v2.npy", np.zeros((2, 2), dtype=np.float32), version=(2, 0))

        model = os.path.join(tmp, "model")
        subprocess.run([a.fernn, "compile", tiny, "-o", model], check=True,
                       stdout=subprocess.DEVNULL)
        manifest = open(glob.glob(os.path.join(model, "*.manifest.json"))[0], "rb").read()
        put("manifest", "tiny.manifest.json", manifest)
        m = json.loads(manifest)

        ckpt = os.path.join(tmp, "init.safetensors")
        subprocess.run([a.fernn, "init", tiny, "--seed", "0", "--out", ckpt],
                       check=True, stdout=subprocess.DEVNULL)
        put("safetensors", "init.safetensors", open(ckpt, "rb").read())
    f4 = struct.pack("<4f", 1, 2, 3, 4)
    put("safetensors", "mixed.safetensors", safetensors(
        {"a": ("F32", [2, 2], f4), "b": ("F64", [1], struct.pack("<d", 1.5)),
         "n": ("I64", [], struct.pack("<q", 7))}, {"fernn.step": "3"}))
    meta = {"fernn.model_hash": "0123456789abcdef", "fernn.step": "100",
            "fernn.adam_steps": "100", "fernn.best_val": "0.03125", "fernn.best_step": "50"}
    put("resume", "resume.safetensors", safetensors({"w": ("F32", [4], f4)}, meta))
    put("resume", "inf.safetensors", safetensors({}, dict(meta, **{"fernn.best_val": "inf"})))

    def idx(dims, payload):
        return b"\0\0\x08" + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
    images = idx([3, 4, 4], bytes(range(48)))
    put("idx", "images", images)
    put("idx", "labels", idx([3], b"\x01\x02\x03"))
    put("idx", "images.gz", gzip.compress(images, mtime=0))

    settings = {"data": "mnist", "steps": 100, "batch": 8, "lr": 0.001, "clip_grad_norm": 1.0,
                "seed": 0, "data_velocity_range": 2, "val_every": 0, "val_sequences": 256}
    put("run_record", "run.json", json.dumps({"fernn_run": 1, "spec": m["spec"],
                                              "model_hash": m["model_hash"],
                                              "settings": settings}, indent=2))
    put("metrics", "metrics.jsonl",
        '{"step":1,"loss":0.25,"grad_norm":1.5,"lr":0.001,"seconds":0.1}\n'
        '{"step":2,"loss":0.125,"grad_norm":1.25,"lr":0.001,"seconds":0.2}\n'
        '{"step":2,"val_mse":0.1,"best":true}\n')


if __name__ == "__main__":
    main()
