// Deterministic random numbers with a fixed algorithm (SplitMix64), so that a seed means the
// same data and the same initialization on every machine and library version. Streams are
// counter-based: stream(seed, a, b) gives independent generators for (purpose, index) pairs,
// which is what makes a resumed run see exactly the data an uninterrupted one would.
#pragma once

#include <cstdint>

namespace fernn {

class SplitMix64 {
  public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    // Uniform integer in [lo, hi] (inclusive), without modulo bias.
    int64_t integer(int64_t lo, int64_t hi) {
        const uint64_t span = uint64_t(hi - lo) + 1;
        const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
        uint64_t r;
        do {
            r = next();
        } while (r >= limit);
        return lo + int64_t(r % span);
    }

    // An independent generator for (seed, a, b).
    static SplitMix64 stream(uint64_t seed, uint64_t a, uint64_t b = 0) {
        SplitMix64 mix(seed ^ 0x6a09e667f3bcc909ull);
        const uint64_t s1 = mix.next() ^ a;
        SplitMix64 mix2(s1);
        return SplitMix64(mix2.next() ^ (b * 0xd1b54a32d192ed03ull));
    }

  private:
    uint64_t state_;
};

}  // namespace fernn
