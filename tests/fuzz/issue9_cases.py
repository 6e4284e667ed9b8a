#!/usr/bin/env python3
"""The hostile inputs issue 9 reported, run through a fernn-run binary's command line (no
compiled model needed), each in a process limited to 2 GiB of address space. Prints one row per
case: how the process ended, its peak memory and the first line of its message. Used to show a
build before and after the fixes side by side (docs/FUZZING.md).

  tests/fuzz/issue9_cases.py --fernn-run build/fernn-run --work /tmp/issue9
"""
import argparse
import gzip
import json
import os
import resource
import shutil
import signal
import struct
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "tests", "specs", "tiny_fernn.json")


def idx(dims, payload=b""):
    return b"\0\0\x08" + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def npy(dict_text, payload, version=1):
    head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H" if version == 1 else "<I", len(dict_text))
    return head + dict_text.encode() + payload


def cases(work):
    spec = json.load(open(TINY))
    out = []

    def write(name, data):
        path = os.path.join(work, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    deep = dict(spec)
    text = json.dumps(deep).replace('"channels": 5', '"channels": ' + "[" * 60000 + "5" + "]" * 60000)
    out.append(("spec nested 60,000 levels", ["check", write("deep.json", text)]))
    out.append(("--set nested 60,000 levels",
                ["check", TINY, "--set=recurrence.channels=" + "[" * 60000 + "5" + "]" * 60000]))
    out.append(("spec number 1e400", ["check", write("overflow.json", json.dumps(spec).replace('"kernel": 3', '"kernel": 1e400', 1))]))
    big = json.loads(json.dumps(spec))
    big["input"].update(height=4096, width=4096)
    big["flow"]["velocities"] = {"range": 2047}
    out.append(("spec 4096x4096, range 2047 (330 bytes)", ["check", write("big.json", json.dumps(big))]))
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (20, 5, 1, 6, 7" + " " * 30000 + "), }\n"
    write("longheader/clips.npy", npy(header, bytes(20 * 5 * 42), version=2))
    out.append(("clips .npy, a legal 30 KB header (spaces in the shape)", ["data", "info", "--data", "clips:" + os.path.join(work, "longheader")]))
    write("idxwrap/images-idx3-ubyte", idx([16, 1 << 30, 1 << 30]))
    out.append(("IDX dimensions wrapping to 0", ["data", "info", "--data", os.path.join(work, "idxwrap")]))
    write("idxbig/images-idx3-ubyte.gz", gzip.compress(idx([1 << 30, 28, 28]), mtime=0))
    out.append(("IDX .gz (36 bytes) claiming 2^30 images", ["data", "info", "--data", os.path.join(work, "idxbig")]))
    write("bomb/images-idx3-ubyte.gz", gzip.compress(idx([1024, 1024, 1024]) + bytes(1 << 30), 9, mtime=0))
    out.append(("IDX gzip bomb (1 MB inflating to 1 GiB)", ["data", "info", "--data", os.path.join(work, "bomb")]))
    return out


def run(binary, argv):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen([binary] + argv, stdout=null, stderr=subprocess.PIPE, preexec_fn=limit)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    code = p.returncode
    ended = "signal %s" % signal.Signals(-code).name if code < 0 else "exit %d" % code
    first = err.decode("utf-8", "replace").strip().splitlines()[:1]
    return ended, usage.ru_maxrss / 1024.0, (first[0] if first else "")[:110]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn-run", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    print("| input | ended | peak MiB | message |")
    print("|---|---|---:|---|")
    for name, argv in cases(a.work):
        ended, peak, message = run(os.path.abspath(a.fernn_run), argv)
        print("| %s | %s | %.0f | %s |" % (name, ended, peak, message.replace("|", "\\|").replace(a.work, "W")))


if __name__ == "__main__":
    main()
