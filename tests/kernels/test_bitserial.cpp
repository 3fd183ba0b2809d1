// Bit-serial binary and ternary products (kernels/bitserial): the scalar
// reference against plain +-1 / ternary dot products of the unpacked values,
// and every variant this CPU runs against the reference, at awkward sizes.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/bitserial/bitserial.h"

namespace tern {
namespace {

struct Operands {
    int64_t m, n, k;
    std::vector<float> a;      // (m, k) signs as +-1 floats (0 included: sign(0) = +1)
    std::vector<int8_t> w;     // (n, k) ternary codes
    std::vector<float> wbin;   // (n, k) binary weights
    std::vector<uint64_t> abits, bbits, wmask, wsign;
    std::vector<int32_t> nonzero;
};

Operands make(int64_t m, int64_t n, int64_t k, uint32_t seed, double zero_fraction) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::uniform_real_distribution<double> p(0, 1);
    Operands o{m, n, k, {}, {}, {}, {}, {}, {}, {}, {}};
    o.a.resize(static_cast<size_t>(m * k));
    for (auto& v : o.a) v = p(rng) < 0.05 ? 0.f : u(rng);
    o.wbin.resize(static_cast<size_t>(n * k));
    for (auto& v : o.wbin) v = u(rng);
    o.w.resize(static_cast<size_t>(n * k));
    for (auto& v : o.w) v = p(rng) < zero_fraction ? 0 : (u(rng) < 0 ? -1 : 1);
    const int64_t words = bit_words(k);
    o.abits.assign(static_cast<size_t>(m * words), ~uint64_t{0});  // garbage the packer must clear
    o.bbits.assign(static_cast<size_t>(n * words), ~uint64_t{0});
    o.wmask.assign(static_cast<size_t>(n * words), 0);
    o.wsign.assign(static_cast<size_t>(n * words), 0);
    o.nonzero.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < m; ++i) pack_sign_bits(o.a.data() + i * k, k, o.abits.data() + i * words);
    for (int64_t j = 0; j < n; ++j) {
        pack_sign_bits(o.wbin.data() + j * k, k, o.bbits.data() + j * words);
        o.nonzero[static_cast<size_t>(j)] = pack_ternary_bits(o.w.data() + j * k, k, o.wmask.data() + j * words, o.wsign.data() + j * words);
    }
    return o;
}

float sign_of(float v) { return v >= 0.f ? 1.f : -1.f; }

TEST(BitSerial, ReferenceEqualsUnpackedDotProducts) {
    for (int64_t k : {1, 63, 64, 65, 200, 1000}) {
        const Operands o = make(5, 7, k, static_cast<uint32_t>(k), 0.4);
        std::vector<int32_t> bin(35), ter(35);
        BitGemmArgs g{5, 7, k, o.abits.data(), o.bbits.data(), nullptr, nullptr, bin.data()};
        bit_gemm_binary_scalar(g, 0, 5);
        BitGemmArgs t{5, 7, k, o.abits.data(), o.wsign.data(), o.wmask.data(), o.nonzero.data(), ter.data()};
        bit_gemm_ternary_scalar(t, 0, 5);
        for (int64_t i = 0; i < 5; ++i) {
            for (int64_t j = 0; j < 7; ++j) {
                int32_t want_bin = 0, want_ter = 0;
                for (int64_t x = 0; x < k; ++x) {
                    const float a = sign_of(o.a[static_cast<size_t>(i * k + x)]);
                    want_bin += static_cast<int32_t>(a * sign_of(o.wbin[static_cast<size_t>(j * k + x)]));
                    want_ter += static_cast<int32_t>(a) * o.w[static_cast<size_t>(j * k + x)];
                }
                EXPECT_EQ(bin[static_cast<size_t>(i * 7 + j)], want_bin) << "k " << k;
                EXPECT_EQ(ter[static_cast<size_t>(i * 7 + j)], want_ter) << "k " << k;
            }
        }
    }
}

TEST(BitSerial, EveryVariantEqualsTheReference) {
    const auto variants = bit_gemm_variants();
    ASSERT_GE(variants.size(), 1u);
    EXPECT_STREQ(variants.front()->name, "bit_gemm_scalar");
    struct Size {
        int64_t m, n, k;
    };
    for (const Size s : {Size{1, 1, 1}, Size{3, 5, 64}, Size{4, 4, 512}, Size{7, 9, 513}, Size{9, 13, 1000}, Size{17, 6, 2048},
                         Size{2, 3, 0}}) {
        const Operands o = make(s.m, s.n, s.k, static_cast<uint32_t>(s.m * 131 + s.k), 0.3);
        const size_t cells = static_cast<size_t>(s.m * s.n);
        std::vector<int32_t> want_bin(cells), want_ter(cells);
        BitGemmArgs g{s.m, s.n, s.k, o.abits.data(), o.bbits.data(), nullptr, nullptr, want_bin.data()};
        bit_gemm_binary_scalar(g, 0, s.m);
        BitGemmArgs t{s.m, s.n, s.k, o.abits.data(), o.wsign.data(), o.wmask.data(), o.nonzero.data(), want_ter.data()};
        bit_gemm_ternary_scalar(t, 0, s.m);
        for (const BitGemmKernel* v : variants) {
            std::vector<int32_t> bin(cells, -7), ter(cells, -7);
            g.c = bin.data();
            t.c = ter.data();
            bit_gemm_binary(g, v);
            bit_gemm_ternary(t, v);
            EXPECT_EQ(bin, want_bin) << v->name << " " << s.m << "x" << s.n << "x" << s.k;
            EXPECT_EQ(ter, want_ter) << v->name << " " << s.m << "x" << s.n << "x" << s.k;
        }
    }
}

