#include "runtime/plan/naming.h"

#include <map>

namespace fernn {

namespace {

// Seq2SeqFERNN has one cell; stacked layers get a ModuleList of recurrent convs.
std::string frames_conv_h(int layer, int layers) {
    if (layers == 1) return "cell.conv_h";
    return "cell.conv_h_layers." + std::to_string(layer);
}

// FERNN's conv_h_layers is a ModuleList of nn.Sequential(Conv2d).
std::string classes_conv_h(int layer, int) {
    return "lstm.conv_h_layers." + std::to_string(layer) + ".0";
}

// The one registry of naming schemes, by readout kind.
const std::map<std::string, NamingScheme> &registry() {
    static const std::map<std::string, NamingScheme> schemes = {
        {"frames", {"cell.conv_u", true, "cell.conv_u_layers", frames_conv_h, "cell", false}},
        {"classes",
         {"lstm.conv_u_first", false, "lstm.conv_u_layers", classes_conv_h, "lstm", true}},
    };
    return schemes;
}

}  // namespace

std::string steerable_basis_name(const std::string &module, FieldKind in) {
    const char *from = in == FieldKind::Regular ? "'regular'" : "'irrep_0'";
    return module + "._basisexpansion.block_expansion_(" + from + ", 'regular').sampled_basis";
}

const NamingScheme &naming_for(const Spec &spec) {
    return registry().at(spec.readout.kind);
}

std::vector<int> sequential_conv_modules(const std::vector<ConvLayerSpec> &layers) {
    std::vector<int> out;
    int next = 0;
    for (const auto &l : layers) {
        out.push_back(next);
        next += 1 + (l.batchnorm ? 1 : 0) + (l.activation != "none" ? 1 : 0);
    }
    return out;
}

}  // namespace fernn
