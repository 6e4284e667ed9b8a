// How an element ν̂ of a spec's flow group acts on frames and hidden states, and which copy the
// FERNN theorem maps each copy to: moving the input sequence by ν̂ (frame t acted on by t·ν̂)
// acts on the hidden state after frame t by t·ν̂ and permutes its copies ν ↦ ν − ν̂. This is
// what `fernn equivariance` and the equivariance tests check models against.
//   translation (vx, vy): every plane rolled by (vy, vx) (torch.roll; exact on the torus).
//   rotation θ: every plane turned by θ degrees counter-clockwise about the centre (bilinear,
//     zeros outside; exact at multiples of 90° on square grids); in a hidden state each field
//     of N orientation channels also rolls by θ·N/360.
// Learned flows (G-RNN+) move copies by learned filters, not by a group: no action.
#pragma once

#include <vector>

#include "runtime/spec/flow_spec.h"

namespace fernn {

bool has_group_action(const FlowSpec &flow);

// Whether acting by `times` × ν̂ permutes pixels exactly (no interpolation).
bool exact_action(const FlowSpec &flow, const std::vector<int> &nu, int times);

// `planes` planes of H × W, in → out acted on by times × ν̂. `field_size` channels form one
// field (1 for frames; the flow's field size for hidden states, whose orientations roll).
template <typename T>
void act_on_planes(const FlowSpec &flow, const std::vector<int> &nu, int times, const T *in,
                   T *out, int planes, int height, int width, int field_size);

// The copy whose velocity is that of `copy` minus ν̂ (modulo the frame for translations, 360°
// for rotations), or -1 when the spec has no such copy.
int copy_minus(const FlowSpec &flow, int copy, const std::vector<int> &nu, int height, int width);

}  // namespace fernn