// Restores the default pool's thread count when a test changed it.
struct ThreadsGuard {
    int saved = default_thread_count();
    explicit ThreadsGuard(int n) { set_default_threads(n); }
    ~ThreadsGuard() { set_default_threads(saved); }
};

// B packed once (BitPackedB, as weights are) against the reference, at shapes
// around the AVX-512 tile (6 rows x 4 panels of 8 columns, 8 words per 512-bit
// load): partial row tiles, partial panels and panel groups, K short of a word
// and of 512 bits, rows past one A block (70 x 30 x 4101: blocks of 30 rows).
// One thread (whole row blocks in one call) and three, so both splits run:
// rows of C when M has enough tiles, panels of B when it has not (M = 1, 5, 13).
void check_packed_b_at_tile_edges(int n_threads) {
    struct Size {
        int64_t m, n, k;
    };
    for (const Size s : {Size{1, 37, 100}, Size{5, 70, 777}, Size{6, 32, 512}, Size{13, 33, 513}, Size{37, 100, 1600},
                         Size{12, 8, 4101}, Size{70, 30, 4101}, Size{64, 41, 64}, Size{7, 1, 65}, Size{3, 9, 0}}) {
        const Operands o = make(s.m, s.n, s.k, static_cast<uint32_t>(s.n * 7 + s.k), 0.5);
        const size_t cells = static_cast<size_t>(s.m * s.n);
        std::vector<int32_t> want_bin(cells), want_ter(cells);
        BitGemmArgs g{s.m, s.n, s.k, o.abits.data(), o.bbits.data(), nullptr, nullptr, want_bin.data()};
        bit_gemm_binary_scalar(g, 0, s.m);
        BitGemmArgs t{s.m, s.n, s.k, o.abits.data(), o.wsign.data(), o.wmask.data(), o.nonzero.data(), want_ter.data()};
        bit_gemm_ternary_scalar(t, 0, s.m);
        for (const BitGemmKernel* v : bit_gemm_variants()) {
            const BitPackedB bin_b(*v, o.bbits.data(), s.n, s.k);
            const BitPackedB ter_b(*v, o.wsign.data(), o.wmask.data(), o.nonzero.data(), s.n, s.k);
            EXPECT_FALSE(bin_b.ternary());
            EXPECT_TRUE(ter_b.ternary());
            EXPECT_EQ(bin_b.panels(), (s.n + v->panel - 1) / v->panel);
            std::vector<int32_t> bin(cells, -7), ter(cells, -7), ter_rows(cells, -7);
            BitGemmArgs run{s.m, s.n, s.k, o.abits.data(), nullptr, nullptr, nullptr, bin.data()};
            bit_gemm(run, bin_b);
            run.c = ter.data();
            bit_gemm(run, ter_b);
            t.c = ter_rows.data();
            bit_gemm_ternary(t, v);  // the row-major entry packs per call
            t.c = want_ter.data();
            const std::string at = std::string(v->name) + " " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                                   std::to_string(s.k) + " threads " + std::to_string(n_threads);
            EXPECT_EQ(bin, want_bin) << at;
            EXPECT_EQ(ter, want_ter) << at;
            EXPECT_EQ(ter_rows, want_ter) << at;
        }
    }
}

TEST(BitSerial, PackedBEqualsTheReferenceAtTileEdges) {
    for (const int n_threads : {1, 3}) {
        const ThreadsGuard threads(n_threads);
        check_packed_b_at_tile_edges(n_threads);
    }
}

// Extreme dot products: all agree (K) and all differ (-K) for binary, and a
// ternary row of zeros (0), at a K whose last word is partial.
TEST(BitSerial, ExtremeDotProductsAtAPartialWord) {
    const int64_t m = 7, n = 9, k = 1000, words = bit_words(k);
    std::vector<float> ones(static_cast<size_t>(k), 1.f), minus(static_cast<size_t>(k), -1.f);
    std::vector<uint64_t> a(static_cast<size_t>(m * words)), b(static_cast<size_t>(n * words));
    std::vector<uint64_t> mask(static_cast<size_t>(n * words)), sign(static_cast<size_t>(n * words));
    std::vector<int32_t> nonzero(static_cast<size_t>(n));
    std::vector<int8_t> codes(static_cast<size_t>(k));
    for (int64_t i = 0; i < m; ++i) pack_sign_bits(ones.data(), k, a.data() + i * words);
    for (int64_t j = 0; j < n; ++j) {
        pack_sign_bits(j % 2 ? minus.data() : ones.data(), k, b.data() + j * words);
        for (auto& c : codes) c = static_cast<int8_t>(j % 3 - 1);  // -1, 0, +1 rows
        nonzero[static_cast<size_t>(j)] = pack_ternary_bits(codes.data(), k, mask.data() + j * words, sign.data() + j * words);
    }
    for (const BitGemmKernel* v : bit_gemm_variants()) {
        std::vector<int32_t> bin(static_cast<size_t>(m * n)), ter(static_cast<size_t>(m * n));
        bit_gemm_binary({m, n, k, a.data(), b.data(), nullptr, nullptr, bin.data()}, v);
        bit_gemm_ternary({m, n, k, a.data(), sign.data(), mask.data(), nonzero.data(), ter.data()}, v);
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
                EXPECT_EQ(bin[static_cast<size_t>(i * n + j)], j % 2 ? -k : k) << v->name;
                EXPECT_EQ(ter[static_cast<size_t>(i * n + j)], (j % 3 - 1) * k) << v->name;
            }
        }
    }
}

}  // namespace
}  // namespace tern
