// Quantized matmul: the repack is lossless, activation quantization is
// bit-identical across variants, every variant matches the fp64 reference on
// awkward shapes within an explicit budget, and tern's dot products agree with
// llama.cpp's own vec_dot (libggml-cpu) on identical blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../ref/ggml_ref.h"
#include "../ref/reference.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/gguf_blocks.h"
#include "kernels/quant_matmul/int4_asym.h"
#include "kernels/quant_matmul/quant_matmul.h"

namespace tern {
namespace {

std::vector<float> quant_matmul_randn(int64_t n, uint64_t seed, float scale = 1.0f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

struct QuantMatmulTypeCase {
    QuantType type;
    int group;
};

std::vector<QuantMatmulTypeCase> all_types() {
    std::vector<QuantMatmulTypeCase> v;
    for (int t = 0; t < static_cast<int>(QuantType::int4_asym); ++t) v.push_back({static_cast<QuantType>(t), 32});
    for (int g : {32, 64, 128}) v.push_back({QuantType::int4_asym, g});
    return v;
}

std::string case_name(const QuantMatmulTypeCase& c) {
    return std::string(quant_type_name(c.type)) + (c.type == QuantType::int4_asym ? "_g" + std::to_string(c.group) : "");
}

// Source blocks (n rows × k) quantized with the formats reference.
std::vector<uint8_t> quant_matmul_quantize_rows(const QuantMatmulTypeCase& c, const float* x, int64_t n, int64_t k) {
    return quantize_source_rows(c.type, c.group, x, n, k);
}

// Weights with a per-row scale spread and a few outliers, like LLM matrices.
std::vector<float> weights(int64_t n, int64_t k, uint64_t seed) {
    auto w = quant_matmul_randn(n * k, seed, 0.02f);
    std::mt19937_64 rng(seed ^ 0x5eed);
    for (int64_t r = 0; r < n; ++r) {
        const float s = 0.5f + static_cast<float>(r % 5) * 0.4f;
        for (int64_t i = 0; i < k; ++i) w[static_cast<size_t>(r * k + i)] *= s;
    }
    for (int i = 0; i < 4; ++i) w[rng() % w.size()] *= 12.0f;
    return w;
}

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Every `step`-th element of every row of pm, unpacked, equals the formats
// reference dequantization of `blocks` (one-hot x: exactly one nonzero product).
void expect_unpack_matches_reference(const QuantMatmulTypeCase& c, const QuantMatrix& pm, const std::vector<uint8_t>& blocks,
                                     int64_t step) {
    const int64_t n = pm.n, k = pm.k;
    const int64_t row_bytes = k / quant_block_elems(c.type, c.group) * quant_block_bytes(c.type, c.group);
    std::vector<float> got(static_cast<size_t>(k)), e(static_cast<size_t>(k), 0.0f);
    for (int64_t r = 0; r < n; ++r) {
        unpack_quant_row(pm, r, got.data());
        for (int64_t i = 0; i < k; i += step) {
            e[static_cast<size_t>(i)] = 1.0f;
            double yi;
            quant_matmul_reference(c.type, c.group, blocks.data() + r * row_bytes, 1, k, e.data(), 1, &yi);
            e[static_cast<size_t>(i)] = 0.0f;
            ASSERT_EQ(static_cast<float>(yi), got[static_cast<size_t>(i)]) << "row " << r << " elem " << i;
        }
    }
}

// unpack(pack(blocks)) must equal the formats reference dequantization bit for
// bit: every code, scale and min survived the repack. The reference values come
// from quant_matmul_reference with one-hot x (exact: one nonzero product).
TEST(QuantMatmul, RepackIsLossless) {
    for (const QuantMatmulTypeCase& c : all_types()) {
        SCOPED_TRACE(case_name(c));
        const int be = quant_block_elems(c.type, c.group);
        const int64_t n = 37, k = 3 * std::max(be, 256);
        const auto w = weights(n, k, 11);
        const auto blocks = quant_matmul_quantize_rows(c, w.data(), n, k);
        const QuantMatrix pm = pack_quant_matrix(c.type, blocks.data(), n, k, c.group);
        expect_unpack_matches_reference(c, pm, blocks, 7);
        if (HasFatalFailure()) return;
    }
}

TEST(QuantMatmul, ActivationQuantizationIsBitIdentical) {
    QuantScratch s_ref, s_var;
    for (int block : {32, 256}) {
        for (int64_t k : {int64_t{256}, int64_t{4352}}) {
            const int64_t m = 5;
            auto x = quant_matmul_randn(m * k, 7 + k, 2.0f);
            for (int64_t i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block
            QuantActs want = s_ref.acts(m, k, block);
            kQuantMatmulScalar.quantize_acts(x.data(), want);
            for (const QuantMatmulKernels* kern : quant_matmul_variants()) {
                SCOPED_TRACE(kern->name);
                QuantActs got = s_var.acts(m, k, block);
                kern->quantize_acts(x.data(), got);
                ASSERT_EQ(0, std::memcmp(want.q, got.q, static_cast<size_t>(m * k)));
                ASSERT_EQ(0, std::memcmp(want.d, got.d, sizeof(float) * static_cast<size_t>(m * (k / block))));
                if (block == 32) {
                    ASSERT_EQ(0, std::memcmp(want.sum32, got.sum32, 4 * static_cast<size_t>(m * (k / 32))));
                    ASSERT_EQ(0, std::memcmp(want.dsum32, got.dsum32, 4 * static_cast<size_t>(m * (k / 32))));
                } else {
                    ASSERT_EQ(0, std::memcmp(want.sum16, got.sum16, 2 * static_cast<size_t>(m * (k / 16))));
                    ASSERT_EQ(0, std::memcmp(want.qu, got.qu, static_cast<size_t>(m * k)));
                }
            }
        }
    }
}

// |got - want| <= rel · sum_i |x_i| |w_i| per output, where the sum uses the
// dequantized weights and the (possibly int8-quantized) activations.
// x: m × k activations (empty: random normal ones).
void check_matmul_blocks(const QuantMatmulTypeCase& c, int64_t m, int64_t n, int64_t k, const std::vector<uint8_t>& blocks,
                         ThreadPool& pool, std::vector<float> x = {}) {
    if (x.empty()) x = quant_matmul_randn(m * k, 200 + m + k);
    const QuantMatrix pm = pack_quant_matrix(c.type, blocks.data(), n, k, c.group);
    std::vector<float> wd(static_cast<size_t>(n * k));
    for (int64_t r = 0; r < n; ++r) unpack_quant_row(pm, r, wd.data() + r * k);
    QuantScratch scratch;
    const int block = is_k_quant(c.type) ? 256 : 32;
    QuantActs a = scratch.acts(m, k, block);
    kQuantMatmulScalar.quantize_acts(x.data(), a);
    std::vector<double> want_f(static_cast<size_t>(m * n)), want_q(static_cast<size_t>(m * n));
    quant_matmul_reference(c.type, c.group, blocks.data(), n, k, x.data(), m, want_f.data());
    quant_matmul_reference_q8(c.type, c.group, blocks.data(), n, k, a, want_q.data());
    std::vector<double> mag_f(static_cast<size_t>(m * n)), mag_q(static_cast<size_t>(m * n));
    for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) {
            double sf = 0, sq = 0;
            for (int64_t i = 0; i < k; ++i) {
                const double wv = std::fabs(wd[static_cast<size_t>(j * k + i)]);
                sf += wv * std::fabs(x[static_cast<size_t>(r * k + i)]);
                sq += wv * std::fabs(static_cast<double>(a.d[r * (k / block) + i / block]) * a.q[r * k + i]);
            }
            mag_f[static_cast<size_t>(r * n + j)] = sf;
            mag_q[static_cast<size_t>(r * n + j)] = sq;
        }
    // fp32 rounding of ~k/32 block partials added in fp32: a few ulps each.
    // Asymmetric types (x = d·u + m) add two fp32 terms that cancel: |d·u| and |m|
    // each reach ~2× |x|, so their rounding is budgeted 3× larger.
    const bool asym = c.type == QuantType::q4_1 || c.type == QuantType::q5_1 || c.type == QuantType::q2_k ||
                      c.type == QuantType::q4_k || c.type == QuantType::q5_k;
    const double budget = (asym ? 3 : 1) * (4e-7 * std::sqrt(static_cast<double>(k / 32) + 1.0) + 2e-7);
    for (const QuantMatmulKernels* kern : quant_matmul_variants()) {
        SCOPED_TRACE(std::string(kern->name) + " " + case_name(c) + " m=" + std::to_string(m) +
                     " n=" + std::to_string(n) + " k=" + std::to_string(k));
        for (ActMode mode : {ActMode::int8, ActMode::f32}) {
            std::vector<float> y(static_cast<size_t>(m * n + 16), 777.0f);
            quant_matmul(pm, x.data(), m, y.data(), mode, scratch, pool, *kern);
            const auto& want = mode == ActMode::int8 ? want_q : want_f;
            const auto& mag = mode == ActMode::int8 ? mag_q : mag_f;
            for (int64_t i = 0; i < m * n; ++i)
                ASSERT_NEAR(y[static_cast<size_t>(i)], want[static_cast<size_t>(i)], budget * mag[static_cast<size_t>(i)] + 1e-30)
                    << (mode == ActMode::int8 ? "int8" : "f32") << " at " << i;
            for (int64_t i = m * n; i < m * n + 16; ++i) ASSERT_EQ(y[static_cast<size_t>(i)], 777.0f) << "wrote past y";
        }
    }
}

void check_matmul(const QuantMatmulTypeCase& c, int64_t m, int64_t n, int64_t k, ThreadPool& pool) {
    const auto w = weights(n, k, 100 + n + k);
    check_matmul_blocks(c, m, n, k, quant_matmul_quantize_rows(c, w.data(), n, k), pool);
}

// K-quant blocks of random bytes (every scale / min bit pattern the format can
// hold, not only those the quantizer writes), with finite d and dmin: the
// repack keeps every field (q4_K / q5_K pack their 6-bit scales and mins at 6
// bits, see layout.h) and every variant still matches the reference.
TEST(QuantMatmul, KQuantFieldsSurviveRandomBlockBytes) {
    ThreadPool pool(2);
    const int64_t n = 37, k = 512;
    for (QuantType t : {QuantType::q2_k, QuantType::q3_k, QuantType::q4_k, QuantType::q5_k, QuantType::q6_k}) {
        const QuantMatmulTypeCase c{t, 32};
        SCOPED_TRACE(case_name(c));
        const int bb = quant_block_bytes(t, 32);
        std::vector<uint8_t> blocks(static_cast<size_t>(n * k / 256 * bb));
        std::mt19937_64 rng(static_cast<uint64_t>(t) + 5);
        for (auto& b : blocks) b = static_cast<uint8_t>(rng());
        // d (and dmin) in [2^-10, 2^-9): finite, and small enough for fp32 sums.
        size_t d_at = 0, dmin_at = 2;
        bool has_min = true;
        switch (t) {
            case QuantType::q2_k: d_at = offsetof(BlockQ2_K, d), dmin_at = offsetof(BlockQ2_K, dmin); break;
            case QuantType::q3_k: d_at = offsetof(BlockQ3_K, d), has_min = false; break;
            case QuantType::q6_k: d_at = offsetof(BlockQ6_K, d), has_min = false; break;
            default: break;
        }
        for (size_t o = 0; o < blocks.size(); o += static_cast<size_t>(bb)) {
            const uint16_t d = static_cast<uint16_t>(0x1400 | (rng() & 0x3ff));
            std::memcpy(&blocks[o + d_at], &d, 2);
            if (has_min) {
                const uint16_t dm = static_cast<uint16_t>(0x1400 | (rng() & 0x3ff));
                std::memcpy(&blocks[o + dmin_at], &dm, 2);
            }
        }
        const QuantMatrix pm = pack_quant_matrix(t, blocks.data(), n, k);
        if (t == QuantType::q4_k || t == QuantType::q5_k) {
            EXPECT_EQ(pm.packed_bytes(), pm.tiles * kQuantTileRows * (k / 256) * static_cast<uint64_t>(bb))
                << "a tile should be exactly its 16 rows' GGUF bytes";
        }
        expect_unpack_matches_reference(c, pm, blocks, 3);
        if (HasFatalFailure()) return;
        for (int64_t m : {1, 5}) {
            check_matmul_blocks(c, m, n, k, blocks, pool);
            if (HasFatalFailure()) return;
        }
    }
}

// Every code byte at one extreme (0x00, 0xFF; 0x80 gives q8_0 its -128) and
// activations at ±127 after quantization: the largest products each format can
// produce. Catches overflow in kernels that sum several products in 16 bits
// before widening (AVX2's i16 runs of maddubs results) or saturate in maddubs.
TEST(QuantMatmul, ExtremeCodesAndActivationsDoNotOverflow) {
    ThreadPool pool(2);
    const int64_t n = 33, k = 512;
    std::vector<float> plus(k, 1.0f), minus(k, -1.0f), alternating(k), mixed;
    for (int64_t i = 0; i < k; ++i) alternating[static_cast<size_t>(i)] = i % 2 ? -1.0f : 1.0f;
    for (const auto* row : {&plus, &minus, &alternating}) mixed.insert(mixed.end(), row->begin(), row->end());
    const auto noise = quant_matmul_randn(k, 99);
    mixed.insert(mixed.end(), noise.begin(), noise.end());
    for (const QuantMatmulTypeCase& c : all_types()) {
        const int bb = quant_block_bytes(c.type, c.group);
        // Where each block's fp16 scale (and second scale / zero point) sits.
        std::vector<size_t> f16_at{0};
        int64_t zero_at = -1;
        switch (c.type) {
            case QuantType::q4_1: case QuantType::q5_1: f16_at = {0, 2}; break;
            case QuantType::q2_k: f16_at = {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)}; break;
            case QuantType::q3_k: f16_at = {offsetof(BlockQ3_K, d)}; break;
            case QuantType::q4_k: f16_at = {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)}; break;
            case QuantType::q5_k: f16_at = {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)}; break;
            case QuantType::q6_k: f16_at = {offsetof(BlockQ6_K, d)}; break;
            case QuantType::int4_asym: zero_at = offsetof(BlockInt4Asym<32>, zero); break;
            default: break;
        }
        for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}}) {
            SCOPED_TRACE(case_name(c) + " fill " + std::to_string(fill));
            std::vector<uint8_t> blocks(static_cast<size_t>(n * k / quant_block_elems(c.type, c.group) * bb), fill);
            for (size_t o = 0; o < blocks.size(); o += static_cast<size_t>(bb)) {
                const uint16_t d = 0x1400;  // 2^-10: finite, keeps fp32 sums small
                for (size_t at : f16_at) std::memcpy(&blocks[o + at], &d, 2);
                if (zero_at >= 0) blocks[o + static_cast<size_t>(zero_at)] = fill & 15;
            }
            for (const auto* x : {&plus, &minus}) {
                check_matmul_blocks(c, 1, n, k, blocks, pool, *x);
                if (HasFatalFailure()) return;
            }
            check_matmul_blocks(c, 4, n, k, blocks, pool, mixed);
            if (HasFatalFailure()) return;
        }
    }
}

