"""safetensors files without the `safetensors` package (Debian has none), as numpy arrays.

The reader treats the file as untrusted: the header length, the JSON header (an object of
entries, each {"dtype", "shape", "data_offsets"}, plus an optional "__metadata__" of strings),
every shape and offset are checked against the file before any data is read; entries must
tile the data section exactly, as the format requires. Writes are atomic (a temporary file in
the same directory, renamed over the target), so a failing save never leaves a partial file.
"""
import json
import os
import struct
import tempfile

import numpy as np

from .errors import InputError

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the format's own limit
MAX_RANK = 64

# safetensors dtype -> numpy dtype (little-endian). BF16 has no numpy type: read as float32.
_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
    "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
}
_BF16_BYTES = 2
_NAMES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}


def _fail(path, message):
    raise InputError(f"{path}: {message}")


def read_header(path, data):
    """(header dict, data section offset) of a safetensors file's bytes, validated."""
    if len(data) < 8:
        _fail(path, f"{len(data)} bytes; a safetensors file starts with an 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n > len(data) - 8:
        _fail(path, f"header length {n} exceeds the file ({len(data)} bytes) or "
                    f"{MAX_HEADER_BYTES} bytes")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        _fail(path, f"header is not JSON: {e}")
    if not isinstance(header, dict):
        _fail(path, "header is not a JSON object")
    return header, 8 + n


def _entry(path, name, e, data_bytes):
    where = f'tensor "{name}"'
    if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
        _fail(path, f'{where}: expected {{"dtype", "shape", "data_offsets"}}')
    dtype, shape, offsets = e["dtype"], e["shape"], e["data_offsets"]
    if dtype not in _DTYPES and dtype != "BF16":
        _fail(path, f'{where}: dtype {dtype!r}; allowed: {", ".join(sorted(_DTYPES))}, BF16')
    if (not isinstance(shape, list) or len(shape) > MAX_RANK or
            not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        _fail(path, f"{where}: shape must be a list of at most {MAX_RANK} integers >= 0")
    if (not isinstance(offsets, list) or len(offsets) != 2 or
            not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets) or
            not 0 <= offsets[0] <= offsets[1] <= data_bytes):
        _fail(path, f"{where}: data_offsets {offsets!r} outside the data ({data_bytes} bytes)")
    count = 1
    for d in shape:
        count *= d  # Python integers: no overflow
    item = _BF16_BYTES if dtype == "BF16" else _DTYPES[dtype].itemsize
    if count * item != offsets[1] - offsets[0]:
        _fail(path, f"{where}: shape {shape} of {dtype} needs {count * item} bytes but "
                    f"data_offsets span {offsets[1] - offsets[0]}")
    return dtype, tuple(shape), offsets


def load(path):
    """(tensors {name: numpy array}, metadata {str: str}) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    header, start = read_header(path, data)
    data_bytes = len(data) - start
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        _fail(path, "__metadata__ must map strings to strings")
    entries = {name: _entry(path, name, e, data_bytes) for name, e in header.items()}
    # The entries tile the data section: sorted by offset, each starts where the last ended.
    end = 0
    for name, (_, _, (lo, hi)) in sorted(entries.items(), key=lambda kv: kv[1][2]):
        if lo != end:
            _fail(path, f'tensor "{name}" starts at {lo}, not at {end}: entries overlap or '
                        "leave gaps")
        end = hi
    if end != data_bytes:
        _fail(path, f"the tensors cover {end} of {data_bytes} data bytes")
    tensors = {}
    for name, (dtype, shape, (lo, hi)) in entries.items():
        raw = data[start + lo:start + hi]
        if dtype == "BF16":
            bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, _DTYPES[dtype]).astype(_DTYPES[dtype].newbyteorder("="))
        tensors[name] = array.reshape(shape)
    return tensors, metadata


def save(path, tensors, metadata=None):
    """Writes {name: array} (numpy arrays, or anything np.asarray takes) atomically."""
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise InputError("metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise InputError(f"tensor names must be strings, not {type(name).__name__}")
        array = np.asarray(value, order="C")  # keeps 0-d arrays 0-d (ascontiguousarray does not)
        key = array.dtype.newbyteorder("=")
        if key not in _NAMES:
            raise InputError(f'tensor "{name}": dtype {array.dtype} has no safetensors type')
        blob = array.astype(_DTYPES[_NAMES[key]], copy=False).tobytes()
        header[name] = {"dtype": _NAMES[key], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fernn-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
