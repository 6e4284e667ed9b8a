// What a pipeline argument holds, as the plan declares it and as both sides of the library
// boundary see it: the generators declare Halide inputs and outputs from it, the runtime
// allocates and checks buffers with it. Extents come from one function, halide_extents().
//
// Layouts (Halide lists dimensions innermost first; channels innermost so that convolutions
// vectorize over output channels on the CPU and coalesce over them on the GPU):
//   Frame     (c, x, y, b)        ~ C order [b][y][x][c]      frames, lifted features, decoder
//   Hidden    (c, x, y, v, b)     ~ C order [b][v][y][x][c]   hidden states, one copy per v
//   Features  (c, b)              ~ C order [b][c]            pooled features, logits
//   Fixed     shape reversed      ~ the PyTorch shape, C order (parameters, statistics, 0-D sums)
//   Flat      (n)                 any length (the optimizer over whole parameter buffers)
//   Scalar    a scalar argument
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/spec/json_reader.h"

namespace fernn {

enum class TensorKind { Frame, Hidden, Features, Fixed, Flat, Scalar };

// The element type: the model's precision (float32 or float64 builds), or fixed.
enum class Element { Model, Float64 };

struct TensorType {
    TensorKind kind = TensorKind::Frame;
    int channels = 0;            // Frame, Hidden, Features
    std::vector<int64_t> shape;  // Fixed, in PyTorch order
    Element element = Element::Model;

    static TensorType frame(int channels);
    static TensorType hidden(int channels);
    static TensorType features(int channels);
    static TensorType fixed(std::vector<int64_t> shape, Element element = Element::Model);
    static TensorType flat();
    static TensorType scalar(Element element = Element::Model);

    int dimensions() const;
    bool has_batch() const;  // the last dimension is the run-time batch
    bool operator==(const TensorType &o) const;
    std::string kind_name() const;
    json to_json() const;
};

// The sizes a spec fixes: frame size and copies of the hidden state.
struct Geometry {
    int height = 0, width = 0, copies = 1;
};

// Halide extents, innermost first, of a tensor of this type holding `batch` samples (Flat:
// `length` elements). Scalars have none.
std::vector<int> halide_extents(const TensorType &t, const Geometry &g, int batch,
                                int64_t length = 0);

}  // namespace fernn
