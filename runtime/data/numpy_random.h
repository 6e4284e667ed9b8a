// NumPy's legacy np.random.RandomState(seed).randint(low, high), drawn exactly: the reference
// (kth/train_kth_classification.py) fixes each clip's augmentation velocity with
// RandomState(42), and fernn draws the same velocities. MT19937 seeded like init_genrand (which
// std::mt19937 is); randint draws 32-bit words and rejects masked values above high - low - 1.
#pragma once

#include <cstdint>
#include <random>

namespace fernn {

class NumpyRandomState {
  public:
    explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}
    // An integer in [low, high), as RandomState.randint(low, high) for ranges below 2^32.
    int64_t randint(int64_t low, int64_t high) {
        const uint32_t range = uint32_t(high - low - 1);
        if (range == 0) return low;
        uint32_t mask = range;
        for (int s = 1; s < 32; s <<= 1) mask |= mask >> s;
        uint32_t v;
        while ((v = uint32_t(mt_()) & mask) > range) {
        }
        return low + int64_t(v);
    }

  private:
    std::mt19937 mt_;
};

}  // namespace fernn
