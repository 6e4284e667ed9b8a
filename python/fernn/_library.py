"""libfernn.so through ctypes: where it is found, each function's C signature (fernn.h), and
statuses turned into exceptions.

ctypes rather than a compiled extension: the package is pure Python over the stable C API, so it
needs no build against a particular Python or PyTorch, and the same library serves C, C++ and
Python users.

The library is, in order: $FERNN_LIBRARY; build/libfernn.so of the source tree this package
sits in (python/fernn -> ../../build); libfernn.so where the dynamic linker finds it (an
installed copy).
"""
import ctypes
import ctypes.util
import os

from .errors import BY_STATUS, Error

API_VERSION = 1

# fernn_group
PARAMETERS, STATISTICS, COUNTERS, CONSTANTS, DERIVED = range(5)
# fernn_forward flags
EVAL, TRAIN, KEEP = 0, 1, 2

_i64 = ctypes.c_int64
_p = ctypes.c_void_p
_model = ctypes.c_void_p  # fernn_model *
_pass = ctypes.c_void_p  # fernn_pass *


class Info(ctypes.Structure):
    """fernn_info."""
    _fields_ = [("element_bytes", ctypes.c_int), ("classifies", ctypes.c_int),
                ("has_batchnorm", ctypes.c_int), ("layers", ctypes.c_int),
                ("channels", _i64), ("height", _i64), ("width", _i64),
                ("input_frames", _i64), ("output_frames", _i64), ("classes", _i64),
                ("copies", _i64), ("parameter_count", _i64), ("statistic_count", _i64),
                ("counter_count", _i64), ("tensor_counts", _i64 * 5)]


_SIGNATURES = {
    "fernn_api_version": ([], ctypes.c_int),
    "fernn_last_error": ([], ctypes.c_char_p),
    "fernn_open": ([ctypes.c_char_p, ctypes.POINTER(_model)], ctypes.c_int),
    "fernn_compile": ([ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                       ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                       ctypes.POINTER(_model)], ctypes.c_int),
    "fernn_free": ([_model], None),
    "fernn_set_threads": ([_model, ctypes.c_int], ctypes.c_int),
    "fernn_use_device": ([_model, ctypes.c_char_p], ctypes.c_int),
    "fernn_get_info": ([_model, ctypes.POINTER(Info)], ctypes.c_int),
    "fernn_describe": ([_model, ctypes.POINTER(ctypes.c_char_p)], ctypes.c_int),
    "fernn_init": ([_model, ctypes.c_uint64], ctypes.c_int),
    "fernn_read": ([_model, ctypes.c_int, _p, _i64], ctypes.c_int),
    "fernn_write": ([_model, ctypes.c_int, _p, _i64], ctypes.c_int),
    "fernn_bind_parameters": ([_model, _p, _i64], ctypes.c_int),
    "fernn_load": ([_model, ctypes.c_char_p], ctypes.c_int),
    "fernn_save": ([_model, ctypes.c_char_p], ctypes.c_int),
    "fernn_pass_create": ([_model, ctypes.POINTER(_pass)], ctypes.c_int),
    "fernn_pass_free": ([_pass], None),
    "fernn_output_shape": ([_model, _i64, _i64, _i64, ctypes.POINTER(_i64),
                            ctypes.POINTER(ctypes.c_int)], ctypes.c_int),
    "fernn_forward": ([_model, _pass, _p, ctypes.POINTER(_i64), _i64, ctypes.c_int, _p, _i64],
                      ctypes.c_int),
    "fernn_backward": ([_model, _pass, _p, _i64, _p, _i64], ctypes.c_int),
    "fernn_hidden_states": ([_model, _pass, ctypes.c_int, _p, _i64], ctypes.c_int),
    "fernn_hidden_shape": ([_model, _pass, ctypes.c_int, ctypes.POINTER(_i64)], ctypes.c_int),
}


def _candidates():
    explicit = os.environ.get("FERNN_LIBRARY")
    if explicit:
        return [explicit]
    here = os.path.dirname(os.path.abspath(__file__))
    out = [os.path.join(here, "..", "..", "build", "libfernn.so")]
    found = ctypes.util.find_library("fernn")
    if found:
        out.append(found)
    return out


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        for name, (args, result) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes = args
            fn.restype = result
        version = lib.fernn_api_version()
        if version != API_VERSION:
            raise ImportError(f"{path} implements fernn C API version {version}; this package "
                              f"needs version {API_VERSION} (rebuild: bash tools/build.sh)")
        return lib
    raise ImportError("libfernn.so not found; tried: " + "; ".join(tried) +
                      ". Build it (bash tools/build.sh) or set FERNN_LIBRARY to its path")


lib = _load()


def check(status):
    """Raises the exception of a fernn_status, with the library's message."""
    if status != 0:
        message = lib.fernn_last_error().decode("utf-8", "replace")
        raise BY_STATUS.get(status, Error)(message)


def shape_array(shape):
    return (_i64 * len(shape))(*shape)
