#pragma once
// Helpers shared by the GEMM family tests: seeded random operands and the
// strided views the kernels read (leading dimensions padded on purpose).
#include <cstdint>
#include <random>
#include <vector>

namespace tern::gemm_test {

struct Shape3 {
    int64_t m, n, k;
};

// Awkward sizes: 1, odd, just past register/cache blocks, and 4097 in one dim.
inline std::vector<Shape3> awkward_shapes() {
    return {{1, 1, 1},    {1, 33, 17},  {3, 7, 255},  {7, 17, 3},   {17, 1, 33},  {33, 255, 7},
            {255, 33, 17}, {4097, 3, 17}, {7, 4097, 9}, {5, 9, 4097}, {13, 40, 300}, {150, 70, 520}};
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

template <class T>
std::vector<T> random_ints(size_t n, uint32_t seed, int lo, int hi) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(lo, hi);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(dist(rng));
    return v;
}

// Storage extents of op(X) (rows, cols) held transposed or not, with ld = stored cols + pad.
struct Layout {
    int64_t stored_rows, ld;
};
inline Layout layout_of(int64_t rows, int64_t cols, bool trans, int64_t pad = 3) {
    return trans ? Layout{cols, rows + pad} : Layout{rows, cols + pad};
}

}  // namespace tern::gemm_test
