// Test helper for optimizer_torch.py: runs fernn's clip_grad_norm + Adam over a sequence of
// gradients and writes the parameters after every step.
//   optimizer_runner PARAMS.npy GRADS.npy LR CLIP OUT.npy
// PARAMS: (N,), GRADS: (K, N); OUT: (K, N).
#include <cstdio>
#include <cstdlib>

#include "runtime/npy.h"
#include "runtime/optimizer.h"

using namespace fernn;

int main(int argc, char **argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: optimizer_runner PARAMS.npy GRADS.npy LR CLIP OUT.npy\n");
        return 2;
    }
    Array<float> params = read_npy<float>(argv[1]);
    const Array<float> grads = read_npy<float>(argv[2]);
    const int64_t n = params.numel(), k = grads.shape[0];
    Adam<float> adam(AdamConfig{std::atof(argv[3]), 0.9, 0.999, 1e-8});
    adam.allocate(n);
    Array<float> out({k, n});
    for (int64_t s = 0; s < k; ++s) {
        AlignedVector<float> g(grads.data.begin() + s * n, grads.data.begin() + (s + 1) * n);
        clip_grad_norm(g, std::atof(argv[4]));
        adam.step(params.data.data(), g.data());
        std::copy(params.data.begin(), params.data.end(), out.data.begin() + s * n);
    }
    write_npy(argv[5], out);
    return 0;
}
