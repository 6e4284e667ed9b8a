#!/usr/bin/python3
"""`fernn data import-kth` against the reference's preprocessing with OpenCV.

Makes small AVIs in the KTH naming scheme with ffmpeg (160x120 like KTH; random colour frames,
uncompressed BGR and MPEG-4), an annotation file 00sequences.txt, runs the importer, then
rebuilds every clip the way kth/train_kth_classification.py does (cv2.VideoCapture,
cvtColor(BGR2GRAY), resize(INTER_AREA), every 2nd frame from the start fernn drew) and
requires the bytes to be identical. Also checks labels, the person split, segments dropped for
being shorter than 32 frames, and that the clips train: `fernn train --data clips:OUT`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np

ACTIONS = ["walking", "jogging", "running", "boxing", "handwaving", "handclapping"]


def make_video(path, frames, codec):
    h, w = frames.shape[1:3]
    args = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
            "-s", f"{w}x{h}", "-r", "25", "-i", "-"]
    if codec == "raw":
        args += ["-c:v", "rawvideo", "-pix_fmt", "bgr24"]
    else:
        args += ["-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p"]
    subprocess.run(args + [path], input=frames.tobytes(), check=True)


def reference_frames(path, size):
    cap = cv2.VideoCapture(path)
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        out.append(cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA))
    cap.release()
    return np.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fernn", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    videos = os.path.join(args.workdir, "kth")
    os.makedirs(videos)
    rng = np.random.default_rng(5)
    lines = ["KTH-like annotations made by tests/kth_import_reference.py", ""]
    expected = {"train": [], "val": [], "test": []}
    codecs = {}
    for person, split in [(1, "train"), (2, "train"), (17, "val"), (22, "test")]:
        for a, action in enumerate(ACTIONS):
            if (person + a) % 2:  # half the combinations: fewer videos to make
                continue
            name = f"person{person:02d}_{action}_d{1 + a % 4}"
            n = 75
            # Smooth random colour frames (blocks, so that area resampling has structure).
            small = rng.integers(0, 256, size=(n, 15, 20, 3), dtype=np.uint8)
            frames = np.repeat(np.repeat(small, 8, axis=1), 8, axis=2)
            codec = "raw" if (person + a) % 4 else "mpeg4"
            codecs[name] = codec
            make_video(os.path.join(videos, name + "_uncomp.avi"), frames, codec)
            # 1-40 and 41-75 are long enough (>= 32 frames); 76-100 is past the end and short.
            lines.append(f"{name}\t\tframes\t1-40, 41-75, 76-100")
            expected[split] += [(name, a)] * 2
    lines.append("person03_walking_d1\t\tframes\t1-50")  # annotated but missing: skipped
    with open(os.path.join(videos, "00sequences.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    out = os.path.join(args.workdir, "clips")
    r = subprocess.run([args.fernn, "data", "import-kth", videos, "--out", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"import-kth failed: {r.stdout}{r.stderr}")
    print(r.stdout.strip())
    if "person03_walking_d1" not in r.stderr:
        sys.exit("the missing video was not reported: " + r.stderr)
    index = json.load(open(os.path.join(out, "kth.json")))
    cache = {}
    worst = 0
    for split in ("train", "val", "test"):
        clips = np.load(os.path.join(out, split, "clips.npy"))
        labels = np.load(os.path.join(out, split, "labels.npy"))
        entries = index["clips"][split]
        got = [(e["video"], e["label"]) for e in entries]
        if got != expected[split]:
            sys.exit(f"{split}: clips {got}, expected {expected[split]}")
        if clips.shape != (len(entries), 16, 1, 32, 32) or clips.dtype != np.uint8:
            sys.exit(f"{split}: clips.npy {clips.shape} {clips.dtype}")
        if labels.tolist() != [e["label"] for e in entries] or labels.dtype != np.int64:
            sys.exit(f"{split}: labels.npy {labels.tolist()}")
        for i, e in enumerate(entries):
            first, last = e["segment"]
            if not first <= e["start"] <= last - 31:
                sys.exit(f"{split} clip {i}: start {e['start']} outside segment {first}-{last}")
            path = os.path.join(videos, e["video"] + "_uncomp.avi")
            if path not in cache:
                cache[path] = reference_frames(path, 32)
            want = cache[path][e["start"]:e["start"] + 32:2]
            diff = np.abs(clips[i, :, 0].astype(int) - want.astype(int)).max()
            worst = max(worst, diff)
            if diff != 0:
                sys.exit(f"{split} clip {i} ({e['video']}, {codecs[e['video']]}): differs from "
                         f"OpenCV's by up to {diff}")
    print(f"{sum(len(v) for v in expected.values())} clips identical to OpenCV's preprocessing "
          f"(uncompressed and MPEG-4 videos)")

    # The clips train a classifier through --data clips:OUT.
    spec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "specs", "kth_grnn.json")
    run = os.path.join(args.workdir, "run")
    r = subprocess.run([args.fernn, "train", spec, "--data", "clips:" + out, "--out", run,
                        "--steps", "3", "--batch", "4", "--set", "recurrence.channels=4",
                        "--set", 'lifting={"layers": [{"channels": 4, "kernel": 3, "padding": '
                                 '"zeros", "batchnorm": true, "activation": "relu"}]}',
                        "--data-velocity-range", "1"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"training on the clips failed: {r.stdout}{r.stderr}")
    print(r.stdout.strip().splitlines()[-3])


if __name__ == "__main__":
    main()
