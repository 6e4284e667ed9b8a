"""fernn.torch: a compiled FERNN as a torch.nn.Module whose backward is the compiled BPTT.

    import torch, fernn.torch
    model = fernn.torch.Model("specs/fernn_v1.json", overrides={"recurrence.channels": 32})
    model.load_state_dict(torch.load("reference_checkpoint.pt"))   # the reference's names
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    pred = model(x)                  # (B, T, C, H, W) -> (B, T_out, C, H, W), or logits (B, K)
    loss = my_loss(pred, y); loss.backward(); opt.step()

Parameters are nn.Parameters under the reference state_dict names (cell.conv_u.weight, ...),
views of one flat tensor that the compiled model reads in place (no copy per step on the CPU).
BatchNorm running statistics and counters are buffers, updated by training-mode forwards as
PyTorch's are; the spec's constants are buffers too, and escnn's expanded `filter` tensors
appear in state_dict() in eval mode, as in the reference, so state dicts move both ways with
load_state_dict(strict=True).

The forward is one torch.autograd.Function: it keeps what the compiled backward reads in a
pass of the compiled model, one per live autograd graph (reused once the graph is freed), and
its backward runs BPTT from the gradient PyTorch hands it, whatever the loss. The input gets no
gradient: a forward with an input that requires one raises instead of dropping it silently.
"""
import weakref

import numpy as np
import torch

from . import _library as L
from . import safetensors as _safetensors
from .errors import InputError
from .model import Model as _Compiled
from .model import Pass

__all__ = ["Model", "load_checkpoint", "save_checkpoint"]


def load_checkpoint(path):
    """{name: torch tensor} of a safetensors file."""
    return {k: torch.from_numpy(np.array(v)) for k, v in _safetensors.load(path)[0].items()}


def save_checkpoint(path, state_dict, metadata=None):
    """Writes {name: tensor} as safetensors, atomically."""
    _safetensors.save(path, {k: v.detach().cpu().numpy() for k, v in state_dict.items()}, metadata)


