// The fake-quant ops' forward values and gradients against plain PyTorch
// (tests/ref/qat_ref.py): STE through torch's fake_quantize_*_affine, LSQ as
// Esser et al.'s listing, PACT as Choi et al.'s clip. The inputs straddle the
// grid's ends, so clipped, rounded and passed-through elements are all checked.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "core/error.h"

#include "nn/nn_test_util.h"
#include "nn/ops.h"
#include "nn/ops_fake_quant.h"
#include "quant/qat_torch_ref.h"

namespace tern::nn {
namespace {

using quant::test::qat_torch_outputs;
using test::random_tensor;
using test::RefCase;

constexpr double kQatOpsTol = 1e-5;  // max |tern - torch| / max |torch|

Tensor positive(Tensor t, float lo) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = lo + std::fabs(t.data<float>()[i]);
    return t;
}
Tensor qat_ops_constant(const Shape& s, float v) {
    Tensor t = Tensor::empty(s);
    std::fill_n(t.data<float>(), t.numel(), v);
    return t;
}

std::vector<RefCase> qat_ops_cases() {
    Rng rng(2405);
    std::vector<RefCase> c;
    auto add = [&](std::string name, nlohmann::json p, std::vector<std::pair<std::string, Tensor>> in, const Shape& y) {
        in.emplace_back("r", random_tensor(y, rng));
        c.push_back({std::move(name), std::move(p), std::move(in)});
    };
    // x / s spans about +-200 around zero point 100: both ends of [0, 255] clip.
    add("ste_tensor_asym", {{"kind", "ste"}, {"qmin", 0}, {"qmax", 255}},
        {{"x", random_tensor({4, 5, 6}, rng, 2.0f)}, {"scale", qat_ops_constant({1}, 0.03f)}, {"zero_point", qat_ops_constant({1}, 100)}},
        {4, 5, 6});
    add("ste_channel_sym", {{"kind", "ste"}, {"qmin", -8}, {"qmax", 7}},
        {{"x", random_tensor({6, 3, 3, 3}, rng)}, {"scale", positive(random_tensor({6}, rng, 0.1f), 0.1f)},
         {"zero_point", qat_ops_constant({6}, 0)}},
        {6, 3, 3, 3});
    add("lsq_channel_w4", {{"kind", "lsq"}, {"qmin", -8}, {"qmax", 7}, {"grad_scale", 1.0 / std::sqrt(36.0 * 7)}},
        {{"x", random_tensor({8, 4, 3, 3}, rng)}, {"scale", positive(random_tensor({8}, rng, 0.1f), 0.15f)}},
        {8, 4, 3, 3});
    Tensor relu_x = random_tensor({2, 4, 5, 5}, rng, 1.5f);
    for (int64_t i = 0; i < relu_x.numel(); ++i) relu_x.data<float>()[i] = std::max(0.0f, relu_x.data<float>()[i]);
    add("lsq_tensor_a2", {{"kind", "lsq"}, {"qmin", 0}, {"qmax", 3}, {"grad_scale", 1.0 / std::sqrt(100.0 * 3)}},
        {{"x", relu_x}, {"scale", qat_ops_constant({1}, 0.6f)}}, {2, 4, 5, 5});
    add("lsq_tensor_a8s", {{"kind", "lsq"}, {"qmin", -128}, {"qmax", 127}, {"grad_scale", 0.01}},
        {{"x", random_tensor({3, 7, 9}, rng, 2.0f)}, {"scale", qat_ops_constant({1}, 0.012f)}}, {3, 7, 9});
    add("pact_u4", {{"kind", "pact"}, {"bits", 4}, {"signed", false}},
        {{"x", random_tensor({3, 4, 5, 5}, rng, 3.0f)}, {"alpha", qat_ops_constant({1}, 2.5f)}}, {3, 4, 5, 5});
    add("pact_s3", {{"kind", "pact"}, {"bits", 3}, {"signed", true}},
        {{"x", random_tensor({2, 3, 7, 7}, rng, 2.0f)}, {"alpha", qat_ops_constant({1}, 1.7f)}}, {2, 3, 7, 7});
    return c;
}

const test::TorchRef& qat_ops_ref() {
    static const test::TorchRef r = qat_torch_outputs(qat_ops_cases());
    return r;
}

const RefCase& qat_ops_find_case(const std::string& name) {
    static const std::vector<RefCase> all = qat_ops_cases();
    for (const auto& c : all)
        if (c.name == name) return c;
    throw std::runtime_error("no case " + name);
}

void qat_ops_expect_close(const std::string& c, const std::string& name, const Tensor& got) {
    const Tensor* want = qat_ops_ref().find(c, name);
    ASSERT_NE(want, nullptr) << c << "/" << name << " missing from torch output";
    ASSERT_EQ(got.numel(), want->numel()) << c << "/" << name;
    const double e = test::rel_err(got.data<float>(), want->data<float>(), got.numel());
    std::printf("[torch] %-16s %-7s rel_err %.2e\n", c.c_str(), name.c_str(), e);
    EXPECT_LT(e, kQatOpsTol) << c << "/" << name;
}

// Runs op on the case's x (and its learned scale / alpha), backprops sum(y * r), compares.
template <class F>
void qat_ops_check_case(const std::string& name, const std::string& learned, F op) {
    const RefCase& c = qat_ops_find_case(name);
    Var x(c.input("x").clone(), true);
    Var p = learned.empty() ? Var() : Var(c.input(learned).clone(), true);
    Var y = op(c, x, p);
    sum(mul(y, Var(c.input("r")))).backward();
    qat_ops_expect_close(name, "y", y.value());
    qat_ops_expect_close(name, "gx", x.grad());
    if (!learned.empty()) qat_ops_expect_close(name, "g" + learned, p.grad());
}

QuantGrid grid_of(const RefCase& c) { return {c.params["qmin"].get<int64_t>(), c.params["qmax"].get<int64_t>()}; }

TEST(QatOps, SteMatchesTorchFakeQuantize) {
    TERN_REQUIRE_REFERENCE(qat_ops_ref().reference);
    for (const char* name : {"ste_tensor_asym", "ste_channel_sym"})
        qat_ops_check_case(name, "", [](const RefCase& c, const Var& x, const Var&) {
            return fake_quant_ste(x, c.input("scale"), c.input("zero_point"), grid_of(c));
        });
}

TEST(QatOps, LsqMatchesTorchTranscription) {
    TERN_REQUIRE_REFERENCE(qat_ops_ref().reference);
    for (const char* name : {"lsq_channel_w4", "lsq_tensor_a2", "lsq_tensor_a8s"})
        qat_ops_check_case(name, "scale", [](const RefCase& c, const Var& x, const Var& s) {
            return fake_quant_lsq(x, s, grid_of(c), c.params["grad_scale"].get<float>());
        });
}

TEST(QatOps, PactMatchesTorchTranscription) {
    TERN_REQUIRE_REFERENCE(qat_ops_ref().reference);
    for (const char* name : {"pact_u4", "pact_s3"})
        qat_ops_check_case(name, "alpha", [](const RefCase& c, const Var& x, const Var& a) {
            return fake_quant_pact(x, a, c.params["bits"].get<int>(), c.params["signed"].get<bool>());
        });
}

TEST(QatOps, OutputsLieOnTheGrid) {
    // Independent of torch: a 3-bit signed LSQ output has at most 8 distinct values per channel.
    Rng rng(7);
    Var x(random_tensor({4, 50}, rng, 3.0f));
    Var s(qat_ops_constant({4}, 0.5f), true);
    const Var y = fake_quant_lsq(x, s, quant_grid(3, true), 1.0f);
    for (int64_t c = 0; c < 4; ++c) {
        std::set<float> levels(y.data() + c * 50, y.data() + (c + 1) * 50);
        EXPECT_LE(levels.size(), 8u);
        for (float v : levels) EXPECT_FLOAT_EQ(std::nearbyint(v / 0.5f) * 0.5f, v);
    }
}

TEST(QatOps, BadScalesAndBitsThrow) {
    Var x(qat_ops_constant({2, 3}, 1.0f));
    EXPECT_THROW(fake_quant_ste(x, qat_ops_constant({1}, 0.0f), qat_ops_constant({1}, 0.0f), quant_grid(8, false)), Error);
    EXPECT_THROW(fake_quant_lsq(x, Var(qat_ops_constant({3}, 1.0f)), quant_grid(4, true), 1.0f), Error);  // 3 != dim 0
    EXPECT_THROW(fake_quant_pact(x, Var(qat_ops_constant({1}, -1.0f)), 4, false), Error);
    EXPECT_THROW(quant_grid(1, true), Error);
    EXPECT_THROW(quant_grid(9, false), Error);
}

}  // namespace
}  // namespace tern::nn
