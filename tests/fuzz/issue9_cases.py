#!/usr/bin/env python3
"""The hostile inputs issue 9 reported, run through a build's command line, each in a process
limited to 2 GiB of address space. Prints one row per case: how the process ended, its peak
memory and the first line of its message. Used to show a build before and after the fixes side
by side (docs/FUZZING.md). With --fernn, also the cases that need a compiled model and a run
(compiled and trained with that same build).

  tests/fuzz/issue9_cases.py --fernn-run build/fernn-run [--fernn build/fernn] --work /tmp/issue9
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


def model_cases(work, fernn):
    """Cases on a model compiled and a run trained by `fernn` itself (its own formats)."""
    env = dict(os.environ, FERNN_CACHE=os.path.join(work, "cache"))
    model, run_dir, data = (os.path.join(work, n) for n in ("model", "run", "digits"))
    subprocess.run([fernn, "compile", TINY, "-o", model], check=True, env=env, stdout=subprocess.DEVNULL)
    os.makedirs(data)
    images = bytes(48 * 42)
    with open(os.path.join(data, "images-idx3-ubyte"), "wb") as f:
        f.write(idx([48, 6, 7], images))
    subprocess.run([fernn, "train", TINY, "--model", model, "--data", data, "--batch", "2", "--steps", "2",
                    "--val-every", "2", "--val-sequences", "2", "--data-velocity-range", "1",
                    "--out", run_dir], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = os.path.join(run_dir, "last.safetensors")
    x = os.path.join(work, "x.npy")
    with open(x, "wb") as f:
        f.write(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1, 6, 7), }", bytes(4 * 126)))
    out = []

    def copy_run(name, edit):
        d = os.path.join(work, name)
        shutil.copytree(run_dir, d)
        edit(d)
        return d

    def edit_json(path, change):
        doc = json.load(open(path))
        change(doc)
        json.dump(doc, open(path, "w"))

    def set_batch(d):
        edit_json(os.path.join(d, "run.json"), lambda j: j["settings"].update(batch=0))
    out.append(("run.json settings.batch = 0", ["train", "--resume", copy_run("batch0", set_batch),
                                                "--model", model, "--steps", "4"]))

    def set_meta(value):
        def edit(d):
            path = os.path.join(d, "resume.safetensors")
            raw = open(path, "rb").read()
            n = struct.unpack("<Q", raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            header["__metadata__"]["fernn.step"] = value
            text = json.dumps(header).encode()
            text += b" " * ((8 - len(text) % 8) % 8)
            open(path, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
        return edit
    for value in ("-100", "4x"):
        out.append(('resume metadata fernn.step = "%s"' % value,
                    ["train", "--resume", copy_run("meta" + value, set_meta(value)), "--model", model, "--steps", "4"]))

    def damaged_model(name, edit):
        d = os.path.join(work, name)
        shutil.copytree(model, d)
        edit(d)
        return d
    manifest = [f for f in os.listdir(model) if f.endswith(".manifest.json")][0]
    library = [f for f in os.listdir(model) if f.endswith(".so")][0]
    predict = lambda m, c=ckpt: ["predict", TINY, "--model", m, "--checkpoint", c, "--input", x,
                                 "--output", os.path.join(work, "y.npy")]
    out.append(("manifest precision = 32 (wrong type)", predict(damaged_model(
        "wrongtype", lambda d: edit_json(os.path.join(d, manifest), lambda j: j.update(precision=32))))))
    out.append(("manifest spec edited (model hash unchanged)", predict(damaged_model(
        "edited", lambda d: edit_json(os.path.join(d, manifest),
                                      lambda j: j["spec"]["recurrence"]["layers"][0].update(activation="tanh"))))))

    def truncate(d):
        path = os.path.join(d, library)
        open(path, "r+b").truncate(os.path.getsize(path) * 3 // 4)
    out.append(("library truncated to 3/4", predict(damaged_model("truncated", truncate))))
    deep = os.path.join(work, "deep.safetensors")
    header = b"[" * 60000 + b"]" * 60000
    open(deep, "wb").write(struct.pack("<Q", len(header)) + header)
    out.append(("checkpoint header nested 60,000 levels", predict(model, deep)))
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
    ap.add_argument("--fernn")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    print("| input | ended | peak MiB | message |")
    print("|---|---|---:|---|")
    all_cases = cases(a.work)
    if a.fernn:
        all_cases += model_cases(a.work, os.path.abspath(a.fernn))
    for name, argv in all_cases:
        ended, peak, message = run(os.path.abspath(a.fernn_run), argv)
        print("| %s | %s | %.0f | %s |" % (name, ended, peak, message.replace("|", "\\|").replace(a.work, "W")))


if __name__ == "__main__":
    main()
