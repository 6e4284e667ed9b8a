"""The paper's models in PyTorch, written from the semantics of akandykeller/FERNN for parity
tests only, built from a normalized fernn spec (`fernn check --json`):

- readout "frames": Seq2SeqFERNN (moving_mnist_fp/moving_mnist_models.py): cell.conv_u,
  cell.conv_h, decoder_conv; each copy rolled by torch.roll(h, (vy, vx)).
- readout "classes": FERNN_Classifier / GRNN_Plus (kth/train_kth_classification.py):
  lstm.conv_u_first (conv, BatchNorm, activation per layer), lstm.conv_u_layers,
  lstm.conv_h_layers, lstm.shift_kernels (a buffer: each copy moved by a one-hot kernel on the
  circularly padded state, as the reference does) or lstm.learned_kernels (G-RNN+), fc.

Module and parameter names are the reference's state_dict names, so fernn checkpoints load
with load_state_dict(strict=True). fernn's spec generalizes the reference (explicit velocity
lists, kernel sizes, stacked layers, pooling choices); this file follows those too, with the
naming scheme of specs/README.md.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def conv_layer_modules(layer, in_channels, out_channels):
    """nn.Sequential entries for one conv layer: conv, [BatchNorm2d], [activation]."""
    k = layer["kernel"]
    mods = [nn.Conv2d(in_channels, out_channels, k, padding=k // 2, padding_mode=layer["padding"],
                      bias=False)]
    if layer["batchnorm"]:
        mods.append(nn.BatchNorm2d(out_channels))
    if layer["activation"] != "none":
        mods.append(ACTIVATIONS[layer["activation"]]())
    return mods


def pool_copies(h, pool, dim):
    if pool == "max":
        return h.max(dim)[0]
    if pool == "mean":
        return h.mean(dim)
    return h.sum(dim)


class Recurrence(nn.Module):
    """The encoder: lifting, stacked recurrent layers and the flow. Registered under the family's
    names by the owning model (cell.* or lstm.*)."""

    def __init__(self, spec, family):
        super().__init__()
        self.family = family
        c_in = spec["input"]["channels"]
        lift = spec["lifting"]["layers"]
        layers = spec["recurrence"]["layers"]
        self.layers = layers
        self.flow = spec["flow"]
        plain = (family == "frames" and len(lift) == 1 and not lift[0]["batchnorm"]
                 and lift[0]["activation"] == "none")
        mods, prev = [], c_in
        for layer in lift:
            mods += conv_layer_modules(layer, prev, layer["channels"])
            prev = layer["channels"]
        lifting = mods[0] if plain else nn.Sequential(*mods)
        inputs = nn.ModuleList(
            [nn.Sequential(*conv_layer_modules(layers[l]["input"], layers[l - 1]["channels"],
                                               layers[l]["channels"])) for l in range(1, len(layers))])
        convs = [nn.Conv2d(l["channels"], l["channels"], l["kernel"], padding=l["kernel"] // 2,
                           padding_mode="circular", bias=False) for l in layers]
        if family == "frames":
            self.conv_u = lifting
            if len(layers) == 1:
                self.conv_h = convs[0]
            else:
                self.conv_h_layers = nn.ModuleList(convs)
            if len(inputs):
                self.conv_u_layers = inputs
        else:
            self.conv_u_first = lifting
            self.conv_u_layers = inputs
            self.conv_h_layers = nn.ModuleList([nn.Sequential(c) for c in convs])
        self.acts = [ACTIVATIONS[l["activation"]]() for l in layers]
        if self.flow["group"] == "learned":
            n, k = self.flow["copies"], self.flow["kernel"]
            self.learned_kernels = nn.Parameter(torch.zeros(n, 1, k, k))
            for i in range(n):
                nn.init.kaiming_normal_(self.learned_kernels[i:i + 1], mode="fan_out",
                                        nonlinearity="linear")
            self.copies = n
        else:
            self.velocities = [tuple(v) for v in self.flow["velocities"]]
            self.copies = len(self.velocities)
            if family == "classes":
                # The reference's v_list entries are (vy', vx') with shifted[y, x] =
                # h[y + vy', x + vx']; fernn's velocity (vx, vy) rolls by (vy, vx): (-vy, -vx).
                v_list = [(-vy, -vx) for vx, vy in self.velocities]
                reach = max(max(abs(a), abs(b)) for a, b in v_list)
                k = 2 * reach + 1
                kernels = torch.zeros(len(v_list), 1, k, k)
                for i, (vy, vx) in enumerate(v_list):
                    kernels[i, 0, k // 2 + vy, k // 2 + vx] = 1.0
                self.register_buffer("shift_kernels", kernels)

    def lifting(self):
        return self.conv_u if self.family == "frames" else self.conv_u_first

    def conv_h_of(self, l):
        if self.family == "frames":
            return self.conv_h if len(self.layers) == 1 else self.conv_h_layers[l]
        return self.conv_h_layers[l]

    def move(self, h):
        """Each copy moved one step: h (B, V, C, H, W)."""
        b, nv, c, hh, ww = h.shape
        if self.flow["group"] == "translation" and self.family == "frames":
            return torch.stack([torch.roll(h[:, i], shifts=(vy, vx), dims=(2, 3))
                                for i, (vx, vy) in enumerate(self.velocities)], dim=1)
        kernels = self.learned_kernels if self.flow["group"] == "learned" else self.shift_kernels
        # As the reference: (B*C, V, H, W), circular padding, a grouped conv over the copies.
        x = h.transpose(1, 2).reshape(-1, nv, hh, ww)
        p = kernels.size(-1) // 2
        x = F.pad(x, (p, p, p, p), mode="circular")
        x = F.conv2d(x, kernels, padding=0, groups=nv)
        return x.view(b, c, nv, hh, ww).transpose(1, 2)

    def step(self, u, states):
        """One step: u (B, C, H, W); states: per layer (B, V, C, H, W). Returns new states."""
        b, _, hh, ww = u.shape
        out, below = [], None
        for l, layer in enumerate(self.layers):
            c = layer["channels"]
            h = states[l]
            if l == 0:
                x = self.lifting()(u).unsqueeze(1).expand(-1, self.copies, -1, -1, -1)
            else:
                x = self.conv_u_layers[l - 1](below.reshape(b * self.copies, -1, hh, ww))
                x = x.view(b, self.copies, c, hh, ww)
            moved = self.move(h)
            rec = self.conv_h_of(l)(moved.reshape(b * self.copies, c, hh, ww))
            h = self.acts[l](x + rec.view(b, self.copies, c, hh, ww))
            out.append(h)
            below = h
        return out

    def zero_states(self, u):
        b, _, _, hh, ww = u.shape
        return [u.new_zeros(b, self.copies, l["channels"], hh, ww) for l in self.layers]


class Seq2Seq(nn.Module):
    """readout "frames"."""

    def __init__(self, spec):
        super().__init__()
        self.cell = Recurrence(spec, "frames")
        r = spec["readout"]
        hidden = spec["recurrence"]["layers"][-1]["channels"]
        k = r["decoder"]["kernel"]
        layers = []
        for _ in range(r["decoder"]["layers"]):
            layers += [nn.Conv2d(hidden, hidden, k, padding=k // 2, padding_mode="circular", bias=False),
                       nn.ReLU()]
        layers += [nn.Conv2d(hidden, r["channels"], k, padding=k // 2, padding_mode="circular", bias=False)]
        self.decoder_conv = nn.Sequential(*layers)
        self.pool = r["pool"]

    def forward(self, inputs, pred_len, return_hidden=False):
        states = self.cell.zero_states(inputs)
        hiddens = []
        for t in range(inputs.shape[1]):
            states = self.cell.step(inputs[:, t], states)
            hiddens.append(states)
        prev = inputs[:, -1]
        outputs = []
        for _ in range(pred_len):
            states = self.cell.step(prev.detach(), states)
            out = self.decoder_conv(pool_copies(states[-1], self.pool, 1))
            outputs.append(out)
            prev = out
        preds = torch.stack(outputs, dim=1) if outputs else None
        if return_hidden:
            return preds, [torch.stack([s[l] for s in hiddens], dim=1) for l in range(len(states))]
        return preds


class Classifier(nn.Module):
    """readout "classes"."""

    def __init__(self, spec):
        super().__init__()
        self.lstm = Recurrence(spec, "classes")
        r = spec["readout"]
        self.fc = nn.Linear(spec["recurrence"]["layers"][-1]["channels"], r["classes"])
        self.pool, self.time = r["pool"], r["time"]

    def forward(self, inputs, return_hidden=False):
        states = self.lstm.zero_states(inputs)
        hiddens, feats = [], []
        for t in range(inputs.shape[1]):
            states = self.lstm.step(inputs[:, t], states)
            hiddens.append(states)
            feats.append(pool_copies(states[-1], self.pool, 1).mean(dim=(2, 3)))
        feat = feats[-1] if self.time == "last" else torch.stack(feats, 0).mean(0)
        logits = self.fc(feat)
        if return_hidden:
            return logits, [torch.stack([s[l] for s in hiddens], dim=1) for l in range(len(states))]
        return logits


def build(spec, shapes=None):
    """The reference model of `spec`; `shapes` (tensor name -> shape, from the checkpoint)
    sizes the steerable bases of rotation models."""
    if spec["flow"]["group"] == "rotation":
        from rotation_reference import RotationSeq2Seq
        return RotationSeq2Seq(spec, shapes)
    return Classifier(spec) if spec["readout"]["kind"] == "classes" else Seq2Seq(spec)


def load_safetensors(path):
    """A small independent reader of the safetensors format (Debian has no python3-safetensors)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "F64": np.float64, "I64": np.int64}[info["dtype"]]
        begin, end = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).copy())
    return out
