// The binary / ternary ops' values and gradients against plain PyTorch
// (tests/ref/binary_ref.py): BWN, XNOR-Net inputs, TWN and TTQ. The inputs
// straddle |v| = 1 (where the clipped STE stops) and the ternary thresholds.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "core/error.h"
#include "nn/nn_test_util.h"
#include "nn/ops.h"
#include "nn/ops_binary.h"
#include "nn/torch_ref.h"

namespace tern::nn {
namespace {

using test::random_tensor;
using test::RefCase;

constexpr double kBinaryOpsTol = 1e-5;  // max |tern - torch| / max |torch|

Tensor binary_ops_constant(const Shape& s, float v) {
    Tensor t = Tensor::empty(s);
    std::fill_n(t.data<float>(), t.numel(), v);
    return t;
}

std::vector<RefCase> binary_ops_cases() {
    Rng rng(2431);
    std::vector<RefCase> c;
    auto add = [&](std::string name, nlohmann::json p, std::vector<std::pair<std::string, Tensor>> in) {
        const Shape y = in.front().second.shape();
        in.emplace_back("r", random_tensor(y, rng));
        c.push_back({std::move(name), std::move(p), std::move(in)});
    };
    add("bwn_conv", {{"kind", "bwn"}}, {{"x", random_tensor({6, 3, 3, 3}, rng, 1.5f)}});
    add("bwn_linear", {{"kind", "bwn"}}, {{"x", random_tensor({10, 37}, rng, 0.8f)}});
    Tensor relu_x = random_tensor({3, 4, 5, 5}, rng, 2.0f);
    for (int64_t i = 0; i < relu_x.numel(); ++i) relu_x.data<float>()[i] = std::max(0.0f, relu_x.data<float>()[i]);
    add("xnor_relu_input", {{"kind", "xnor"}}, {{"x", relu_x}});
    add("xnor_rows", {{"kind", "xnor"}}, {{"x", random_tensor({5, 33}, rng, 1.2f)}});
    add("twn_conv", {{"kind", "twn"}, {"threshold", 0.7}}, {{"x", random_tensor({8, 4, 3, 3}, rng)}});
    add("twn_linear_t05", {{"kind", "twn"}, {"threshold", 0.5}}, {{"x", random_tensor({7, 29}, rng)}});
    add("ttq_conv", {{"kind", "ttq"}, {"threshold", 0.05}},
        {{"x", random_tensor({8, 4, 3, 3}, rng)}, {"wp", binary_ops_constant({1}, 0.7f)}, {"wn", binary_ops_constant({1}, 0.4f)}});
    add("ttq_linear_t3", {{"kind", "ttq"}, {"threshold", 0.3}},
        {{"x", random_tensor({9, 21}, rng, 2.0f)}, {"wp", binary_ops_constant({1}, 1.3f)}, {"wn", binary_ops_constant({1}, 0.9f)}});
    return c;
}

const test::TorchRef& binary_ops_ref() {
    static const test::TorchRef r = test::run_torch_cases("binary_ref.py", binary_ops_cases(), "tern_binary_ref_cache");
    return r;
}

const RefCase& binary_ops_find_case(const std::string& name) {
    static const std::vector<RefCase> all = binary_ops_cases();
    for (const auto& c : all)
        if (c.name == name) return c;
    throw std::runtime_error("no case " + name);
}

void binary_ops_expect_close(const std::string& c, const std::string& name, const Tensor& got) {
    const Tensor* want = binary_ops_ref().find(c, name);
    ASSERT_NE(want, nullptr) << c << "/" << name << " missing from torch output";
    ASSERT_EQ(got.numel(), want->numel()) << c << "/" << name;
    const double e = test::rel_err(got.data<float>(), want->data<float>(), got.numel());
    std::printf("[torch] %-16s %-4s rel_err %.2e\n", c.c_str(), name.c_str(), e);
    EXPECT_LT(e, kBinaryOpsTol) << c << "/" << name;
}

// Runs op on the case's x, backprops sum(y * r), compares y and the gradients.
template <class F>
void binary_ops_check_case(const std::string& name, F op) {
    const RefCase& c = binary_ops_find_case(name);
    Var x(c.input("x").clone(), true);
    Var y = op(c, x);
    sum(mul(y, Var(c.input("r")))).backward();
    binary_ops_expect_close(name, "y", y.value());
    binary_ops_expect_close(name, "gx", x.grad());
}

TEST(BinaryOps, BwnMatchesTorch) {
    TERN_REQUIRE_REFERENCE(binary_ops_ref().reference);
    for (const char* name : {"bwn_conv", "bwn_linear"})
        binary_ops_check_case(name, [](const RefCase&, const Var& x) { return binarize_weight(x); });
}

TEST(BinaryOps, XnorInputMatchesTorch) {
    TERN_REQUIRE_REFERENCE(binary_ops_ref().reference);
    for (const char* name : {"xnor_relu_input", "xnor_rows"})
        binary_ops_check_case(name, [](const RefCase&, const Var& x) { return binarize_input(x); });
}

TEST(BinaryOps, TwnMatchesTorch) {
    TERN_REQUIRE_REFERENCE(binary_ops_ref().reference);
    for (const char* name : {"twn_conv", "twn_linear_t05"})
        binary_ops_check_case(name, [](const RefCase& c, const Var& x) { return ternarize_twn(x, c.params["threshold"].get<float>()); });
}

TEST(BinaryOps, TtqMatchesTorch) {
    TERN_REQUIRE_REFERENCE(binary_ops_ref().reference);
    for (const char* name : {"ttq_conv", "ttq_linear_t3"}) {
        const RefCase& c = binary_ops_find_case(name);
        Var wp(c.input("wp").clone(), true), wn(c.input("wn").clone(), true);
        binary_ops_check_case(name, [&](const RefCase& rc, const Var& x) {
            return ternarize_ttq(x, wp, wn, rc.params["threshold"].get<float>());
        });
        binary_ops_expect_close(name, "gwp", wp.grad());
        binary_ops_expect_close(name, "gwn", wn.grad());
    }
}

TEST(BinaryOps, ValuesAreTwoOrThreeLevelsPerChannel) {
    // Independent of torch: BWN gives {-a, +a} per channel, TWN {-a, 0, +a}, and XNOR's rows two values.
    Rng rng(11);
    const Var w(random_tensor({4, 40}, rng));
    const Var b = binarize_weight(w), t = ternarize_twn(w, 0.7f), x = binarize_input(w);
    for (int64_t c = 0; c < 4; ++c) {
        EXPECT_EQ(std::set<float>(b.data() + c * 40, b.data() + (c + 1) * 40).size(), 2u);
        EXPECT_EQ(std::set<float>(t.data() + c * 40, t.data() + (c + 1) * 40).size(), 3u);
        EXPECT_EQ(std::set<float>(x.data() + c * 40, x.data() + (c + 1) * 40).size(), 2u);
    }
}

TEST(BinaryOps, BadThresholdsAndScalesThrow) {
    Var w(binary_ops_constant({2, 3}, 1.0f));
    EXPECT_THROW(ternarize_twn(w, 0.0f), Error);
    EXPECT_THROW(ternarize_ttq(w, Var(binary_ops_constant({1}, 1.0f)), Var(binary_ops_constant({1}, 1.0f)), 1.0f), Error);
    EXPECT_THROW(ternarize_ttq(w, Var(binary_ops_constant({1}, -1.0f)), Var(binary_ops_constant({1}, 1.0f)), 0.05f), Error);
    EXPECT_THROW(binarize_weight(Var(Tensor::empty({0}))), Error);
}

}  // namespace
}  // namespace tern::nn