TEST(QuantMatmul, AllVariantsMatchReferenceOnAwkwardShapes) {
    ThreadPool pool(2);
    for (const QuantMatmulTypeCase& c : all_types()) {
        const int be = quant_block_elems(c.type, c.group);
        for (int64_t k : {int64_t{be}, int64_t{3 * be}, round_up(4097, be)})
            // m: 1, 3, 6 = 4 + 2 and 17 = 16 + 1 leave every remainder of the 4-row micro-tiles;
            // 8, 11 and 16 take the streamed first row block of up to 8 rows (kStreamRows)
            // and the 4-row blocks after it.
            for (int64_t m : {1, 3, 6, 8, 11, 16, 17})
                for (int64_t n : {1, 7, 33}) {
                    if (k > 3 * be && m * n > 33) continue;  // the long k once per (m | n) extreme keeps this fast
                    check_matmul(c, m, n, k, pool);
                    if (HasFatalFailure()) return;
                }
    }
}

TEST(QuantMatmul, LlmLikeShapes) {
    ThreadPool pool(2);
    for (const QuantMatmulTypeCase& c : all_types()) {
        check_matmul(c, 1, 80, 2048, pool);  // decode GEMV, several tiles per thread
        if (HasFatalFailure()) return;
        check_matmul(c, 21, 48, 1024, pool);  // prefill GEMM with a row remainder
        if (HasFatalFailure()) return;
    }
}

