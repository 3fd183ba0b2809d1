#pragma once
// A small seeded generator for initialisation and tests. Hand-rolled (not
// <random> distributions) so values are identical across standard libraries.
#include <cmath>
#include <cstdint>

namespace tern::nn {

class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    // splitmix64: full-period, good enough equidistribution for init and tests.
    uint64_t next_u64() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    float uniform(float lo, float hi) { return lo + static_cast<float>(uniform()) * (hi - lo); }
    // Standard normal (Box-Muller, one value per call for simplicity).
    float normal() {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    // Uniform integer in [0, n).
    int64_t below(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }

private:
    uint64_t state_;
};

}  // namespace tern::nn
