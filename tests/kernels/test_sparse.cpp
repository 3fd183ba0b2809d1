// Sparse kernels: packing round-trips, the scalar reference against a dense
// matmul of the unpacked weights, and every ISA variant this CPU runs against
// the scalar reference on awkward shapes (K off the vector width, empty and
// fully dense rows, 0 to 100 % sparsity, 1 to 64 activation rows).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/sparse/sparse.h"

namespace tern {
namespace {

// (N, K) with roughly `sparsity` of the entries zero; row 0 is empty and the
// last row fully dense when there are at least 3 rows.
std::vector<float> pruned(int64_t n, int64_t k, double sparsity, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<float> w(static_cast<size_t>(n * k));
    for (auto& v : w) v = u(rng) < sparsity ? 0.0f : (d(rng) + (d(rng) > 0 ? 0.1f : -0.1f));
    if (n >= 3) {
        for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>(c)] = 0.0f;
        for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>((n - 1) * k + c)] = 0.5f + static_cast<float>(c % 7);
    }
    return w;
}

// 2:4 along K: each group keeps 0, 1 or 2 of its 4 columns, at random positions.
std::vector<float> pruned_2_4(int64_t n, int64_t k, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
    for (int64_t r = 0; r < n; ++r)
        for (int64_t g = 0; g < k / 4; ++g) {
            const int keep = static_cast<int>(rng() % 5 == 0 ? rng() % 2 : 2);
            int a = static_cast<int>(rng() % 4), b = static_cast<int>((a + 1 + rng() % 3) % 4);
            if (keep >= 1) w[static_cast<size_t>(r * k + 4 * g + a)] = d(rng) + 0.05f;
            if (keep == 2) w[static_cast<size_t>(r * k + 4 * g + b)] = d(rng) - 0.05f;
        }
    return w;
}

