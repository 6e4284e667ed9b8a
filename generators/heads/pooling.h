// Pooling of a hidden state over its copies (max | mean | sum), shared by the heads, and its
// adjoint. Max sends the gradient to the first maximal copy only, like torch's h.max(dim)
// whose indices point at the first maximum.
#pragma once

#include <string>

#include "generators/stages.h"

namespace fernn::gen {

// pooled(c, x, y, b) from h(c, x, y, v, b), named `name`.
Func pool_copies(const std::string &name, const std::string &pool, const Func &h, int copies,
                 int channels, Type type, Stages &stages);

// d_h(c, x, y, v, b) = carry + the share of d_pooled(c, x, y, b) each copy receives, named
// `name`.
Func unpool_copies(const std::string &name, const std::string &pool, const Func &h,
                   const Func &d_pooled, const Func &carry, int copies, int channels, Type type,
                   Stages &stages);

}  // namespace fernn::gen
