// Test helper for optimizer_torch.py: runs a compiled model library's optimizer_step pipeline
// (gradient clipping + Adam) over a sequence of gradients and writes the parameters after
// every step.
//   optimizer_runner MODEL_DIR PARAMS.npy GRADS.npy LR CLIP OUT.npy
// PARAMS: (N,), GRADS: (K, N); OUT: (K, N). The pipeline takes any N.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "runtime/formats/npy.h"
#include "runtime/model/device_tensor.h"
#include "runtime/training/optimizer.h"

using namespace fernn;

int main(int argc, char **argv) {
    if (argc != 7) {
        std::fprintf(stderr,
                     "usage: optimizer_runner MODEL_DIR PARAMS.npy GRADS.npy LR CLIP OUT.npy\n");
        return 2;
    }
    auto lib = ModelLibrary::open(argv[1]);
    const Array<float> params = read_npy<float>(argv[2]), grads = read_npy<float>(argv[3]);
    const int n = int(params.numel()), k = int(grads.shape[0]);
    const AdamConfig config{std::atof(argv[4]), 0.9, 0.999, 1e-8};
    const double clip = std::atof(argv[5]);
    Tensor<float> p[2] = {Tensor<float>(*lib, {n}), Tensor<float>(*lib, {n})};
    Tensor<float> m[2] = {Tensor<float>(*lib, {n}), Tensor<float>(*lib, {n})};
    Tensor<float> v[2] = {Tensor<float>(*lib, {n}), Tensor<float>(*lib, {n})};
    Tensor<float> g(*lib, {n});
    Tensor<double> norm(*lib, {});
    p[0].upload(params.data.data());
    m[0].fill(0);
    v[0].fill(0);
    Array<float> out({k, n});
    for (int s = 0; s < k; ++s) {
        const int cur = s % 2, next = 1 - cur;
        g.upload(grads.data.data() + size_t(s) * n);
        adam_step(*lib, config, s + 1, clip, p[cur], g, m[cur], v[cur], p[next], m[next], v[next],
                  norm);
        p[next].download(out.data.data() + size_t(s) * n);
    }
    write_npy(argv[6], out);
    return 0;
}
