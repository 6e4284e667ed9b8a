#!/usr/bin/python3
"""Writes escnn's own C_N steerable bases as goldens for basis_test (run once; not by the suite).

escnn is not installable on Debian; run it from its source (github QUVA-Lab/escnn, commit
9ad44cc3, 2024-10-31). C_N does not use lie_learn, py3nj or joblib, which escnn imports at
package load; stand-ins make it import:

    git clone https://github.com/QUVA-Lab/escnn /tmp/escnn   # or any copy of the source
    mkdir -p /tmp/stubs/lie_learn/representations/SO3
    echo 'class Memory:
        def __init__(self, *a, **k): pass
        def cache(self, f=None, **k): return f if f is not None else (lambda g: g)' > /tmp/stubs/joblib.py
    touch /tmp/stubs/lie_learn/__init__.py /tmp/stubs/lie_learn/representations/__init__.py \
          /tmp/stubs/lie_learn/representations/SO3/__init__.py
    echo 'def wigner_D_matrix(*a, **k): raise NotImplementedError' \
          > /tmp/stubs/lie_learn/representations/SO3/wigner_d.py
    echo 'def wigner3j(*a, **k): raise NotImplementedError' > /tmp/stubs/py3nj.py
    PYTHONPATH=/tmp/escnn:/tmp/stubs /usr/bin/python3 tests/goldens/make_escnn_basis.py

Each file is the `sampled_basis` buffer of an R2Conv(in → 1 regular field, kernel_size=k,
padding=k//2, bias=False) on rot2dOnR2(N): (elements, N, |in|, k·k), float32. N = 36's
regular → regular basis (216 × 36 × 36 × 9) is stored as a slice of elements (its first and
last two, and two between; the indices are in counts.json). counts.json also lists the number
of elements for more (N, k) and escnn's initial standard deviation of every weight for three
convolutions; expansion_*.npy are one weights → filter expansion for the layout check.
"""
import json
import os

import numpy as np
import torch
from escnn import gspaces, nn as e2nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "escnn_basis")


def conv(n, k, regular_in, fields_in=1, fields_out=1):
    g = gspaces.rot2dOnR2(N=n)
    rep = g.regular_repr if regular_in else g.trivial_repr
    return e2nn.R2Conv(e2nn.FieldType(g, fields_in * [rep]),
                       e2nn.FieldType(g, fields_out * [g.regular_repr]),
                       kernel_size=k, padding=k // 2, bias=False)


def sampled(c):
    return next(v for key, v in c.state_dict().items() if key.endswith("sampled_basis")).numpy()


def main():
    os.makedirs(OUT, exist_ok=True)
    slice_36 = [0, 1, 100, 150, 214, 215]
    for n, k, regular_in in [(4, 3, False), (4, 3, True), (8, 3, False), (8, 3, True),
                             (36, 3, False), (36, 3, True), (4, 5, False), (4, 5, True)]:
        b = sampled(conv(n, k, regular_in)).astype(np.float32)
        name = f"{'regular' if regular_in else 'trivial'}_N{n}_k{k}"
        if n == 36 and regular_in:
            b = b[slice_36]
        np.save(os.path.join(OUT, name + ".npy"), b)
    counts = []
    for n in [1, 2, 3, 5, 6, 12, 36, 40]:
        for k in [1, 3, 5, 7]:
            for regular_in in [False, True]:
                counts.append({"N": n, "k": k, "in": "regular" if regular_in else "trivial",
                               "elements": int(sampled(conv(n, k, regular_in)).shape[0])})
    # The layout of weights -> filter with several fields: filter[o*N+a, c*N+b, row, col].
    torch.manual_seed(0)
    c = conv(4, 3, True, fields_in=3, fields_out=2)
    c.eval()
    np.save(os.path.join(OUT, "expansion_weights.npy"), c.weights.detach().numpy())
    np.save(os.path.join(OUT, "expansion_filter.npy"), c.filter.detach().numpy())
    # escnn's generalized He initialization: the standard deviation of every weight.
    from escnn.nn.init import _generalized_he_init_variances
    init_std = []
    for n, k, regular_in, fields_in, fields_out in [(4, 3, True, 3, 2), (8, 3, False, 1, 2),
                                                    (36, 3, True, 2, 1)]:
        c = conv(n, k, regular_in, fields_in=fields_in, fields_out=fields_out)
        init_std.append({"N": n, "k": k, "in": "regular" if regular_in else "trivial",
                         "fields_in": fields_in, "fields_out": fields_out,
                         "std": [float(v) for v in _generalized_he_init_variances(c.basisexpansion)]})
    with open(os.path.join(OUT, "counts.json"), "w") as f:
        json.dump({"escnn_commit": "9ad44cc37d694d9c805c4fef4d16722a254b3bf2",
                   "regular_N36_k3_elements": slice_36, "counts": counts,
                   "init_std": init_std}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
