"""fernn.Model: a compiled FERNN on numpy arrays, over the C API.

Arrays are C-ordered float32 (float64 for models compiled with precision="float64"): inputs
(B, T, C, H, W); predictions (B, T_out, C, H, W); logits (B, K); hidden states
(B, T, |V|, C, H, W). Inputs already in that layout and type are read where they are; outputs
are written by the library straight into the arrays returned.
"""
import ctypes
import json
import os
import tempfile

import numpy as np

from . import _library as L
from .errors import InputError

_GROUP_KEYS = {L.PARAMETERS: "parameters", L.STATISTICS: "statistics",
               L.COUNTERS: "counters", L.CONSTANTS: "constants", L.DERIVED: "derived"}


class Tensor:
    """One tensor of a group: its reference state_dict name, shape and place in the flat
    buffer of its group."""

    def __init__(self, entry):
        self.name = entry["name"]
        self.shape = tuple(entry["shape"])
        self.offset = entry["offset"]
        self.count = entry["count"]
        self.tolerance = entry.get("tolerance", 0.0)

    def __repr__(self):
        return f"Tensor({self.name!r}, shape={self.shape}, offset={self.offset})"


def _pointer(array):
    return ctypes.c_void_p(array.ctypes.data) if array is not None else None


class Pass:
    """What one forward keeps for its backward (fernn_pass). The model has one of its own;
    make more to keep several forwards alive at once."""

    def __init__(self, model):
        self._model = model  # freed before the model: this reference keeps it alive
        handle = ctypes.c_void_p()
        L.check(L.lib.fernn_pass_create(model._handle, ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if getattr(self, "_handle", None):
            L.lib.fernn_pass_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()


class Model:
    """A compiled model: open(DIR) from `fernn compile`, or compile(SPEC) through the cache."""

    def __init__(self, handle):
        self._handle = handle
        info = L.Info()
        L.check(L.lib.fernn_get_info(handle, ctypes.byref(info)))
        self._info = info
        text = ctypes.c_char_p()
        L.check(L.lib.fernn_describe(handle, ctypes.byref(text)))
        self.description = json.loads(text.value.decode("utf-8"))
        d = self.description
        self.dtype = np.dtype(np.float64 if info.element_bytes == 8 else np.float32)
        self.spec = d["spec"]
        self.name = d["name"]
        self.precision = d["precision"]
        self.readout = d["readout"]
        self.classifies = bool(info.classifies)
        self.has_batchnorm = bool(info.has_batchnorm)
        self.frame_shape = (info.channels, info.height, info.width)
        self.input_frames = info.input_frames
        self.output_frames = info.output_frames
        self.classes = info.classes
        self.copies = info.copies
        self.layers = info.layers
        self.velocities = d["velocities"]
        self.velocity_labels = d["velocity_labels"]
        self.tensors = {g: [Tensor(e) for e in d[k]] for g, k in _GROUP_KEYS.items()}
        self.sizes = {g: d[k + "_size"] for g, k in _GROUP_KEYS.items()}

    # ---- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, model_dir):
        handle = ctypes.c_void_p()
        L.check(L.lib.fernn_open(os.fsencode(model_dir), ctypes.byref(handle)))
        return cls(handle)

    @classmethod
    def compile(cls, spec, overrides=None, target="host", precision="float32", cache_dir=None):
        """spec: a spec file, or a dict holding one. overrides: {"recurrence.channels": 32}
        or ["recurrence.channels=32"], as --set. Compiles into the cache on first use."""
        if isinstance(spec, dict):
            # The C API reads specs from files; messages name this copy.
            with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="fernn_spec_",
                                             delete=False) as f:
                json.dump(spec, f)
            try:
                return cls.compile(f.name, overrides, target, precision, cache_dir)
            finally:
                os.unlink(f.name)
        sets = _override_strings(overrides)
        array = (ctypes.c_char_p * max(len(sets), 1))(*[s.encode("utf-8") for s in sets])
        handle = ctypes.c_void_p()
        L.check(L.lib.fernn_compile(
            os.fsencode(spec), array, len(sets), _text(target, "target"),
            _text(precision, "precision"),
            os.fsencode(cache_dir) if cache_dir is not None else None, ctypes.byref(handle)))
        return cls(handle)

    def close(self):
        if getattr(self, "_handle", None):
            L.lib.fernn_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __repr__(self):
        return (f"fernn.Model({self.name!r}, {self.readout}, {self.precision}, "
                f"{self.sizes[L.PARAMETERS]} parameter elements)")

    def set_threads(self, threads):
        L.check(L.lib.fernn_set_threads(self._handle, int(threads)))

    def use_device(self, device):
        L.check(L.lib.fernn_use_device(self._handle, _text(device, "device")))

    # ---- weights -----------------------------------------------------------------------

    def init(self, seed=0):
        """PyTorch's default initialization of every module (fernn init --seed)."""
        L.check(L.lib.fernn_init(self._handle, int(seed)))

    def load(self, path):
        """A safetensors checkpoint with the reference names (strict, as fernn predict)."""
        L.check(L.lib.fernn_load(self._handle, os.fsencode(path)))

    def save(self, path):
        L.check(L.lib.fernn_save(self._handle, os.fsencode(path)))

    def read(self, group):
        """A group's flat buffer (a copy)."""
        out = np.empty(self.sizes[group], np.int64 if group == L.COUNTERS else self.dtype)
        L.check(L.lib.fernn_read(self._handle, group, _pointer(out), out.size))
        return out

    def write(self, group, values):
        array = self._flat_argument(group, values)
        L.check(L.lib.fernn_write(self._handle, group, _pointer(array), array.size))

    def bind_parameters(self, flat):
        """The model reads its parameters from `flat` (a C-contiguous array of the model's type
        and parameter size) in place until unbind_parameters(); keep it alive meanwhile."""
        array = self._flat_argument(L.PARAMETERS, flat, copy=False)
        L.check(L.lib.fernn_bind_parameters(self._handle, _pointer(array), array.size))

    def unbind_parameters(self):
        L.check(L.lib.fernn_bind_parameters(self._handle, None, 0))

    def state_dict(self):
        """Every tensor by its reference name: parameters, running statistics, counters,
        constants and derived tensors (copies)."""
        out = {}
        for group, tensors in self.tensors.items():
            flat = self.read(group)
            for t in tensors:
                out[t.name] = flat[t.offset:t.offset + t.count].reshape(t.shape).copy()
        return out

    def load_state_dict(self, state):
        """Parameters, statistics and counters from `state` (numpy arrays or anything
        np.asarray takes), all required; constants must match, derived tensors are ignored."""
        names = {t.name for ts in self.tensors.values() for t in ts}
        unknown = sorted(set(state) - names)
        if unknown:
            raise InputError(f"state_dict: {', '.join(unknown)} not part of model {self.name}")
        for group in (L.PARAMETERS, L.STATISTICS, L.COUNTERS):
            flat = self.read(group)
            for t in self.tensors[group]:
                flat[t.offset:t.offset + t.count] = _tensor_value(state, t, flat.dtype)
            self.write(group, flat)
        constants = self.read(L.CONSTANTS)
        for t in self.tensors[L.CONSTANTS]:
            if t.name not in state:
                raise InputError(f"state_dict: {t.name} {t.shape} is missing")
            given = _tensor_value(state, t, np.float64)
            expected = constants[t.offset:t.offset + t.count].astype(np.float64)
            if not np.all(np.abs(given - expected) <= t.tolerance):
                raise InputError(f"state_dict: {t.name} differs from the one spec {self.name} "
                                 "fixes; it was saved for another model")

    def _flat_argument(self, group, values, copy=True):
        dtype = np.int64 if group == L.COUNTERS else self.dtype
        array = np.asarray(values)
        if not copy and (array.dtype != dtype or not array.flags.c_contiguous):
            raise InputError(f"expected a C-contiguous {dtype} array to bind, got "
                             f"{array.dtype} {'C' if array.flags.c_contiguous else 'non-C'} order")
        array = np.ascontiguousarray(array, dtype=dtype)
        if array.size != self.sizes[group]:
            raise InputError(f"{_GROUP_KEYS[group]}: {array.size} elements; allowed: "
                             f"{self.sizes[group]}")
        return array

    # ---- running -----------------------------------------------------------------------

    def output_shape(self, batch, input_frames=None, output_frames=None):
        shape = (ctypes.c_int64 * 5)()
        rank = ctypes.c_int()
        L.check(L.lib.fernn_output_shape(
            self._handle, int(batch), int(input_frames or self.input_frames),
            -1 if output_frames is None else int(output_frames), shape, ctypes.byref(rank)))
        return tuple(shape[:rank.value])

    def forward(self, inputs, output_frames=None, train=False, keep=False, pass_=None, out=None):
        """The outputs of inputs (B, T, C, H, W): predictions of output_frames frames (None:
        the spec's) or logits. train: BatchNorm with batch statistics (the running ones move);
        keep: keep what backward and hidden_states read, in pass_ (None: the model's own)."""
        x = self._sequence(inputs)
        shape = self.output_shape(x.shape[0], x.shape[1], output_frames)
        if out is None:
            out = np.empty(shape, self.dtype)
        elif out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise InputError(f"out: expected a C-contiguous {self.dtype} array {shape}")
        flags = (L.TRAIN if train else 0) | (L.KEEP if keep else 0)
        L.check(L.lib.fernn_forward(
            self._handle, _pass_handle(pass_), _pointer(x), L.shape_array(x.shape),
            -1 if output_frames is None else int(output_frames), flags, _pointer(out), out.size))
        return out

    def predict(self, inputs, output_frames=None):
        """Evaluation mode (BatchNorm with its running statistics): predictions or logits."""
        return self.forward(inputs, output_frames)

    def backward(self, output_gradient, pass_=None, out=None):
        """dL/d(parameters), flat in the parameters' layout, from dL/d(outputs) of any loss
        for the forward kept in pass_ (None: the model's own)."""
        g = np.ascontiguousarray(output_gradient, dtype=self.dtype)
        if out is None:
            out = np.empty(self.sizes[L.PARAMETERS], self.dtype)
        elif out.dtype != self.dtype or not out.flags.c_contiguous or not out.flags.writeable:
            raise InputError(f"out: expected a writable C-contiguous {self.dtype} array of "
                             f"{self.sizes[L.PARAMETERS]} elements")
        L.check(L.lib.fernn_backward(self._handle, _pass_handle(pass_), _pointer(g), g.size,
                                     _pointer(out), out.size))
        return out

    def gradients(self, output_gradient, pass_=None):
        """The same by parameter name, shaped as the parameters."""
        flat = self.backward(output_gradient, pass_)
        return {t.name: flat[t.offset:t.offset + t.count].reshape(t.shape)
                for t in self.tensors[L.PARAMETERS]}

    def hidden_states(self, layer=0, pass_=None):
        shape = (ctypes.c_int64 * 6)()
        L.check(L.lib.fernn_hidden_shape(self._handle, _pass_handle(pass_), int(layer), shape))
        out = np.empty(tuple(shape), self.dtype)
        L.check(L.lib.fernn_hidden_states(self._handle, _pass_handle(pass_), int(layer),
                                          _pointer(out), out.size))
        return out

    def encode(self, inputs, layer=None):
        """Hidden states after each input step, (B, T, |V|, C, H, W), evaluation mode: of
        `layer`, or a list with every layer's. The order of V is self.velocities."""
        self.forward(inputs, output_frames=0, keep=True)
        if layer is not None:
            return self.hidden_states(layer)
        return [self.hidden_states(l) for l in range(self.layers)]

    def _sequence(self, inputs):
        x = np.ascontiguousarray(inputs, dtype=self.dtype)
        if x.ndim != 5:
            raise InputError(f"inputs have shape {x.shape}; model {self.name} needs "
                             f"(B, T, {', '.join(map(str, self.frame_shape))})")
        return x


def _pass_handle(p):
    return p._handle if p is not None else None


def _text(value, what):
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, not {type(value).__name__}")
    return value.encode("utf-8")


def _override_strings(overrides):
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{path}={json.dumps(value)}" for path, value in overrides.items()]
    if isinstance(overrides, (list, tuple)) and all(isinstance(s, str) for s in overrides):
        return list(overrides)
    raise InputError("overrides: a dict {\"recurrence.channels\": 32} or a list of "
                     "\"PATH=VALUE\" strings")


def _tensor_value(state, t, dtype):
    if t.name not in state:
        raise InputError(f"state_dict: {t.name} {t.shape} is missing")
    value = state[t.name]
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if tuple(array.shape) != t.shape:
        raise InputError(f"state_dict: {t.name} has shape {tuple(array.shape)}; the model "
                         f"needs {t.shape}")
    return array.astype(dtype, copy=False).ravel()
