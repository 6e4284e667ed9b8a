// The steerable filter basis of C_N-equivariant k×k convolutions, exactly as escnn builds it
// for R2Conv(rot2dOnR2(N)) with its default parameters, so that a checkpoint's `weights`
// mean the same filters in fernn and in the reference (rotating_mnist_fp, which uses escnn).
//
// A C_N-steerable convolution from fields of type `in` to regular fields has the dense filter
//   filter[o·N + a, c·in + b, row, col] = Σ_β weights[(o·F_in + c)·nb + β] · basis[β, a, b, p]
// with p = row·k + col sampled at x = col − (k−1)/2, y = (k−1)/2 − row (y up). The basis is
// Gaussian rings (radii 0..(k−1)/2, widths 0.005 at the centre, 0.4 on the outer ring, 0.6
// between) times circular harmonics up to escnn's band limit per ring, coupled to the irreps
// of C_N through its Clebsch-Gordan coefficients and mapped to the regular representation;
// each element normalized as escnn normalizes it (its trace norm over the output irrep's
// size) and elements that vanish on the grid dropped. The order is escnn's: by harmonic,
// then input irrep, output irrep, coefficient and ring. tests/goldens/escnn_basis/ holds
// escnn's own tensors for N = 4, 8 and slices of 36; basis_test compares them.
#pragma once

#include <cstdint>
#include <vector>

namespace fernn {

// How a field transforms under C_N: a scalar (the input frame's channels) or the regular
// representation (N orientation channels, hidden states).
enum class FieldKind { Trivial, Regular };

struct SteerableBasis {
    int elements = 0;   // nb: basis elements per (output field, input field) pair
    int out_size = 0;   // N: channels of one regular output field
    int in_size = 0;    // 1 (trivial) or N (regular)
    int kernel = 0;     // k
    std::vector<double> values;  // (elements, out_size, in_size, k·k), row-major
    // Per element: the C_N irreps (frequencies) it maps between.
    std::vector<int> in_irrep, out_irrep;

    double at(int element, int out, int in, int point) const {
        return values[((int64_t(element) * out_size + out) * in_size + in) * kernel * kernel +
                      point];
    }
};

// The basis from fields of kind `in` to regular fields of C_N (orientations ≥ 1), k×k with k
// odd ≥ 1.
SteerableBasis cyclic_steerable_basis(int orientations, int kernel, FieldKind in);

// An upper bound on that basis' element count, without sampling it (the candidates before
// escnn drops those that vanish on the grid): specs bound the basis' size with it.
int64_t cyclic_basis_elements_bound(int orientations, int kernel, FieldKind in);

// escnn's generalized He initialization of `weights` (normal, zero mean): the standard
// deviation of element β of each (output field, input field) block is
// 1 / sqrt(I_n · fields_in · E_mn), with m → n the irreps β maps between, E_mn the elements
// between them and I_n the input irreps that reach n. One value per element.
std::vector<double> steerable_init_std(const SteerableBasis &basis, int fields_in);

// The dense filter (fields_out·N, fields_in·in_size, k, k) of `weights` (fields_out ·
// fields_in · elements values, escnn's `weights` layout): what escnn keeps as `filter`.
std::vector<float> expand_steerable_filter(const SteerableBasis &basis, const float *weights,
                                           int fields_out, int fields_in);

}  // namespace fernn
