#!/usr/bin/env python3
"""Mutation fuzzing of fernn's command line, one input family at a time, as an adversarial
user would: each mutated file goes through the real command that reads it, in a process limited
to 2 GiB of address space. Counts exit codes and signals, and the peak memory of every run.

  tests/fuzz/cli_mutate.py --fernn build/fernn --fernn-run build/fernn-run --count 2000 \
      --work /tmp/cli_mutate [--family spec ...] [--jobs 2] [--table docs/cli_mutation.md]

Families: spec, set, npy, labels, clips, safetensors, idx, idx_gz, manifest, library,
run_json, resume, metrics. A run fails the check when it dies of a signal, exits with a code
other than 0 and 2, or an input under 1 MB makes it use more than 1 GiB. Offending inputs are
kept under WORK/findings/. Exit status 1 when any run failed the check.
"""
import argparse
import concurrent.futures
import gzip
import json
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "tests", "specs", "tiny_fernn.json")
CLASSIFIER = os.path.join(ROOT, "tests", "specs", "tiny_classifier.json")
AS_LIMIT = 2 << 30
RSS_LIMIT_MIB = 1024
EXTREMES = [b"0", b"-1", b"-0", b"1e400", b"-1e400", b"2147483648", b"4294967296",
            b"9223372036854775808", b"18446744073709551616", b"4611686018427387904", b"1.5",
            b"NaN", b"\"12\"", b"null", b"[]", b"{}", b"true", b"99999999999999999999999"]


# ---------------------------------------------------------------- byte- and structure-level mutations

def flip(data, rng):
    if not data:
        return bytes([rng.randrange(256)])
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256) if rng.random() < 0.5 else b[i] ^ (1 << rng.randrange(8))
    return bytes(b)


def splice(data, rng):
    if not data:
        return data
    a = rng.randrange(len(data))
    choice = rng.randrange(5)
    if choice == 0:  # truncate
        return data[:a]
    if choice == 1:  # delete a span
        return data[:a] + data[a + rng.randint(1, 64):]
    if choice == 2:  # duplicate a span
        return data[:a] + data[a:a + rng.randint(1, 64)] + data[a:]
    if choice == 3:  # an extreme number where a number was
        j = a
        while j < len(data) and chr(data[j]).isdigit() is False:
            j += 1
        k = j
        while k < len(data) and (chr(data[k]).isdigit() or data[k] in b".-e"):
            k += 1
        return data[:j] + rng.choice(EXTREMES) + data[k:]
    return data[:a] + os.urandom(rng.randint(1, 16)) + data[a:]  # random bytes


def json_structural(data, rng):
    choice = rng.randrange(4)
    a = rng.randrange(len(data) + 1)
    if choice == 0:  # deep nesting
        depth = rng.choice([100, 1000, 70000])
        b = a + rng.randrange(len(data) - a + 1)
        return data[:a] + b"[" * depth + data[a:b] + b"]" * depth + data[b:]
    if choice == 1:  # a long string
        return data[:a] + b'"' + b"x" * rng.choice([1000, 200000]) + b'"' + data[a:]
    if choice == 2:  # invalid UTF-8, control characters
        return data[:a] + rng.choice([b"\xc3\x28", b"\xff", b"\x00", b"\x01"]) + data[a:]
    return splice(data, rng)


def mutate_json(data, rng):
    r = rng.random()
    if r < 0.4:
        return json_structural(data, rng)
    if r < 0.8:
        return splice(data, rng)
    return flip(data, rng)


def mutate_binary(data, rng):
    return splice(data, rng) if rng.random() < 0.5 else flip(data, rng)


def npy_structural(rng, dtype="<f4"):
    shapes = ["(576460752303423488, 64, 0)", "(0, 18446744073709551615)", "(3037000500, 3037000500)",
              "(2, 3, 1, 6, 7)", "(1048577, 3, 1, 6, 7)", "(2, 10001, 1, 6, 7)", "()", "(-1,)",
              "(" + ", ".join(["2"] * 40) + ")", "(2, 3, 1, 6, 7" + " " * 30000 + ")"]
    descr = rng.choice([dtype, "<f8", "<i8", "|u1", ">f4", "|O", "<c8", "[('a', '<f4')]"])
    dict_ = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, rng.choice(["False", "True", "1"]), rng.choice(shapes))
    dict_ += " " * rng.choice([0, 10, 70000]) + "\n"
    version = 1 if len(dict_) < 65536 and rng.random() < 0.5 else 2
    head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H" if version == 1 else "<I", len(dict_))
    return head + dict_.encode() + os.urandom(rng.choice([0, 8, 4 * 2 * 3 * 42, 1000]))


