#pragma once
// Small, fast, seedable randomness for the data pipeline. Every random choice
// derives from (seed, epoch, sample) through splitmix64, so results never
// depend on thread timing or on the order batches are prepared in.
#include <cstdint>
#include <utility>
#include <vector>

namespace tern::data {

inline uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Mixes several values into one independent-looking 64-bit seed.
inline uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0) {
    return splitmix64(splitmix64(splitmix64(a) ^ b) ^ c);
}

// xoshiro-style quality is unnecessary here; splitmix64 as a stream is enough
// for shuffles and crop offsets and has a trivially portable definition.
class Rng {
public:
    // Hashing the seed first keeps streams of nearby seeds (s, s+1) from overlapping.
    explicit Rng(uint64_t seed) : state_(splitmix64(seed ^ 0x5851f42d4c957f2dULL)) {}
    uint64_t next() { return splitmix64(state_++); }
    // Uniform in [0, n) without modulo bias (Lemire's multiply-shift with rejection).
    uint64_t below(uint64_t n) {
        if (n <= 1) return 0;
        while (true) {
            const unsigned __int128 m = (unsigned __int128)next() * n;
            const uint64_t low = static_cast<uint64_t>(m);
            if (low >= (0 - n) % n) return static_cast<uint64_t>(m >> 64);
        }
    }
    bool coin() { return next() >> 63; }

private:
    uint64_t state_;
};

// Fisher-Yates shuffle of `v`, determined by `seed` alone.
template <class T>
void shuffle_with_seed(std::vector<T>& v, uint64_t seed) {
    Rng rng(seed);
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace tern::data