class _Node(torch.nn.Module):
    """A module of the reference's name tree (cell, cell.conv_u, decoder_conv.0, ...): it holds
    the parameters and buffers named under it, and writes the derived tensors named under it
    into state_dict in eval mode (escnn registers `filter` in eval mode only)."""

    def __init__(self):
        super().__init__()
        self._derived_names = []  # local names of derived tensors
        self._owner = None  # a weak reference to the Model

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self._derived_names and not self.training:
            values = self._owner()._derived_values()
            for name in self._derived_names:
                destination[prefix + name] = values[prefix + name]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # Derived tensors are recomputed from the weights: accepted, not read.
        for name in self._derived_names:
            state_dict.pop(prefix + name, None)
        owner = self._owner() if self._owner else None
        if owner is not None:
            owner._check_constants(state_dict, prefix, self, error_msgs)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class Model(_Node):
    """A FERNN compiled from `spec` (a file or dict; overrides as --set, e.g.
    {"recurrence.channels": 32}), or opened from `model_dir` (`fernn compile -o DIR`).

    device: "cpu", or "cuda" (the library compiled with a CUDA target; tensors cross the host).
    precision: "float32", or "float64" (for gradient checks). seed: the initialization's
    (None: drawn from torch's generator, so torch.manual_seed decides it)."""

    def __init__(self, spec=None, overrides=None, device="cpu", precision="float32",
                 target=None, cache_dir=None, model_dir=None, seed=None):
        super().__init__()
        if device not in ("cpu", "cuda"):
            raise InputError(f'device "{device}"; allowed: "cpu", "cuda"')
        if (spec is None) == (model_dir is None):
            raise InputError("give spec (a spec file or dict) or model_dir, not both")
        if model_dir is not None:
            compiled = _Compiled.open(model_dir)
        else:
            if target is None:
                target = "host,cuda" if device == "cuda" else "host"
            compiled = _Compiled.compile(spec, overrides, target, precision, cache_dir)
        if device == "cuda":
            compiled.use_device("cuda")
        # What made it, for copies (__deepcopy__): the compiled library comes from the cache.
        self._arguments = dict(spec=spec, overrides=overrides, device=device,
                               precision=precision, target=target, cache_dir=cache_dir,
                               model_dir=model_dir)
        self._compiled = compiled
        self._device = torch.device(device)
        self._dtype = torch.float64 if compiled.dtype == np.float64 else torch.float32
        self._passes = []  # passes free for the next forward that keeps its trace
        if seed is None:
            seed = int(torch.randint(0, 2 ** 62, (1,)).item())
        compiled.init(seed)

        flat = torch.from_numpy(compiled.read(L.PARAMETERS)).to(self._device)
        self._flat = flat
        self._bound = None  # the flat tensor the compiled model reads in place
        # (tensor info, module, local name) in the plan's order; the parameter itself is looked
        # up on every call, so one the user replaced is the one used.
        self._params = []
        for t in compiled.tensors[L.PARAMETERS]:
            node, local = self._leaf(t.name)
            node.register_parameter(
                local, torch.nn.Parameter(flat[t.offset:t.offset + t.count].view(t.shape)))
            self._params.append((t, node, local))
        self._stats = self._buffers_of(L.STATISTICS, self._dtype)
        self._counters = self._buffers_of(L.COUNTERS, torch.int64)
        self._constants = self._buffers_of(L.CONSTANTS, self._dtype)
        for t in compiled.tensors[L.DERIVED]:
            node, local = self._leaf(t.name)
            node._derived_names.append(local)
        owner = weakref.ref(self)
        for module in self.modules():
            module._owner = owner

    def __deepcopy__(self, memo):
        """An independent module over the same compiled model (from the cache), with copies of
        the parameters, their gradients, the buffers and the mode, e.g. for an exponential
        moving average of the weights."""
        other = Model(seed=0, **self._arguments)
        other.load_state_dict(self.state_dict())
        other.train(self.training)
        for (name, p), (_, q) in zip(self.named_parameters(), other.named_parameters()):
            q.requires_grad_(p.requires_grad)
            if p.grad is not None:
                q.grad = p.grad.detach().clone()
        memo[id(self)] = other
        return other

    # ---- the reference's name tree ---------------------------------------------------------

    def _leaf(self, name):
        """(module, local name) for a dotted reference name, creating the modules on the way."""
        parts = name.split(".")
        node = self
        for part in parts[:-1]:
            child = node._modules.get(part)
            if child is None:
                child = _Node()
                node.add_module(part, child)
            node = child
        return node, parts[-1]

    def _buffers_of(self, group, dtype):
        values = torch.from_numpy(self._compiled.read(group)).to(dtype)
        out = []
        for t in self._compiled.tensors[group]:
            b = values[t.offset:t.offset + t.count].reshape(t.shape).clone().to(self._device)
            node, local = self._leaf(t.name)
            node.register_buffer(local, b)
            out.append((t, node, local))
        return out

    # ---- keeping the compiled model in step ------------------------------------------------

    def _current_parameters(self):
        out = []
        for t, node, local in self._params:
            p = node._parameters.get(local)
            if p is None:
                raise InputError(f"parameter {t.name} was removed from the module")
            out.append((t, p))
        return out

    def _sync_parameters(self):
        """The compiled model reads the parameters in place when they still are the views of
        one flat CPU tensor of its type (the usual case); otherwise they are copied in."""
        flat = self._flat
        params = self._current_parameters()
        in_place = self._device.type == "cpu" and flat.dtype == self._dtype
        if in_place:
            base, size = flat.data_ptr(), flat.element_size()
            for t, p in params:
                if (p.dtype != self._dtype or p.device.type != "cpu" or not p.is_contiguous() or
                        p.data_ptr() != base + t.offset * size):
                    in_place = False
                    break
        if in_place:
            if self._bound is not flat:
                self._compiled.bind_parameters(flat.numpy())
                self._bound = flat
            return
        if self._bound is not None:
            self._compiled.unbind_parameters()
            self._bound = None
        gathered = torch.zeros(self._compiled.sizes[L.PARAMETERS], dtype=self._dtype)
        for t, p in params:
            if p.dtype != self._dtype or tuple(p.shape) != t.shape:
                raise InputError(
                    f"parameter {t.name} is {p.dtype} {tuple(p.shape)}; the model was compiled "
                    f"for {self._dtype} {t.shape} (precision=\"float64\" compiles a float64 "
                    "model; .to(dtype) cannot change a compiled one)")
            gathered[t.offset:t.offset + t.count] = p.detach().reshape(-1).to("cpu", self._dtype)
        self._compiled.write(L.PARAMETERS, gathered.numpy())

    def _sync_statistics_in(self):
        if not self._stats:
            return
        for group, entries, dtype in ((L.STATISTICS, self._stats, self._dtype),
                                      (L.COUNTERS, self._counters, torch.int64)):
            flat = torch.zeros(self._compiled.sizes[group], dtype=dtype)
            for t, node, local in entries:
                flat[t.offset:t.offset + t.count] = getattr(node, local).detach().reshape(-1).to(
                    "cpu", dtype)
            self._compiled.write(group, flat.numpy())

    def _sync_statistics_out(self):
        for group, entries in ((L.STATISTICS, self._stats), (L.COUNTERS, self._counters)):
            if not entries:
                continue
            flat = torch.from_numpy(self._compiled.read(group))
            with torch.no_grad():
                for t, node, local in entries:
                    getattr(node, local).copy_(flat[t.offset:t.offset + t.count].reshape(t.shape))

    def _derived_values(self):
        self._sync_parameters()
        flat = torch.from_numpy(self._compiled.read(L.DERIVED))
        return {t.name: flat[t.offset:t.offset + t.count].reshape(t.shape).clone()
                for t in self._compiled.tensors[L.DERIVED]}

    def _check_constants(self, state_dict, prefix, node, error_msgs):
        for t, owner_node, local in self._constants:
            if owner_node is not node or prefix + local not in state_dict:
                continue
            value = state_dict[prefix + local]
            if not torch.is_tensor(value) or tuple(value.shape) != t.shape:
                continue  # PyTorch reports the shape
            expected = getattr(node, local).detach().to("cpu", torch.float64)
            if not bool(torch.all((value.detach().to("cpu", torch.float64) - expected).abs()
                                  <= t.tolerance)):
                error_msgs.append(f"{prefix + local} differs from the one the spec fixes; it "
                                  "was saved for another model")

    # ---- running ---------------------------------------------------------------------------

    @property
    def compiled(self):
        """The fernn.Model underneath (numpy API, description, velocities)."""
        return self._compiled

    def extra_repr(self):
        c = self._compiled
        return f"{c.name!r}, {c.readout}, {c.precision}, |V|={c.copies}, device={self._device}"

    def forward(self, x, output_frames=None):
        """x (B, T, C, H, W) -> predictions (B, T_out, C, H, W) (output_frames: None for the
        spec's) or logits (B, K)."""
        if not torch.is_tensor(x):
            raise InputError(f"input must be a torch tensor, not {type(x).__name__}")
        if not x.dtype.is_floating_point:
            raise InputError(f"input has dtype {x.dtype}; a floating-point tensor is needed")
        grad = torch.is_grad_enabled()
        if grad and x.requires_grad:
            raise InputError("fernn.torch.Model computes no gradient with respect to its input; "
                             "pass x.detach(), or compute the input under torch.no_grad()")
        params = [p for _, p in self._current_parameters()]
        if grad and any(p.requires_grad for p in params):
            return _CompiledForward.apply(self, x, output_frames, *params)
        return self._run(x, output_frames, None)

    def _run(self, x, output_frames, pass_):
        self._sync_parameters()
        self._sync_statistics_in()
        host = x.detach().to("cpu", self._dtype).contiguous()
        out = self._compiled.forward(host.numpy(), output_frames, train=self.training,
                                     keep=pass_ is not None, pass_=pass_)
        if self.training:
            self._sync_statistics_out()
        return torch.from_numpy(out).to(self._device)

    def _take_pass(self):
        return self._passes.pop() if self._passes else Pass(self._compiled)

    def _give_pass(self, p):
        self._passes.append(p)

    def _backward(self, pass_, grad):
        g = grad.detach().to("cpu", self._dtype).contiguous()
        flat = torch.empty(self._compiled.sizes[L.PARAMETERS], dtype=self._dtype)
        self._compiled.backward(g.numpy(), pass_, out=flat.numpy())
        flat = flat.to(self._device)
        return [flat[t.offset:t.offset + t.count].view(t.shape) for t, _, _ in self._params]


class _CompiledForward(torch.autograd.Function):
    """The compiled forward, keeping its trace in a pass; the compiled BPTT as its backward."""

    @staticmethod
    def forward(ctx, module, x, output_frames, *params):
        p = module._take_pass()
        y = module._run(x, output_frames, p)
        ctx.module, ctx.pass_ = module, p
        # The pass serves later forwards once this graph is freed.
        weakref.finalize(ctx, module._give_pass, p)
        # PyTorch then refuses a backward after the parameters changed in place.
        ctx.save_for_backward(*params)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018 (checks the parameters' versions)
        grads = ctx.module._backward(ctx.pass_, grad)
        return (None, None, None, *grads)
