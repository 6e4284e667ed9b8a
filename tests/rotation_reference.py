"""The reference's rotation model (rotating_mnist_fp/rotating_mnist_models.py, Seq2SeqRotationRNN)
in plain PyTorch for parity tests, built from a normalized fernn spec with a rotation flow.

escnn is not installable here: each R2Conv is replaced by a module with escnn's state_dict
(`weights`, `filter`, `_basisexpansion.block_expansion_(IN, 'regular').sampled_basis`) whose
filter is escnn's expansion of the weights in the sampled basis,
    filter[o*N + a, c*I + b, row, col] = sum_e weights.view(F_out, F_in, E)[o, c, e] * basis[e, a, b, row*k + col]
(tests/basis_test.cpp checks fernn's basis and this layout against escnn's own tensors). The
basis is taken from the checkpoint being compared. The flow is the reference's act_on_hidden:
torch.roll over the orientations by int(v*N/360), then torch.rot90 at multiples of 90 degrees,
else affine_grid + grid_sample (bilinear, zeros, align_corners=False).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class BasisBlock(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.register_buffer("sampled_basis", torch.zeros(shape))


class SteerableConv(nn.Module):
    """escnn.nn.R2Conv(F_in x in_repr -> F_out x regular, kernel k, padding k//2, no bias)."""

    def __init__(self, module, fields_in, fields_out, kernel, regular_in, shapes):
        super().__init__()
        in_name = "'regular'" if regular_in else "'irrep_0'"
        block = f"block_expansion_({in_name}, 'regular')"
        basis_shape = shapes[f"{module}._basisexpansion.{block}.sampled_basis"]
        self.elements, self.n, self.in_size = basis_shape[0], basis_shape[1], basis_shape[2]
        self.fields_in, self.fields_out, self.kernel = fields_in, fields_out, kernel
        self.weights = nn.Parameter(torch.zeros(fields_out * fields_in * self.elements))
        self.register_buffer("filter", torch.zeros(shapes[f"{module}.filter"]))
        self._basisexpansion = nn.Module()
        self._basisexpansion.add_module(block, BasisBlock(basis_shape))
        self._block = block

    def expanded(self):
        basis = getattr(self._basisexpansion, self._block).sampled_basis
        w = self.weights.view(self.fields_out, self.fields_in, self.elements)
        f = torch.einsum("ocb,bxyp->oxcyp", w, basis)
        return f.reshape(self.fields_out * self.n, self.fields_in * self.in_size, self.kernel,
                         self.kernel)

    def forward(self, x):
        return F.conv2d(x, self.expanded(), padding=self.kernel // 2)


class RotationCell(nn.Module):
    def __init__(self, spec, shapes):
        super().__init__()
        flow = spec["flow"]
        self.n = flow["orientations"]
        self.v_list = flow["velocities"]
        layer = spec["recurrence"]["layers"][0]
        self.fields = layer["channels"]
        self.conv_u = SteerableConv("cell.conv_u", spec["input"]["channels"], self.fields,
                                    spec["lifting"]["kernel"], False, shapes)
        self.conv_h = SteerableConv("cell.conv_h", self.fields, self.fields, layer["kernel"], True,
                                    shapes)
        self.activation = ACTIVATIONS[layer["activation"]]()

    def act_on_hidden(self, t, k):
        b, c, h, w = t.shape
        t = t.view(b, c // self.n, self.n, h, w)
        t = torch.roll(t, shifts=int(k * self.n / 360), dims=2).view(b, c, h, w)
        if k % 90 == 0:
            return torch.rot90(t, k // 2, dims=(2, 3))
        a = math.radians(k)
        theta = t.new_tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]])
        grid = F.affine_grid(theta.unsqueeze(0).expand(b, -1, -1), t.size(), align_corners=False)
        return F.grid_sample(t, grid, align_corners=False, padding_mode="zeros")

    def forward(self, u, h_prev):
        b, _, hh, ww = u.shape
        nv = len(self.v_list)
        x = self.conv_u(u).unsqueeze(1).expand(-1, nv, -1, -1, -1)
        moved = torch.stack([self.act_on_hidden(h_prev[:, i], v) for i, v in enumerate(self.v_list)], 1)
        rec = self.conv_h(moved.reshape(b * nv, -1, hh, ww)).view(b, nv, -1, hh, ww)
        return self.activation(x + rec)


class RotationSeq2Seq(nn.Module):
    """readout "frames" with a rotation flow; decoder convs pad with zeros."""

    def __init__(self, spec, shapes):
        super().__init__()
        self.cell = RotationCell(spec, shapes)
        r = spec["readout"]
        hidden = self.cell.fields * self.cell.n
        k = r["decoder"]["kernel"]
        layers = []
        for _ in range(r["decoder"]["layers"]):
            layers += [nn.Conv2d(hidden, hidden, k, padding=k // 2, bias=False), nn.ReLU()]
        layers += [nn.Conv2d(hidden, r["channels"], k, padding=k // 2, bias=False)]
        self.decoder_conv = nn.Sequential(*layers)
        self.pool = r["pool"]
        self.hidden = hidden

    def forward(self, inputs, pred_len, return_hidden=False):
        b, t_in, _, hh, ww = inputs.shape
        h = inputs.new_zeros(b, len(self.cell.v_list), self.hidden, hh, ww)
        hiddens = []
        for t in range(t_in):
            h = self.cell(inputs[:, t], h)
            hiddens.append(h)
        prev = inputs[:, -1]
        outputs = []
        for _ in range(pred_len):
            h = self.cell(prev.detach(), h)
            feat = {"max": lambda z: z.max(1)[0], "mean": lambda z: z.mean(1),
                    "sum": lambda z: z.sum(1)}[self.pool](h)
            out = self.decoder_conv(feat)
            outputs.append(out)
            prev = out
        preds = torch.stack(outputs, dim=1) if outputs else None
        if return_hidden:
            return preds, [torch.stack(hiddens, dim=1)]
        return preds
