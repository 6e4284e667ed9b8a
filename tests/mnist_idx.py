"""A small independent reader of IDX files (MNIST's format), plain or gzip, for the data tests."""
import gzip

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    assert raw[2] == 8, "unsigned byte IDX expected"
    ndims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(raw[4 + 4 * ndims:], dtype=np.uint8).reshape(dims)
