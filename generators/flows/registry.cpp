#include "generators/flows/registry.h"

#include <map>
#include <stdexcept>

namespace fernn::gen {

std::unique_ptr<FlowModule> make_flow(const FlowSpec &spec, const std::vector<Func> &params) {
    using Make = std::unique_ptr<FlowModule> (*)(const FlowSpec &, const std::vector<Func> &);
    static const std::map<std::string, Make> modules = {
        {"translation", make_translation_flow},
        {"learned", make_learned_flow},
        {"rotation", make_rotation_flow},
    };
    auto it = modules.find(spec.group);
    if (it == modules.end()) throw std::invalid_argument("no flow module for group " + spec.group);
    return it->second(spec, params);
}

}  // namespace fernn::gen
