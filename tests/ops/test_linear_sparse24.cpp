// ops::Linear on sparse24_q8 weights: the sparse kernel and the dense int8
// fallback (forced with TERN_SPARSE24_PATH) both match the w8a8 scalar
// definition on the densified codes, for decode (M = 1), small M and a
// prefill past the kernel's 64 rows, and bit for bit each other at M = 2..200;
// the load-time measurement keeps exactly one of them; a damaged tensor is
// refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/sparse24_block.h"
#include "kernels/w8a8/w8a8_matmul.h"
#include "ops/linear.h"
#include "ops/linear_sparse24.h"

namespace tern {
namespace {

// Sets TERN_SPARSE24_PATH for one scope.
struct S24LinearPathEnv {
    explicit S24LinearPathEnv(const char* v) { setenv("TERN_SPARSE24_PATH", v, 1); }
    ~S24LinearPathEnv() { unsetenv("TERN_SPARSE24_PATH"); }
};

// A 2:4-pruned (n, k) weight stored as sparse24_q8.
Tensor s24linear_weight(int64_t n, int64_t k, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> val(0.0f, 0.5f);
    std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
    for (int64_t g = 0; g < n * k / 4; ++g) {
        const int a = static_cast<int>(rng() % 4), b = (a + 1 + static_cast<int>(rng() % 3)) % 4;
        w[size_t(4 * g + a)] = val(rng);
        w[size_t(4 * g + b)] = val(rng);
    }
    Tensor t = Tensor::empty({n, k}, DType::sparse24_q8);
    for (int64_t r = 0; r < n; ++r)
        sparse24_quantize_row(w.data() + r * k, t.data<uint8_t>() + r * (k / kSparse24Group) * sizeof(Sparse24Block), k);
    return t;
}

void s24linear_check_paths(int64_t n, int64_t k) {
    const Tensor w = s24linear_weight(n, k, 11);
    const Sparse24Unpacked u = unpack_sparse24(w.data<uint8_t>(), n, k, "w");
    const std::vector<int8_t> codes = sparse24_dense_codes(u, n, k);
    std::mt19937 rng(4);
    std::normal_distribution<float> act(0.0f, 1.5f);
    for (const char* mode : {"sparse", "dense"}) {
        S24LinearPathEnv env(mode);
        const ops::Linear lin(w, {}, "w");
        ASSERT_NE(lin.sparse24_choice(), nullptr);
        EXPECT_EQ(lin.sparse24_choice()->sparse, std::string(mode) == "sparse");
        EXPECT_EQ(lin.path(), std::string(mode) == "sparse" ? ops::LinearPath::sparse24_int8 : ops::LinearPath::w8a8_int8);
        for (int64_t m : {1, 5, 64, 70, 128}) {
            std::vector<float> x(static_cast<size_t>(m * k));
            for (auto& v : x) v = act(rng);
            std::vector<float> want(static_cast<size_t>(m * n)), got(static_cast<size_t>(m * n), NAN);
            w8a8_matmul_reference(codes.data(), u.row_scales.data(), 0.0f, x.data(), m, n, k, want.data());
            lin.forward(x.data(), got.data(), m);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i])))
                    << mode << " n=" << n << " k=" << k << " m=" << m << " i=" << i;
        }
    }
}

TEST(LinearSparse24, BothPathsMatchTheW8A8DefinitionOnTheDenseCodes) {
    s24linear_check_paths(96, 384);
    s24linear_check_paths(768, 256);  // tinylm's ffn_up and ffn_down shapes
    s24linear_check_paths(256, 768);
}

// Prefill on the sparse path: the 2:4 kernel below kSparse24GemmMinRows rows, the
// batched expansion from there; both give the dense (w8a8) path's outputs bit
// for bit at every M, on shapes off every tile and panel width.
TEST(LinearSparse24, SparsePathEqualsTheDensePathBitForBitAtEveryM) {
    for (auto [n, k] : {std::pair<int64_t, int64_t>{33, 384}, {100, 128}, {70, 640}}) {
        const Tensor w = s24linear_weight(n, k, static_cast<uint32_t>(n + k));
        S24LinearPathEnv sparse_env("sparse");
        const ops::Linear sparse(w, {}, "w");
        S24LinearPathEnv dense_env("dense");
        const ops::Linear dense(w, {}, "w");
        ASSERT_EQ(sparse.path(), ops::LinearPath::sparse24_int8);
        ASSERT_EQ(dense.path(), ops::LinearPath::w8a8_int8);
        std::mt19937 rng(static_cast<uint32_t>(k));
        std::normal_distribution<float> act(0.0f, 2.0f);
        for (int64_t m = 2; m <= 200; m += (m < 20 ? 1 : 13)) {
            std::vector<float> x(static_cast<size_t>(m * k));
            for (auto& v : x) v = act(rng);
            std::vector<float> want(static_cast<size_t>(m * n), NAN), got(static_cast<size_t>(m * n), NAN);
            dense.forward(x.data(), want.data(), m);
            sparse.forward(x.data(), got.data(), m);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_EQ(got[i], want[i]) << "n=" << n << " k=" << k << " m=" << m << " i=" << i
                                           << (m >= ops::kSparse24GemmMinRows ? " (batched)" : " (2:4 kernel)");
        }
    }
}

TEST(LinearSparse24, TheLoadTimeMeasurementKeepsOnePath) {
    unsetenv("TERN_SPARSE24_PATH");
    const ops::Linear lin(s24linear_weight(64, 256, 2), {}, "w");
    const ops::Sparse24Choice* c = lin.sparse24_choice();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->reason, "measured");
    EXPECT_GT(c->sparse_us, 0.0);
    EXPECT_GT(c->dense_us, 0.0);
    EXPECT_EQ(c->sparse, c->sparse_us <= ops::kSparse24ByteCredit * c->dense_us);
    EXPECT_EQ(lin.path(), c->sparse ? ops::LinearPath::sparse24_int8 : ops::LinearPath::w8a8_int8);
    EXPECT_EQ(lin.source_bytes(), 64u * 256 / 128 * 84);
}

TEST(LinearSparse24, RefusesADamagedTensorAndABadPathSetting) {
    Tensor w = s24linear_weight(8, 128, 3);
    Sparse24Block b;
    std::memcpy(&b, w.data<uint8_t>() + 5 * sizeof(Sparse24Block), sizeof b);
    b.pos[0] = static_cast<uint8_t>((b.pos[0] & 0xF0) | 2 | 2 << 2);  // p0 == p1
    std::memcpy(w.data<uint8_t>() + 5 * sizeof(Sparse24Block), &b, sizeof b);
    try {
        const ops::Linear lin(w, {}, "model.gguf: blk.3.attn_q.weight");
        ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("model.gguf: blk.3.attn_q.weight"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("row 5"), std::string::npos) << e.what();
    }
    S24LinearPathEnv env("fastest");
    EXPECT_THROW(ops::Linear(s24linear_weight(8, 128, 3), {}, "w"), UsageError);
}

}  // namespace
}  // namespace tern
