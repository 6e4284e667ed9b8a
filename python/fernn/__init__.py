"""fernn from Python: compiled Flow Equivariant RNNs (Keller, NeurIPS 2025).

    import fernn
    model = fernn.compile("specs/fernn_v1.json", overrides={"recurrence.channels": 32})
    model.load("ckpt.safetensors")
    y = model.predict(x)          # x: (B, T, C, H, W) float32 -> (B, T_out, C, H, W)

    import fernn.torch            # the same compiled model as a torch.nn.Module
    module = fernn.torch.Model("specs/fernn_v1.json")

Everything goes through the C API of libfernn.so (runtime/capi/fernn.h) with ctypes.
"""
from . import safetensors as _safetensors
from ._library import COUNTERS, CONSTANTS, DERIVED, PARAMETERS, STATISTICS
from .errors import Error, InputError, RuntimeFailure, StateError, UnavailableError
from .model import Model, Pass, Tensor

__all__ = ["compile", "open", "Model", "Pass", "Tensor", "load_checkpoint", "save_checkpoint",
           "Error", "InputError", "StateError", "UnavailableError", "RuntimeFailure",
           "PARAMETERS", "STATISTICS", "COUNTERS", "CONSTANTS", "DERIVED"]


def compile(spec, overrides=None, target="host", precision="float32", cache_dir=None):
    """The compiled model of a spec (a file, or a dict), with --set-style overrides
    ({"recurrence.channels": 32}); compiled into the cache ($FERNN_CACHE, else
    ~/.cache/fernn) on first use. target: "host", or "host,cuda" for GPUs."""
    return Model.compile(spec, overrides, target, precision, cache_dir)


def open(model_dir):  # noqa: A001 (fernn.open, like the C API's fernn_open)
    """A model compiled by `fernn compile SPEC -o DIR`."""
    return Model.open(model_dir)


def load_checkpoint(path):
    """{name: numpy array} of a safetensors file (any file, not only fernn's)."""
    return _safetensors.load(path)[0]


def save_checkpoint(path, state_dict, metadata=None):
    """Writes {name: array or torch tensor} as safetensors, atomically."""
    arrays = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else v)
              for k, v in state_dict.items()}
    _safetensors.save(path, arrays, metadata)
