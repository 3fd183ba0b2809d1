#pragma once
// Sums over rows of floats for the ops' reductions (bias gradients). A plain `double s; s += x[i]` loop is one serial
// dependency chain (the compiler may not reorder float adds), ~4 cycles per
// element; these keep 8 float lanes the compiler vectorises and fold them
// into a double every block, so the error stays that of 64-term float sums.
// The order depends on n only: results never depend on the thread count.
#include <cstdint>

namespace tern::nn {

namespace row_reduce_detail {
constexpr int kLanes = 8;
constexpr int64_t kBlock = 512;  // elements per float partial before folding into double

template <class Term>
double block_sum(int64_t n, Term term) {
    double total = 0;
    for (int64_t b = 0; b < n; b += kBlock) {
        const int64_t e = b + kBlock < n ? b + kBlock : n;
        float acc[kLanes] = {};
        int64_t i = b;
        for (; i + kLanes <= e; i += kLanes)
            for (int j = 0; j < kLanes; ++j) acc[j] += term(i + j);
        float tail = 0.0f;
        for (; i < e; ++i) tail += term(i);
        float s = tail;
        for (int j = 0; j < kLanes; ++j) s += acc[j];
        total += s;
    }
    return total;
}
}  // namespace row_reduce_detail

// sum(x[0..n))
inline double row_sum(const float* x, int64_t n) {
    return row_reduce_detail::block_sum(n, [x](int64_t i) { return x[i]; });
}

}  // namespace tern::nn