// Several matrices run as one call (q/k/v, gate/up in decode) give exactly what
// separate calls give: the same kernel on the same tiles, only split differently
// between threads. Mixed K-quant types share the 256-block activations.
TEST(QuantMatmul, ManyMatricesInOneCallEqualSeparateCalls) {
    ThreadPool pool(2);
    const int64_t k = 512;
    const auto x = quant_matmul_randn(3 * k, 77);
    for (const std::vector<QuantType>& types : {std::vector<QuantType>{QuantType::q4_0, QuantType::q8_0, QuantType::q4_0},
                                                std::vector<QuantType>{QuantType::q4_k, QuantType::q6_k}}) {
        const int64_t ns[] = {40, 16, 75};
        std::vector<QuantMatrix> mats;
        for (size_t i = 0; i < types.size(); ++i) {
            const auto w = weights(ns[i], k, 100 + i);
            const auto src = quantize_source_rows(types[i], 32, w.data(), ns[i], k);
            mats.push_back(pack_quant_matrix(types[i], src.data(), ns[i], k));
        }
        for (int64_t m : {1, 3}) {
            std::vector<const QuantMatrix*> ws;
            std::vector<std::vector<float>> together, apart;
            std::vector<float*> ys;
            for (size_t i = 0; i < mats.size(); ++i) {
                ws.push_back(&mats[i]);
                together.emplace_back(static_cast<size_t>(m * ns[i]), -1.0f);
                apart.emplace_back(static_cast<size_t>(m * ns[i]), -2.0f);
            }
            for (auto& y : together) ys.push_back(y.data());
            QuantScratch scratch;
            quant_matmul_many(ws, x.data(), m, ys, ActMode::int8, scratch, pool);
            for (size_t i = 0; i < mats.size(); ++i) {
                quant_matmul(mats[i], x.data(), m, apart[i].data(), ActMode::int8, scratch, pool);
                EXPECT_EQ(together[i], apart[i]) << quant_type_name(mats[i].type) << " matrix " << i << " m " << m;
            }
        }
    }
    // Matrices that cannot share activations are refused, not mixed up.
    const auto w = weights(16, 256, 5);
    const auto a = quantize_source_rows(QuantType::q4_0, 32, w.data(), 16, 256);
    const auto b = quantize_source_rows(QuantType::q4_k, 32, w.data(), 16, 256);
    QuantMatrix qa = pack_quant_matrix(QuantType::q4_0, a.data(), 16, 256), qb = pack_quant_matrix(QuantType::q4_k, b.data(), 16, 256);
    const QuantMatrix* mixed[] = {&qa, &qb};
    std::vector<float> y0(16), y1(16);
    float* ys[] = {y0.data(), y1.data()};
    QuantScratch scratch;
    EXPECT_THROW(quant_matmul_many(mixed, x.data(), 1, ys, ActMode::int8, scratch, pool), Error);
}

