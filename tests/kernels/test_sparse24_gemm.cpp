// The 2:4 prefill path (kernels/sparse/sparse24_gemm.h): the scalar densify
// against the dense image of the packed weights, every ISA variant's densify
// against the scalar one (awkward N, K, panel widths, partial panels, groups
// with 0 or 1 kept weights), and the driver against w8a8 on the same codes,
// bit for bit, for every gemm_q8 x sparse variant pair and M = 1..200.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/sparse/sparse.h"
#include "kernels/sparse/sparse24_gemm.h"
#include "kernels/w8a8/w8a8_matmul.h"

namespace tern {
namespace {

// 2:4 along K; about 1 group in 5 keeps 0 or 1 weight (packed with p0 == p1 or
// an empty slot), and row 1 (when n > 1) keeps nothing at all.
std::vector<float> s24g_weights(int64_t n, int64_t k, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
    for (int64_t r = 0; r < n; ++r) {
        if (r == 1) continue;
        for (int64_t g = 0; g < k / 4; ++g) {
            const int keep = static_cast<int>(rng() % 5 == 0 ? rng() % 2 : 2);
            const int a = static_cast<int>(rng() % 4), b = static_cast<int>((a + 1 + rng() % 3) % 4);
            if (keep >= 1) w[static_cast<size_t>(r * k + 4 * g + a)] = d(rng) + 0.05f;
            if (keep == 2) w[static_cast<size_t>(r * k + 4 * g + b)] = d(rng) - 0.05f;
        }
    }
    return w;
}

// The (N, K) int8 codes of packed weights, from their dense image (|code| <= 127, so
// (scale · code) / scale rounds back to the code).
std::vector<int8_t> s24g_dense_codes(const Sparse24S8& s) {
    const std::vector<float> d = unpack_dense(s);
    std::vector<int8_t> c(d.size());
    for (int64_t r = 0; r < s.n; ++r)
        for (int64_t j = 0; j < s.k; ++j) {
            const size_t i = static_cast<size_t>(r * s.k + j);
            c[i] = static_cast<int8_t>(std::lrint(d[i] / s.scale[static_cast<size_t>(r)]));
        }
    return c;
}

constexpr int8_t kS24gCanary = 0x5A;

// A 64-byte aligned panel buffer with canary bytes past it.
struct S24gPanel {
    WeightVec<int8_t> buf;
    size_t bytes;
    S24gPanel(int64_t k_pad, int nr) : bytes(static_cast<size_t>(k_pad * nr)) { buf.assign(bytes + 64, kS24gCanary); }
    int8_t at(int64_t q, int nr, int c, int i) const { return buf[static_cast<size_t>((q * nr + c) * 4 + i)]; }
};

TEST(Sparse24Gemm, ScalarDensifyIsTheDenseImageInGemmQ8PanelOrder) {
    for (int64_t k : {4, 36, 128, 260}) {
        const int64_t n = 21;
        const auto w = s24g_weights(n, k, static_cast<uint64_t>(k));
        const Sparse24S8 s = pack_sparse24_s8(w.data(), n, k);
        const auto codes = s24g_dense_codes(s);
        for (int nr : {8, 12, 32}) {
            for (int64_t r0 = 0; r0 < n; r0 += nr) {
                const int cols = static_cast<int>(std::min<int64_t>(nr, n - r0));
                S24gPanel p(s.k_pad, nr);
                s24_densify_scalar(s, r0, cols, nr, p.buf.data());
                for (int64_t q = 0; q < s.k_pad / 4; ++q)
                    for (int c = 0; c < nr; ++c)
                        for (int i = 0; i < 4; ++i) {
                            const int64_t col = 4 * q + i;
                            const int8_t want = c < cols && col < k ? codes[static_cast<size_t>((r0 + c) * k + col)] : int8_t{0};
                            ASSERT_EQ(p.at(q, nr, c, i), want) << "k " << k << " nr " << nr << " row " << r0 + c << " col " << col;
                        }
                for (size_t b = p.bytes; b < p.buf.size(); ++b) ASSERT_EQ(p.buf[b], kS24gCanary) << "wrote past the panel";
            }
        }
    }
}

TEST(Sparse24Gemm, EveryVariantDensifiesLikeTheScalar) {
    for (const SparseKernels* kern : sparse_variants())
        for (int64_t k : {36, 128, 260, 1000, 2048})
            for (int64_t n : {1, 7, 33, 70}) {
                const auto w = s24g_weights(n, k, static_cast<uint64_t>(n * 1000 + k));
                const Sparse24S8 s = pack_sparse24_s8(w.data(), n, k);
                for (int nr : {8, 12, 16, 32}) {
                    for (int64_t r0 = 0; r0 < n; r0 += nr) {
                        const int cols = static_cast<int>(std::min<int64_t>(nr, n - r0));
                        S24gPanel want(s.k_pad, nr), got(s.k_pad, nr);
                        std::memset(got.buf.data(), 0x33, got.bytes);  // stale bytes from an earlier panel
                        s24_densify_scalar(s, r0, cols, nr, want.buf.data());
                        kern->s24_densify(s, r0, cols, nr, got.buf.data());
                        for (size_t b = 0; b < got.buf.size(); ++b)
                            ASSERT_EQ(got.buf[b], want.buf[b]) << kern->name << " k " << k << " n " << n << " nr " << nr
                                                               << " r0 " << r0 << " byte " << b;
                    }
                }
            }
}

// x (M, K) quantized by w8a8's row quantizer into (M, k_pad) u8 codes padded with 128.
void s24g_quantize(const std::vector<float>& x, int64_t m, int64_t k, int64_t k_pad, std::vector<uint8_t>& xu,
                   std::vector<float>& xs) {
    xu.assign(static_cast<size_t>(m * k_pad), 128);
    xs.assign(static_cast<size_t>(m), 0.0f);
    for (int64_t i = 0; i < m; ++i) w8a8_quantize_activation_row(x.data() + i * k, k, 0.0f, xu.data() + i * k_pad, &xs[size_t(i)]);
}

TEST(Sparse24Gemm, EqualsW8A8OnTheSameCodesBitForBit) {
    ThreadPool pool(2);
    Sparse24GemmScratch s24scratch;
    std::mt19937_64 rng(9);
    std::normal_distribution<float> act(0.0f, 1.5f);
    const int64_t ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 65, 100, 129, 200};
    for (auto [n, k] : {std::pair<int64_t, int64_t>{33, 260}, {70, 128}, {7, 384}, {96, 1024}}) {
        const auto w = s24g_weights(n, k, static_cast<uint64_t>(n + k));
        const Sparse24S8 s = pack_sparse24_s8(w.data(), n, k);
        const auto codes = s24g_dense_codes(s);
        const std::vector<float> scales(s.scale.begin(), s.scale.end());
        for (int64_t m : ms) {
            std::vector<float> x(static_cast<size_t>(m * k));
            for (auto& v : x) v = act(rng);
            std::vector<uint8_t> xu;
            std::vector<float> xs;
            s24g_quantize(x, m, k, s.k_pad, xu, xs);
            std::vector<float> want(static_cast<size_t>(m * n));
            w8a8_matmul_reference(codes.data(), scales.data(), 0.0f, x.data(), m, n, k, want.data());
            for (const GemmQ8Kernel* gk : gemm_q8_variants()) {
                // The w8a8 path itself, where its K has no padding.
                std::vector<float> dense;
                if (k == s.k_pad) {
                    const W8A8Matrix wm(*gk, codes.data(), scales, 0.0f, n, k);
                    W8A8Scratch scratch;
                    dense.assign(static_cast<size_t>(m * n), NAN);
                    w8a8_matmul(wm, x.data(), m, dense.data(), scratch, pool);
                }
                for (const SparseKernels* sk : sparse_variants()) {
                    std::vector<float> got(static_cast<size_t>(m * n + 16), 777.0f);
                    sparse24_gemm_q8(s, xu.data(), xs.data(), m, got.data(), s24scratch, pool, *gk, *sk);
                    for (size_t i = 0; i < want.size(); ++i) {
                        ASSERT_EQ(got[i], want[i]) << gk->name << " + " << sk->name << " n " << n << " k " << k << " m " << m
                                                   << " i " << i;
                        if (!dense.empty()) {
                            ASSERT_EQ(got[i], dense[i]) << gk->name << " w8a8 path, m " << m << " i " << i;
                        }
                    }
                    for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 777.0f) << "wrote past the output";
                }
            }
        }
    }
}

TEST(Sparse24Gemm, RejectsBadCalls) {
    ThreadPool pool(1);
    Sparse24GemmScratch scratch;
    const auto w = s24g_weights(4, 128, 1);
    const Sparse24S8 s = pack_sparse24_s8(w.data(), 4, 128);
    std::vector<uint8_t> xu(128, 128);
    std::vector<float> xs(1, 1.0f), y(4);
    EXPECT_THROW(sparse24_gemm_q8(s, xu.data(), xs.data(), 0, y.data(), scratch, pool), InputError);
    EXPECT_THROW(sparse24_gemm_q8(s, xu.data(), nullptr, 1, y.data(), scratch, pool), InputError);
    EXPECT_THROW(sparse24_gemm_q8(Sparse24S8{}, xu.data(), xs.data(), 1, y.data(), scratch, pool), InputError);
}

}  // namespace
}  // namespace tern