def safetensors_structural(data, rng):
    n = struct.unpack("<Q", data[:8])[0]
    header, payload = data[8:8 + n], data[8 + n:]
    choice = rng.randrange(3)
    if choice == 0:
        header = mutate_json(header, rng)
    elif choice == 1:  # a huge shape on a small span
        obj = json.loads(header)
        name = rng.choice([k for k in obj if k != "__metadata__"])
        obj[name]["shape"] = [int(rng.choice(EXTREMES[5:10])), rng.choice([0, 4, 2 ** 62])]
        header = json.dumps(obj).encode()
    else:  # a length that lies
        return struct.pack("<Q", rng.choice([2 ** 63, 2 ** 32, n + 1, n - 1, 0])) + data[8:]
    return struct.pack("<Q", len(header)) + header + payload


def idx_structural(rng):
    dims = rng.randint(1, 6)
    out = b"\0\0\x08" + bytes([rng.choice([dims, 0, 255])])
    for _ in range(dims):
        out += struct.pack(">I", rng.choice([0, 1, 28, 1 << 30, 0xffffffff, 65536, 60000]))
    return out + os.urandom(rng.choice([0, 16, 784]))


def idx_bomb(rng):
    n = rng.randint(100, 4096)
    claimed = n * 512 * 512
    plain = b"\0\0\x08\x03" + struct.pack(">III", n, 512, 512)
    size = min(rng.choice([claimed // 2, claimed, claimed + 1, claimed * 2]), 64 << 20)
    return gzip.compress(plain + bytes(size), compresslevel=9, mtime=0)


# ---------------------------------------------------------------------------------- families

class Family:
    """A seed file, how to mutate it and the command that reads it."""

    def __init__(self, name, seed_path, mutate, command, target_name=None):
        self.name, self.seed_path, self.mutate, self.command = name, seed_path, mutate, command
        self.target_name = target_name or os.path.basename(seed_path)


def run_limited(argv, cwd, timeout):
    """Runs argv with a 2 GiB address-space limit; returns (exit code, or -signal, or
    "timeout"; its own peak resident memory in MiB; the end of its stderr)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
        os.setsid()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit)
        timed_out = []
        timer = threading.Timer(timeout, lambda: (timed_out.append(1), os.killpg(p.pid, signal.SIGKILL)))
        timer.start()
        _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read()[-4000:]
    return ("timeout" if timed_out else p.returncode), usage.ru_maxrss / 1024.0, text


def one_run(args):
    """Runs one mutated input in its own scratch directory (a worker process)."""
    family, index, seed_dir, work, fernn, fernn_run, salt = args
    rng = random.Random(zlib.crc32(("%s:%d:%d" % (family, index, salt)).encode()))
    spec = FAMILIES[family]
    scratch = os.path.join(work, "scratch", "%s_%d" % (family, index))
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(seed_dir, scratch, symlinks=True)
    target = os.path.join(scratch, spec["file"])
    original = open(target, "rb").read()
    data = spec["mutate"](original, rng) if index >= 0 else original  # -1: the seed itself
    with open(target, "wb") as f:
        f.write(data)
    template = set_argv(scratch) if family == "set" else spec["argv"]
    argv = [a.replace("@", scratch).replace("FERNN_RUN", fernn_run).replace("FERNN", fernn)
            for a in template]
    code, this_peak, err = run_limited(argv, scratch, 120)
    ok = code in (0, 2) and not (len(data) < (1 << 20) and this_peak > RSS_LIMIT_MIB)
    ok = ok and (index >= 0 or code == 0)
    finding = None
    if not ok:
        os.makedirs(os.path.join(work, "findings", family), exist_ok=True)
        finding = os.path.join(work, "findings", family, "%d_%s" % (index, spec["file"].replace("/", "_")))
        with open(finding, "wb") as f:
            f.write(data)
        with open(finding + ".stderr", "wb") as f:
            f.write(err[-4000:])
    shutil.rmtree(scratch, ignore_errors=True)
    return family, code, this_peak, len(data), finding


FAMILIES = {}


def prepare(work, fernn, fernn_run):
    """Builds the seed directories: a compiled tiny model, a checkpoint, inputs, a trained run
    with a resume state, IDX digits and clips."""
    seeds = os.path.join(work, "seeds")
    shutil.rmtree(seeds, ignore_errors=True)
    os.makedirs(seeds)
    model = os.path.join(seeds, "model")
    subprocess.run([fernn, "compile", TINY, "-o", model], check=True, stdout=subprocess.DEVNULL)
    rng = np.random.default_rng(0)

    def base(name):
        d = os.path.join(seeds, name)
        shutil.copytree(model, os.path.join(d, "model"))
        shutil.copy(TINY, os.path.join(d, "spec.json"))
        subprocess.run([fernn_run, "init", TINY, "--seed", "0", "--out", os.path.join(d, "w.safetensors")],
                       check=True, stdout=subprocess.DEVNULL)
        np.save(os.path.join(d, "x.npy"), rng.random((2, 3, 1, 6, 7), dtype=np.float32))
        return d

    for name in ("spec", "set", "npy", "safetensors", "manifest", "library"):
        base(name)
    with open(os.path.join(seeds, "set", "set.txt"), "w") as f:
        f.write("recurrence.channels=8")
    # Digits (IDX) and clips, each family its own copy.
    images = np.zeros((30, 6, 7), dtype=np.uint8)
    images[:, 2:4, 2:5] = 200
    def idx_bytes(a):
        return b"\0\0\x08" + bytes([a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape) + a.tobytes()
    for name, gz in (("idx", False), ("idx_gz", True)):
        d = os.path.join(seeds, name, "data")
        os.makedirs(d)
        payload = idx_bytes(images)
        fname = "images-idx3-ubyte" + (".gz" if gz else "")
        with open(os.path.join(d, fname), "wb") as f:
            f.write(gzip.compress(payload, mtime=0) if gz else payload)
    d = os.path.join(seeds, "clips")
    base("clips")
    os.makedirs(os.path.join(d, "clips"))
    np.save(os.path.join(d, "clips", "clips.npy"), rng.integers(0, 255, (20, 5, 1, 6, 7), dtype=np.uint8))
    # Labels go to a classifier's gradients.
    d = os.path.join(seeds, "labels")
    os.makedirs(d)
    subprocess.run([fernn, "compile", CLASSIFIER, "-o", os.path.join(d, "model")], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.copy(CLASSIFIER, os.path.join(d, "spec.json"))
    subprocess.run([fernn_run, "init", CLASSIFIER, "--seed", "0", "--out", os.path.join(d, "w.safetensors")],
                   check=True, stdout=subprocess.DEVNULL)
    np.save(os.path.join(d, "x.npy"), rng.random((2, 4, 1, 7, 6), dtype=np.float32))
    np.save(os.path.join(d, "labels.npy"), np.array([0, 2], dtype=np.int64))
    # A trained run with a resume state, metrics and run.json.
    d = base("run_json")
    data = os.path.join(d, "data")
    os.makedirs(data)
    with open(os.path.join(data, "images-idx3-ubyte"), "wb") as f:
        f.write(idx_bytes(np.repeat(images, 2, axis=0)))
    subprocess.run([fernn_run, "train", TINY, "--model", os.path.join(d, "model"), "--data", data,
                    "--batch", "2", "--steps", "4", "--val-every", "2", "--val-sequences", "2",
                    "--data-velocity-range", "1", "--out", os.path.join(d, "run")],
                   check=True, stdout=subprocess.DEVNULL)
    # run.json names the data directory absolutely: the copies all read the seed's digits.
    for name in ("resume", "metrics"):
        shutil.copytree(d, os.path.join(seeds, name))

    model_args = ["--model", "@/model"]
    predict = ["FERNN_RUN", "predict", "@/spec.json", *model_args, "--checkpoint", "@/w.safetensors",
               "--input", "@/x.npy", "--output", "@/out.npy"]
    resume = ["FERNN_RUN", "train", "--resume", "@/run", *model_args, "--steps", "6"]
    FAMILIES.update({
        "spec": {"file": "spec.json", "mutate": mutate_json, "argv": ["FERNN_RUN", "check", "@/spec.json"]},
        "set": {"file": "set.txt", "mutate": mutate_json, "argv": None},
        "npy": {"file": "x.npy", "mutate": lambda d, r: npy_structural(r) if r.random() < 0.3 else mutate_binary(d, r),
                "argv": predict},
        "labels": {"file": "labels.npy",
                   "mutate": lambda d, r: npy_structural(r, "<i8") if r.random() < 0.3 else mutate_binary(d, r),
                   "argv": ["FERNN_RUN", "gradients", "@/spec.json", *model_args, "--checkpoint", "@/w.safetensors", "--input", "@/x.npy", "--labels", "@/labels.npy",
                            "--out", "@/g.safetensors"]},
        "clips": {"file": "clips/clips.npy",
                  "mutate": lambda d, r: npy_structural(r, "|u1") if r.random() < 0.3 else mutate_binary(d, r),
                  "argv": ["FERNN_RUN", "data", "info", "--data", "clips:@/clips"]},
        "safetensors": {"file": "w.safetensors",
                        "mutate": lambda d, r: safetensors_structural(d, r) if r.random() < 0.5 else mutate_binary(d, r),
                        "argv": predict},
        "idx": {"file": "data/images-idx3-ubyte",
                "mutate": lambda d, r: idx_structural(r) if r.random() < 0.3 else mutate_binary(d, r),
                "argv": ["FERNN_RUN", "data", "info", "--data", "@/data"]},
        "idx_gz": {"file": "data/images-idx3-ubyte.gz",
                   "mutate": lambda d, r: idx_bomb(r) if r.random() < 0.2 else (
                       gzip.compress(idx_structural(r), mtime=0) if r.random() < 0.3 else mutate_binary(d, r)),
                   "argv": ["FERNN_RUN", "data", "info", "--data", "@/data"]},
        "manifest": {"file": "model/tiny_fernn.manifest.json", "mutate": mutate_json, "argv": predict},
        "library": {"file": "model/libtiny_fernn.so", "mutate": mutate_binary, "argv": predict},
        "run_json": {"file": "run/run.json", "mutate": mutate_json, "argv": resume},
        "resume": {"file": "run/resume.safetensors",
                   "mutate": lambda d, r: safetensors_structural(d, r) if r.random() < 0.5 else mutate_binary(d, r),
                   "argv": resume},
        "metrics": {"file": "run/metrics.jsonl", "mutate": mutate_json, "argv": resume},
    })
    # --set: the mutated text is the override itself.
    return seeds


def set_argv(scratch):
    # One argument may hold at most 128 KiB (MAX_ARG_STRLEN).
    text = open(os.path.join(scratch, "set.txt"), "rb").read().replace(b"\0", b"")[:120000]
    return ["FERNN_RUN", "check", "@/spec.json", "--set=" + text.decode("utf-8", "replace")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    ap.add_argument("--fernn-run", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--family", action="append")
    ap.add_argument("--table")
    ap.add_argument("--salt", type=int, default=0)
    a = ap.parse_args()
    fernn, fernn_run = os.path.abspath(a.fernn), os.path.abspath(a.fernn_run)
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    seeds = prepare(work, fernn, fernn_run)
    families = a.family or list(FAMILIES)
    # Every family's command must succeed on its unmutated seed, or the mutations test nothing.
    for family in families:
        if family in FAMILIES:
            _, code, _, _, finding = one_run((family, -1, os.path.join(seeds, family), work, fernn,
                                              fernn_run, a.salt))
            if code != 0:
                err = open(finding + ".stderr", "rb").read().decode("utf-8", "replace") if finding else ""
                sys.exit("cli_mutate.py: the %s seed fails (exit %s): %s" % (family, code, err))
    rows, failed = [], False
    for family in families:
        if family not in FAMILIES:
            sys.exit("cli_mutate.py: no family %r; allowed: %s" % (family, ", ".join(FAMILIES)))
        start = time.time()
        tasks = [(family, i, os.path.join(seeds, family), work, fernn, fernn_run, a.salt)
                 for i in range(a.count)]
        codes, peak, findings, big_inputs = {}, 0.0, [], 0
        with concurrent.futures.ProcessPoolExecutor(a.jobs) as pool:
            for fam, code, this_peak, size, finding in pool.map(one_run, tasks, chunksize=4):
                codes[code] = codes.get(code, 0) + 1
                peak = max(peak, this_peak)
                big_inputs += size >= (1 << 20)
                if finding:
                    findings.append(finding)
        signals = sum(n for c, n in codes.items() if isinstance(c, int) and c < 0)
        other = sum(n for c, n in codes.items() if c not in (0, 2) and not (isinstance(c, int) and c < 0))
        rows.append((family, a.count, codes.get(0, 0), codes.get(2, 0), signals, other, peak,
                     len(findings), time.time() - start))
        failed |= bool(findings)
        print("%-12s %5d inputs: exit 0 %5d, exit 2 %5d, signals %d, other %d, peak %.0f MiB, "
              "findings %d (%.0f s)" % rows[-1], flush=True)
        for f in findings[:5]:
            print("   finding:", f, open(f + ".stderr", "rb").read()[-300:].decode("utf-8", "replace"))
    table = ["| family | inputs | exit 0 | exit 2 | signals | other codes | peak memory (MiB) | findings | seconds |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append("| %s | %d | %d | %d | %d | %d | %.0f | %d | %.0f |" % r)
    print("\n".join(table))
    if a.table:
        with open(a.table, "w") as f:
            f.write("\n".join(table) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
