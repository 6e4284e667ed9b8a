// Parameter names: where a spec describes one of the reference's models, its state_dict names
// and layouts, so checkpoints load into the reference with load_state_dict(strict=True).
// Each readout kind names its model family:
//   frames   Seq2SeqFERNN (moving_mnist_fp):      cell.conv_u.*, cell.conv_h.weight,
//            decoder_conv.{2i}.weight; with rotation flows the rotating_mnist_fp names:
//            cell.conv_u.weights, cell.conv_h.weights (escnn R2Conv) and their buffers
//   classes  FERNN_Classifier / GRNN_Plus (kth):  lstm.conv_u_first.*, lstm.conv_u_layers.*,
//            lstm.conv_h_layers.{l}.0.weight, lstm.learned_kernels, lstm.shift_kernels, fc.*
// Combinations the reference does not have follow the same pattern; specs/README.md lists
// the scheme.
#pragma once

#include <string>

#include "runtime/groups/cyclic_basis.h"
#include "runtime/spec/spec.h"

namespace fernn {

struct NamingScheme {
    // The lifting as a module: "cell.conv_u" / "lstm.conv_u_first".
    std::string lifting;
    // A lifting of one plain conv is named as a Conv2d (prefix + ".weight"), not a Sequential.
    bool plain_single_lifting = false;
    // Layer l >= 1's input conv as a module: prefix + "." + (l - 1).
    std::string layer_inputs;
    // The recurrent conv of layer l of `layers` as a module (its tensors are module + ".weight",
    // or escnn's ".weights", ".filter", "._basisexpansion..." for steerable convs).
    std::string (*conv_h)(int layer, int layers) = nullptr;
    // Where the flow's tensors live: prefix + ".learned_kernels" / ".shift_kernels".
    std::string flow;
    // Whether translation flows write their shift kernels as a constant buffer (the
    // classifier reference registers them as a buffer).
    bool shift_kernels_constant = false;
};

// escnn's name of a steerable conv's sampled basis buffer (BlocksBasisExpansion names its
// block by the input and output representations: "irrep_0" is the trivial one).
std::string steerable_basis_name(const std::string &module, FieldKind in);

// The scheme of the spec's readout kind.
const NamingScheme &naming_for(const Spec &spec);

// Indices of a conv stack's modules in an nn.Sequential of (conv, [BatchNorm2d], [activation])
// per layer: conv i at conv_module[i], its BatchNorm (if any) at conv_module[i] + 1.
std::vector<int> sequential_conv_modules(const std::vector<ConvLayerSpec> &layers);

}  // namespace fernn
