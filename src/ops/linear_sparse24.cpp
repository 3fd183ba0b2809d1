// ops::Linear's sparse24_q8 path: unpacking, the per-call driver and the
// load-time choice between the sparse kernel and dense int8 (linear_sparse24.h).
#include "ops/linear_sparse24.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/stopwatch.h"
#include "core/thread_pool.h"
#include "formats/sparse24_block.h"
#include "kernels/sparse/sparse24_gemm.h"
#include "kernels/w8a8/w8a8_matmul.h"

namespace tern::ops {
namespace {

// Per calling thread, shared by every weight (as Linear's other scratch).
W8A8Scratch& s24_act_scratch() {
    thread_local W8A8Scratch s;
    return s;
}
Sparse24GemmScratch& s24_gemm_scratch() {
    thread_local Sparse24GemmScratch s;
    return s;
}

template <class T>
WeightVec<T> s24_weight_vec(const std::vector<T>& v) {
    return WeightVec<T>(v.begin(), v.end());
}

// Median wall time of `reps` calls after one warm-up call.
template <class F>
double s24_median_us(F&& run, int reps) {
    run();
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        t.push_back(seconds_since(t0) * 1e6);
    }
    std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
    return t[static_cast<size_t>(reps / 2)];
}

}  // namespace

Sparse24Weights::Sparse24Weights(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name) {
    const Sparse24Unpacked u = unpack_sparse24(blocks, n, k, name);
    w_.n = n, w_.k = k, w_.k_pad = k;  // k is a multiple of 128 = Sparse24S8::kPad
    w_.val = s24_weight_vec(u.codes);
    w_.pos = s24_weight_vec(u.pos);
    w_.scale = s24_weight_vec(u.row_scales);
    w_.row_sum.assign(static_cast<size_t>(n), 0);
    for (int64_t r = 0; r < n; ++r) {
        int32_t s = 0;
        for (int64_t i = 0; i < k / 2; ++i) s += u.codes[static_cast<size_t>(r * (k / 2) + i)];
        w_.row_sum[static_cast<size_t>(r)] = s;
    }
}

void Sparse24Weights::forward(const float* x, int64_t m, float* y) const {
    if (m <= 0) return;
    const int64_t k = w_.k;
    W8A8Scratch& s = s24_act_scratch();
    s.codes.resize(static_cast<size_t>(m * k));
    s.scales.resize(static_cast<size_t>(m));
    const W8A8ActQuantFn quantize_row = w8a8_act_kernel().quantize_row;
    default_pool().parallel_for(m, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) quantize_row(x + r * k, k, 0.0f, s.codes.data() + r * k, &s.scales[size_t(r)]);
    });
    if (m >= kSparse24GemmMinRows) {
        sparse24_gemm_q8(w_, s.codes.data(), s.scales.data(), m, y, s24_gemm_scratch(), default_pool());
        return;
    }
    // The kernel writes rows [0, rows) of a (rows, N) output: chunks of y are exactly that.
    for (int64_t r0 = 0; r0 < m; r0 += kSparseMaxRows) {
        const int64_t rows = std::min(kSparseMaxRows, m - r0);
        sparse_matmul_offset(w_, s.codes.data() + r0 * k, s.scales.data() + r0, rows, y + r0 * w_.n, default_pool());
    }
}

Sparse24Choice choose_sparse24_path(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name,
                                    std::unique_ptr<Sparse24Weights>& sparse, std::unique_ptr<W8A8Matrix>& dense) {
    Sparse24Choice c;
    const char* env = std::getenv("TERN_SPARSE24_PATH");
    const std::string forced = env ? env : "";
    if (!forced.empty() && forced != "sparse" && forced != "dense" && forced != "measure")
        throw UsageError("TERN_SPARSE24_PATH", "must be sparse, dense or measure, not '" + forced + "'");
    sparse = std::make_unique<Sparse24Weights>(blocks, n, k, name);  // validates the blocks
    if (forced == "sparse") {
        c.reason = "TERN_SPARSE24_PATH=sparse";
        return c;
    }
    const Sparse24Unpacked u = unpack_sparse24(blocks, n, k, name);
    const std::vector<int8_t> codes = sparse24_dense_codes(u, n, k);
    dense = std::make_unique<W8A8Matrix>(gemm_q8_kernel(), codes.data(), u.row_scales, 0.0f, n, k);
    if (forced == "dense") {
        sparse.reset();
        c.sparse = false;
        c.reason = "TERN_SPARSE24_PATH=dense";
        return c;
    }
    // One decode step each, on a fixed activation row: the choice is about speed only
    // (both give the same sums), so what x holds does not matter.
    std::vector<float> x(static_cast<size_t>(k)), y(static_cast<size_t>(n));
    for (int64_t i = 0; i < k; ++i) x[static_cast<size_t>(i)] = static_cast<float>((i * 37) % 17) - 8.0f;
    constexpr int kReps = 5;
    c.sparse_us = s24_median_us([&] { sparse->forward(x.data(), 1, y.data()); }, kReps);
    c.dense_us = s24_median_us([&] { w8a8_matmul(*dense, x.data(), 1, y.data(), s24_act_scratch(), default_pool()); }, kReps);
    c.sparse = c.sparse_us <= kSparse24ByteCredit * c.dense_us;
    c.reason = "measured";
    if (c.sparse) dense.reset();
    else sparse.reset();
    return c;
}

}  // namespace tern::ops
