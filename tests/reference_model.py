"""The paper's model in PyTorch, written from the semantics of akandykeller/FERNN
(moving_mnist_fp/moving_mnist_models.py, class Seq2SeqFERNN) for parity tests only.

Module and parameter names match the reference's state_dict (cell.conv_u.weight,
cell.conv_h.weight, decoder_conv.<i>.weight), so fernn checkpoints load with load_state_dict.
fernn's spec generalizes the reference in two ways that this file follows: an explicit list of
velocities (the reference only builds the {-R..R}^2 grid) and the decoder kernel size.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn


def velocities_of(spec):
    """[(vx, vy), ...] in hidden-state order, from a normalized spec."""
    return [tuple(v) for v in spec["flow"]["velocities"]]


class Cell(nn.Module):
    def __init__(self, spec):
        super().__init__()
        c_in = spec["input"]["channels"]
        hidden = spec["recurrence"]["channels"]
        ku, kh = spec["lifting"]["kernel"], spec["recurrence"]["kernel"]
        self.velocities = velocities_of(spec)
        self.hidden = hidden
        self.conv_u = nn.Conv2d(c_in, hidden, ku, padding=ku // 2, padding_mode="circular", bias=False)
        self.conv_h = nn.Conv2d(hidden, hidden, kh, padding=kh // 2, padding_mode="circular", bias=False)
        self.act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[
            spec["recurrence"]["activation"]]

    def forward(self, u, h):
        b, nv, c, hh, ww = h.shape
        u_conv = self.conv_u(u).unsqueeze(1).expand(-1, nv, -1, -1, -1)
        moved = torch.stack([torch.roll(h[:, i], shifts=(vy, vx), dims=(2, 3))
                             for i, (vx, vy) in enumerate(self.velocities)], dim=1)
        h_conv = self.conv_h(moved.reshape(b * nv, c, hh, ww)).view(b, nv, c, hh, ww)
        return self.act(u_conv + h_conv)


class Seq2Seq(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.cell = Cell(spec)
        hidden = spec["recurrence"]["channels"]
        k = spec["readout"]["decoder"]["kernel"]
        layers = []
        for _ in range(spec["readout"]["decoder"]["layers"]):
            layers += [nn.Conv2d(hidden, hidden, k, padding=k // 2, padding_mode="circular", bias=False), nn.ReLU()]
        layers += [nn.Conv2d(hidden, spec["readout"]["channels"], k, padding=k // 2, padding_mode="circular",
                             bias=False)]
        self.decoder_conv = nn.Sequential(*layers)
        self.pool = spec["readout"]["pool"]
        self.num_v = len(self.cell.velocities)
        self.hidden = hidden

    def forward(self, inputs, pred_len, return_hidden=False):
        b, t_in, c, hh, ww = inputs.shape
        h = inputs.new_zeros(b, self.num_v, self.hidden, hh, ww)
        hiddens = []
        for t in range(t_in):
            h = self.cell(inputs[:, t], h)
            hiddens.append(h)
        prev = inputs[:, -1]
        outputs = []
        for _ in range(pred_len):
            h = self.cell(prev.detach(), h)
            if self.pool == "max":
                feat = h.max(1)[0]
            elif self.pool == "mean":
                feat = h.mean(1)
            else:
                feat = h.sum(1)
            out = self.decoder_conv(feat)
            outputs.append(out)
            prev = out
        preds = torch.stack(outputs, dim=1) if outputs else None
        if return_hidden:
            return preds, torch.stack(hiddens, dim=1)
        return preds


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
        dtype = {"F32": np.float32, "F64": np.float64}[info["dtype"]]
        begin, end = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).copy())
    return out