std::vector<float> sparse_randn(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

// Full int8 range, -128 included (the drivers accept any int8 activation).
std::vector<int8_t> rand_s8(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int8_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    if (!v.empty()) v[0] = -128;
    return v;
}

// y (M, N) = x (M, K) · dense^T in double.
std::vector<double> dense_matmul(const std::vector<float>& dense, const std::vector<double>& x, int64_t m, int64_t n,
                                 int64_t k) {
    std::vector<double> y(static_cast<size_t>(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t r = 0; r < n; ++r) {
            double acc = 0;
            for (int64_t c = 0; c < k; ++c) acc += static_cast<double>(dense[static_cast<size_t>(r * k + c)]) * x[static_cast<size_t>(i * k + c)];
            y[static_cast<size_t>(i * n + r)] = acc;
        }
    return y;
}

constexpr float kSparseCanary = 777.0f;
constexpr int64_t kGuard = 16;

// Output with canaries after M x N.
std::vector<float> guarded_output(int64_t m, int64_t n) { return std::vector<float>(static_cast<size_t>(m * n + kGuard), kSparseCanary); }
void expect_guard_intact(const std::vector<float>& y, int64_t m, int64_t n, const char* what) {
    for (int64_t i = m * n; i < m * n + kGuard; ++i) ASSERT_EQ(y[static_cast<size_t>(i)], kSparseCanary) << what << " wrote past the output";
}

const int64_t kKs[] = {1, 5, 17, 33, 64, 100, 257};
const int64_t kMs[] = {1, 2, 5, 16, 17, 33, 64};
const double kSparsities[] = {0.0, 0.5, 0.8, 0.9, 0.95, 1.0};

TEST(SparseKernels, PackRoundTripsTheDenseMatrix) {
    const auto w = pruned(9, 37, 0.8, 1);
    const CsrF32 f = pack_csr_f32(w.data(), 9, 37);
    EXPECT_EQ(unpack_dense(f), w);
    EXPECT_EQ(f.row_ptr[1], 0u);  // row 0 is empty
    EXPECT_EQ(f.row_ptr[9] - f.row_ptr[8], 37u);  // row 8 fully dense
    const CsrS8 q = pack_csr_s8(w.data(), 9, 37);
    EXPECT_EQ(q.col, f.col);
    const auto dq = unpack_dense(q);
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(dq[i], w[i], 0.5f * q.scale[i / 37] + 1e-6f) << i;

    const BitmapS8 bm = pack_bitmap_s8(w.data(), 9, 37);
    EXPECT_EQ(bm.nnz(), f.nnz());
    EXPECT_EQ(unpack_dense(bm), dq);  // same values as CSR int8, another layout

    const auto w24 = pruned_2_4(5, 36, 2);
    const Sparse24S8 s = pack_sparse24_s8(w24.data(), 5, 36);
    EXPECT_EQ(s.k_pad, 128);
    const auto d24 = unpack_dense(s);
    for (size_t i = 0; i < w24.size(); ++i) {
        EXPECT_NEAR(d24[i], w24[i], 0.5f * s.scale[i / 36] + 1e-6f) << i;
        if (w24[i] == 0.0f) EXPECT_EQ(d24[i], 0.0f) << i;
    }
    EXPECT_EQ(s.bytes(), 5u * (64 + 16 + 4 + 4));
}

// The reference (scalar variant through the driver) is the dense product of the unpacked weights.
TEST(SparseKernels, ReferenceEqualsDenseMatmulOfUnpackedWeights) {
    ThreadPool pool(2);
    SparseScratch scratch;
    const int64_t n = 23, k = 45, m = 5;
    const auto w = pruned(n, k, 0.7, 3);
    const auto x = sparse_randn(m * k, 4);
    const std::vector<double> xd(x.begin(), x.end());
    {
        const CsrF32 f = pack_csr_f32(w.data(), n, k);
        auto y = guarded_output(m, n);
        sparse_matmul(f, x.data(), m, y.data(), scratch, pool, kSparseScalar);
        const auto want = dense_matmul(unpack_dense(f), xd, m, n, k);
        for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(y[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-4) << i;
        expect_guard_intact(y, m, n, "csr_f32");
    }
    std::vector<int8_t> xq(static_cast<size_t>(m * k));
    std::vector<float> xs(static_cast<size_t>(m));
    quantize_rows_s8(x.data(), m, k, xq.data(), xs.data());
    std::vector<double> xqd(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m * k; ++i) xqd[static_cast<size_t>(i)] = xs[static_cast<size_t>(i / k)] * xq[static_cast<size_t>(i)];
    {
        const CsrS8 q = pack_csr_s8(w.data(), n, k);
        auto y = guarded_output(m, n);
        sparse_matmul(q, xq.data(), xs.data(), m, y.data(), scratch, pool, kSparseScalar);
        const auto want = dense_matmul(unpack_dense(q), xqd, m, n, k);
        for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(y[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-3) << i;
        expect_guard_intact(y, m, n, "csr_s8");
        const BitmapS8 bm = pack_bitmap_s8(w.data(), n, k);
        auto yb = guarded_output(m, n);
        sparse_matmul(bm, xq.data(), xs.data(), m, yb.data(), scratch, pool, kSparseScalar);
        for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(yb[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-3) << i;
        expect_guard_intact(yb, m, n, "bitmap_s8");
    }
    {
        const int64_t k4 = 44;
        const auto w24 = pruned_2_4(n, k4, 5);
        const auto x4 = rand_s8(m * k4, 6);
        std::vector<double> x4d(x4.size());
        for (int64_t i = 0; i < m * k4; ++i) x4d[static_cast<size_t>(i)] = xs[static_cast<size_t>(i / k4)] * x4[static_cast<size_t>(i)];
        const Sparse24S8 s = pack_sparse24_s8(w24.data(), n, k4);
        auto y = guarded_output(m, n);
        sparse_matmul(s, x4.data(), xs.data(), m, y.data(), scratch, pool, kSparseScalar);
        const auto want = dense_matmul(unpack_dense(s), x4d, m, n, k4);
        for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(y[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-3) << i;
        expect_guard_intact(y, m, n, "sparse24_s8");
    }
}

TEST(SparseKernels, EveryVariantMatchesScalarOnCsr) {
    ThreadPool pool(2);
    SparseScratch scratch;
    const int64_t n = 37;
    int checked = 0;
    for (const SparseKernels* kern : sparse_variants())
        for (int64_t k : kKs)
            for (double sp : kSparsities) {
                const auto w = pruned(n, k, sp, static_cast<uint64_t>(k * 100 + sp * 10));
                const CsrF32 f = pack_csr_f32(w.data(), n, k);
                const CsrS8 q = pack_csr_s8(w.data(), n, k);
                const BitmapS8 bm = pack_bitmap_s8(w.data(), n, k);
                for (int64_t m : kMs) {
                    const auto x = sparse_randn(m * k, static_cast<uint64_t>(m));
                    auto want = guarded_output(m, n), got = guarded_output(m, n);
                    sparse_matmul(f, x.data(), m, want.data(), scratch, pool, kSparseScalar);
                    sparse_matmul(f, x.data(), m, got.data(), scratch, pool, *kern);
                    for (int64_t i = 0; i < m * n; ++i)
                        ASSERT_NEAR(got[static_cast<size_t>(i)], want[static_cast<size_t>(i)],
                                    1e-5f * (1 + std::fabs(want[static_cast<size_t>(i)])) * std::sqrt(static_cast<float>(k)))
                            << kern->name << " csr_f32 K " << k << " sparsity " << sp << " M " << m << " at " << i;
                    expect_guard_intact(got, m, n, kern->name);

                    const auto xq = rand_s8(m * k, static_cast<uint64_t>(m + 7));
                    const auto xs = sparse_randn(m, static_cast<uint64_t>(m + 9));
                    auto want8 = guarded_output(m, n), got8 = guarded_output(m, n);
                    sparse_matmul(q, xq.data(), xs.data(), m, want8.data(), scratch, pool, kSparseScalar);
                    sparse_matmul(q, xq.data(), xs.data(), m, got8.data(), scratch, pool, *kern);
                    // Exact int32 sums, then the same fp32 ops: bit-identical.
                    for (int64_t i = 0; i < m * n; ++i)
                        ASSERT_EQ(got8[static_cast<size_t>(i)], want8[static_cast<size_t>(i)])
                            << kern->name << " csr_s8 K " << k << " sparsity " << sp << " M " << m << " at " << i;
                    expect_guard_intact(got8, m, n, kern->name);

                    auto gotb = guarded_output(m, n);
                    sparse_matmul(bm, xq.data(), xs.data(), m, gotb.data(), scratch, pool, *kern);
                    for (int64_t i = 0; i < m * n; ++i)  // the same int32 sums as CSR int8
                        ASSERT_EQ(gotb[static_cast<size_t>(i)], want8[static_cast<size_t>(i)])
                            << kern->name << " bitmap_s8 K " << k << " sparsity " << sp << " M " << m << " at " << i;
                    expect_guard_intact(gotb, m, n, kern->name);
                    ++checked;
                }
            }
    EXPECT_EQ(checked, static_cast<int>(sparse_variants().size() * std::size(kKs) * std::size(kSparsities) * std::size(kMs)));
}

TEST(SparseKernels, EveryVariantMatchesScalarOn2To4) {
    ThreadPool pool(2);
    SparseScratch scratch;
    const int64_t n = 29;
    for (const SparseKernels* kern : sparse_variants())
        for (int64_t k : {4, 12, 60, 128, 132, 260, 2048}) {
            auto w = pruned_2_4(n, k, static_cast<uint64_t>(k));
            for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>(c)] = 0.0f;  // an empty row
            for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>(k + c)] = c % 2 ? 0.0f : 127.0f;  // every group full
            const Sparse24S8 s = pack_sparse24_s8(w.data(), n, k);
            for (int64_t m : kMs) {
                const auto xq = rand_s8(m * k, static_cast<uint64_t>(m));
                const auto xs = sparse_randn(m, static_cast<uint64_t>(m + 3));
                auto want = guarded_output(m, n), got = guarded_output(m, n);
                sparse_matmul(s, xq.data(), xs.data(), m, want.data(), scratch, pool, kSparseScalar);
                sparse_matmul(s, xq.data(), xs.data(), m, got.data(), scratch, pool, *kern);
                for (int64_t i = 0; i < m * n; ++i)
                    ASSERT_EQ(got[static_cast<size_t>(i)], want[static_cast<size_t>(i)])
                        << kern->name << " sparse24 K " << k << " M " << m << " at " << i;
                expect_guard_intact(got, m, n, kern->name);
            }
        }
}

TEST(SparseKernels, VariantsCoverEveryIsaThisCpuRuns) {
    std::vector<Isa> want{Isa::scalar};
    if (isa_supported(Isa::avx2)) want.push_back(Isa::avx2);
    if (isa_supported(Isa::avx512)) want.push_back(Isa::avx512);
    ASSERT_EQ(sparse_variants().size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(sparse_variants()[i]->isa, want[i]);
}

TEST(SparseKernels, PackingRejectsWhatTheLayoutsCannotHold) {
    std::vector<float> w(8, 0.0f);
    w[0] = w[1] = w[2] = 1.0f;  // three nonzeros in the first group of 4
    EXPECT_THROW(pack_sparse24_s8(w.data(), 1, 8), InputError);
    EXPECT_THROW(pack_sparse24_s8(w.data(), 1, 6), InputError);  // K not a multiple of 4
    std::vector<float> wide(70000, 1.0f);
    EXPECT_THROW(pack_csr_f32(wide.data(), 1, 70000), InputError);  // past the 16-bit column index
    w[3] = NAN;
    EXPECT_THROW(pack_csr_s8(w.data(), 1, 8), InputError);
    EXPECT_THROW(pack_csr_f32(w.data(), 0, 8), InputError);
    try {
        w[3] = 0.0f;
        pack_sparse24_s8(w.data(), 1, 8);
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("columns 0..3"), std::string::npos) << e.what();
    }
}

TEST(SparseKernels, DriversRejectBadRowCounts) {
    ThreadPool pool(1);
    SparseScratch scratch;
    const auto w = pruned(4, 8, 0.5, 1);
    const CsrF32 f = pack_csr_f32(w.data(), 4, 8);
    std::vector<float> x(static_cast<size_t>(65 * 8)), y(static_cast<size_t>(65 * 4));
    EXPECT_THROW(sparse_matmul(f, x.data(), 0, y.data(), scratch, pool), InputError);
    EXPECT_THROW(sparse_matmul(f, x.data(), kSparseMaxRows + 1, y.data(), scratch, pool), InputError);
    const CsrS8 q = pack_csr_s8(w.data(), 4, 8);
    std::vector<int8_t> xq(x.size());
    EXPECT_THROW(sparse_matmul(q, xq.data(), nullptr, 1, y.data(), scratch, pool), InputError);
}

}  // namespace
}  // namespace tern