// ------------------------------------------------------------ llama.cpp vec_dot

using VecDot = void (*)(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc);
using QuantizeRow = void (*)(const float* x, void* y, int64_t k);

struct GgmlCpu {
    void* handle = nullptr;
    std::string path;
    GgmlCpu() {
        if (!testref::ggml_base_handle()) return;
        const std::string dir = testref::ggml_base_path().substr(0, testref::ggml_base_path().rfind('/') + 1);
        // The zen4 build needs AVX-512 VNNI/BF16 (this CPU class); fall back to the AVX2 one.
        for (const char* name : {"libggml-cpu-zen4.so", "libggml-cpu-haswell.so"}) {
            if (std::string(name) == "libggml-cpu-zen4.so" && !cpu_features().avx512bf16) continue;
            path = dir + name;
            handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (handle) break;
        }
        if (auto init = sym<void (*)()>("ggml_cpu_init")) init();
    }
    template <class Fn>
    Fn sym(const char* name) const {
        return handle ? reinterpret_cast<Fn>(dlsym(handle, name)) : nullptr;
    }
};

const GgmlCpu& ggml_cpu() {
    static GgmlCpu g;
    return g;
}

TEST(QuantMatmul, MatchesLlamaCppVecDot) {
    const GgmlCpu& g = ggml_cpu();
    TERN_REQUIRE_REFERENCE(testref::ggml_reference());
    if (!g.handle) FAIL() << "libggml-base loads but no libggml-cpu-*.so beside it does: " << g.path;
    struct Pair {
        QuantType t;
        const char* vec_dot;
        const char* act;  // q8_0 / q8_1 / q8_K
    };
    const Pair pairs[] = {
        {QuantType::q4_0, "ggml_vec_dot_q4_0_q8_0", "q8_0"}, {QuantType::q4_1, "ggml_vec_dot_q4_1_q8_1", "q8_1"},
        {QuantType::q5_0, "ggml_vec_dot_q5_0_q8_0", "q8_0"}, {QuantType::q5_1, "ggml_vec_dot_q5_1_q8_1", "q8_1"},
        {QuantType::q8_0, "ggml_vec_dot_q8_0_q8_0", "q8_0"}, {QuantType::q2_k, "ggml_vec_dot_q2_K_q8_K", "q8_K"},
        {QuantType::q3_k, "ggml_vec_dot_q3_K_q8_K", "q8_K"}, {QuantType::q4_k, "ggml_vec_dot_q4_K_q8_K", "q8_K"},
        {QuantType::q5_k, "ggml_vec_dot_q5_K_q8_K", "q8_K"}, {QuantType::q6_k, "ggml_vec_dot_q6_K_q8_K", "q8_K"},
    };
    const int64_t n = 33, k = 2048;
    const auto w = weights(n, k, 5);
    const auto x = quant_matmul_randn(k, 6, 1.5f);
    ThreadPool pool(1);
    for (const Pair& p : pairs) {
        SCOPED_TRACE(std::string(g.path) + " " + p.vec_dot);
        auto vec_dot = g.sym<VecDot>(p.vec_dot);
        auto quant = g.sym<QuantizeRow>((std::string("quantize_row_") + p.act).c_str());
        ASSERT_TRUE(vec_dot && quant) << "symbol missing";
        const QuantMatmulTypeCase c{p.t, 32};
        const auto blocks = quant_matmul_quantize_rows(c, w.data(), n, k);
        const QuantMatrix pm = pack_quant_matrix(p.t, blocks.data(), n, k);
        // llama.cpp quantizes the activations; tern consumes exactly those blocks.
        QuantScratch scratch;
        const bool kq = is_k_quant(p.t);
        QuantActs a = scratch.acts(1, k, kq ? 256 : 32);
        std::vector<uint8_t> act(static_cast<size_t>(k / (kq ? 256 : 32) * (kq ? 292 : (p.act[3] == '1' ? 36 : 34))));
        quant(x.data(), act.data(), k);
        std::vector<double> s_mag(static_cast<size_t>(k / 32), 0.0);  // q8_1: |m| · fp16 rounding of s
        for (int64_t b = 0; b < k / a.block; ++b) {
            if (kq) {
                BlockQ8_K blk;
                std::memcpy(&blk, act.data() + b * sizeof(BlockQ8_K), sizeof(blk));
                a.d[b] = blk.d;
                std::memcpy(a.q + b * 256, blk.qs, 256);
                for (int i = 0; i < 256; ++i) a.qu[b * 256 + i] = static_cast<uint8_t>(blk.qs[i] + 128);
                for (int i = 0; i < 16; ++i) a.sum16[b * 16 + i] = blk.bsums[i];
            } else {
                const size_t bb = p.act[3] == '1' ? 36 : 34;
                const uint8_t* src = act.data() + b * bb;
                uint16_t d;
                std::memcpy(&d, src, 2);
                a.d[b] = fp16_to_fp32(d);
                std::memcpy(a.q + b * 32, src + bb - 32, 32);
                int s = 0;
                for (int i = 0; i < 32; ++i) s += a.q[b * 32 + i];
                a.sum32[b] = s;
                a.dsum32[b] = a.d[b] * static_cast<float>(s);
                s_mag[static_cast<size_t>(b)] = std::fabs(static_cast<double>(a.d[b]) * s) * (1.0 / 2048);
            }
        }
        const int be = quant_block_elems(p.t, 32);
        const int64_t row_bytes = k / be * quant_block_bytes(p.t, 32);
        std::vector<double> mag_ref(static_cast<size_t>(n));
        quant_matmul_reference_q8(p.t, 32, blocks.data(), n, k, a, mag_ref.data());
        for (const QuantMatmulKernels* kern : quant_matmul_variants()) {
            SCOPED_TRACE(kern->name);
            std::vector<float> y(static_cast<size_t>(n));
            kern->matmul_q8(pm, a, y.data(), 0, pm.tiles);
            std::vector<float> wrow(static_cast<size_t>(k));
            for (int64_t j = 0; j < n; ++j) {
                float s = 0;
                vec_dot(static_cast<int>(k), &s, 0, blocks.data() + j * row_bytes, 0, act.data(), 0, 1);
                unpack_quant_row(pm, j, wrow.data());
                double mag = 0, min_term = 0;
                for (int64_t i = 0; i < k; ++i)
                    mag += std::fabs(wrow[static_cast<size_t>(i)]) * std::fabs(static_cast<double>(a.d[i / a.block]) * a.q[i]);
                if (p.act[3] == '1')  // ggml stores s = d·sum(q) as fp16 in q8_1: allow its rounding
                    for (int64_t b = 0; b < k / 32; ++b) {
                        uint16_t mh;
                        std::memcpy(&mh, blocks.data() + j * row_bytes + b * quant_block_bytes(p.t, 32) + 2, 2);
                        min_term += std::fabs(fp16_to_fp32(mh)) * s_mag[static_cast<size_t>(b)];
                    }
                const double budget = 4e-6 * mag + min_term + 1e-30;
                ASSERT_NEAR(y[static_cast<size_t>(j)], s, budget) << "row " << j << " (tern vs llama.cpp)";
                ASSERT_NEAR(s, mag_ref[static_cast<size_t>(j)], budget) << "row " << j << " (llama.cpp vs fp64 truth)";
            }
        }
    }
}

}  // namespace
}  // namespace tern
