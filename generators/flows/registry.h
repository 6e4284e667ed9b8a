// The constructors of the flow modules, one per group; make_flow (registry.cpp) holds the
// one table from group name to constructor.
#pragma once

#include "generators/flows/flow.h"

namespace fernn::gen {

std::unique_ptr<FlowModule> make_translation_flow(const FlowSpec &spec,
                                                  const std::vector<Func> &params);
std::unique_ptr<FlowModule> make_learned_flow(const FlowSpec &spec,
                                              const std::vector<Func> &params);
std::unique_ptr<FlowModule> make_rotation_flow(const FlowSpec &spec,
                                               const std::vector<Func> &params);

}  // namespace fernn::gen
