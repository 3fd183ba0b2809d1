// Distillation losses (src/distill/losses.h): value and gradient against a
// PyTorch transcription of each paper's formula (tests/ref/distill_ref.py),
// which runs once per change of its inputs (cached like tests/nn/torch_ref.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "distill/losses.h"
#include "nn/modules/conv.h"
#include "nn/ops.h"
#include "nn/nn_test_util.h"
#include "nn/torch_ref.h"

namespace tern::distill {
namespace {

using nn::Var;
using nn::test::random_tensor;
using nn::test::RefCase;

constexpr double kTol = 1e-4;  // max relative error vs torch

const std::vector<int64_t> kLabels{3, 0, 7, 7, 1};
const std::vector<int32_t> kTopkIdx{2, 5, 0, 1, 1, 4, 6, 3, 2, 0, 3, 5};  // 4 rows x k 3, vocab 7

Tensor distill_losses_floats_of(const std::vector<int64_t>& v) {
    std::vector<float> f(v.begin(), v.end());
    return Tensor::from_floats({static_cast<int64_t>(v.size())}, f);
}

std::vector<RefCase> cases() {
    nn::Rng rng(2601);
    std::vector<RefCase> c;
    c.push_back({"kd", {{"kind", "kd"}, {"T", 4.0}, {"alpha", 0.9}},
                 {{"s", random_tensor({5, 10}, rng, 3)}, {"t", random_tensor({5, 10}, rng, 3)}, {"labels", distill_losses_floats_of(kLabels)}}});
    c.push_back({"kd_t1_half", {{"kind", "kd"}, {"T", 1.0}, {"alpha", 0.5}},
                 {{"s", random_tensor({5, 10}, rng, 2)}, {"t", random_tensor({5, 10}, rng, 2)}, {"labels", distill_losses_floats_of(kLabels)}}});
    c.push_back({"fitnets", {{"kind", "fitnets"}},
                 {{"s", random_tensor({2, 3, 4, 5}, rng)}, {"w", random_tensor({6, 3, 1, 1}, rng, 0.5f)},
                  {"t", random_tensor({2, 6, 4, 5}, rng)}}});
    c.push_back({"attention", {{"kind", "attention"}},
                 {{"s", random_tensor({3, 4, 5, 6}, rng)}, {"t", random_tensor({3, 7, 5, 6}, rng)}}});
    c.push_back({"forward_kl", {{"kind", "forward_kl"}, {"T", 1.0}},
                 {{"s", random_tensor({2, 3, 11}, rng, 2)}, {"t", random_tensor({2, 3, 11}, rng, 2)}}});
    c.push_back({"forward_kl_t2", {{"kind", "forward_kl"}, {"T", 2.0}},
                 {{"s", random_tensor({4, 11}, rng, 2)}, {"t", random_tensor({4, 11}, rng, 2)}}});
    c.push_back({"reverse_kl", {{"kind", "reverse_kl"}, {"T", 1.0}},
                 {{"s", random_tensor({2, 3, 11}, rng, 2)}, {"t", random_tensor({2, 3, 11}, rng, 2)}}});
    c.push_back({"reverse_kl_t3", {{"kind", "reverse_kl"}, {"T", 3.0}},
                 {{"s", random_tensor({4, 11}, rng, 2)}, {"t", random_tensor({4, 11}, rng, 2)}}});
    std::vector<float> idx(kTopkIdx.begin(), kTopkIdx.end());
    c.push_back({"topk_forward_kl", {{"kind", "topk_forward_kl"}, {"T", 1.5}},
                 {{"s", random_tensor({4, 7}, rng, 2)}, {"indices", Tensor::from_floats({4, 3}, idx)},
                  {"values", random_tensor({4, 3}, rng, 2)}}});
    return c;
}

using DistillRef = nn::test::TorchRef;

const DistillRef& distill_ref() {
    static const DistillRef ref = nn::test::run_torch_cases("distill_ref.py", cases(), "tern_distill_ref_cache");
    return ref;
}

RefCase find_case(const std::string& name) {
    for (RefCase& c : cases())
        if (c.name == name) return c;
    throw std::runtime_error("no case " + name);
}

void distill_losses_expect_close(const std::string& c, const std::string& name, const Tensor& got) {
    auto it = distill_ref().outputs.find(c + "/" + name);
    ASSERT_NE(it, distill_ref().outputs.end()) << c << "/" << name << " missing from torch output";
    ASSERT_EQ(got.numel(), it->second.numel()) << c << "/" << name;
    const double e = nn::test::rel_err(got.data<float>(), it->second.data<float>(), got.numel());
    std::printf("[torch] %-16s %-3s rel_err %.2e\n", c.c_str(), name.c_str(), e);
    EXPECT_LT(e, kTol) << c << "/" << name;
}

#define SKIP_WITHOUT_TORCH() TERN_REQUIRE_REFERENCE(distill_ref().reference)

// Runs `loss` on the case's student input "s" (with a gradient) and the rest as constants.
template <class F>
void check_student_loss(const std::string& name, F loss) {
    const RefCase c = find_case(name);
    Var s(c.input("s").clone(), true);
    Var y = loss(c, s);
    y.backward();
    distill_losses_expect_close(name, "y", y.value());
    distill_losses_expect_close(name, "gs", s.grad());
}

TEST(DistillLosses, SoftTargetKdWithCrossEntropy) {
    SKIP_WITHOUT_TORCH();
    check_student_loss("kd", [](const RefCase& c, const Var& s) { return kd_loss(s, Var(c.input("t")), kLabels, 4, 0.9f); });
    check_student_loss("kd_t1_half",
                       [](const RefCase& c, const Var& s) { return kd_loss(s, Var(c.input("t")), kLabels, 1, 0.5f); });
}

TEST(DistillLosses, FitNetsHintThroughRegressor) {
    SKIP_WITHOUT_TORCH();
    const RefCase c = find_case("fitnets");
    Var s(c.input("s").clone(), true), w(c.input("w").clone(), true);
    Var y = hint_loss(nn::conv2d(s, w, Var(), nn::Conv2dParams{}), Var(c.input("t")));
    y.backward();
    distill_losses_expect_close(c.name, "y", y.value());
    distill_losses_expect_close(c.name, "gs", s.grad());
    distill_losses_expect_close(c.name, "gw", w.grad());
}

TEST(DistillLosses, AttentionTransfer) {
    SKIP_WITHOUT_TORCH();
    check_student_loss("attention", [](const RefCase& c, const Var& s) { return attention_transfer(s, Var(c.input("t"))); });
}

TEST(DistillLosses, ForwardAndReverseKlOverVocabularyRows) {
    SKIP_WITHOUT_TORCH();
    check_student_loss("forward_kl", [](const RefCase& c, const Var& s) { return forward_kl(s, Var(c.input("t")), 1); });
    check_student_loss("forward_kl_t2", [](const RefCase& c, const Var& s) { return forward_kl(s, Var(c.input("t")), 2); });
    check_student_loss("reverse_kl", [](const RefCase& c, const Var& s) { return reverse_kl(s, Var(c.input("t")), 1); });
    check_student_loss("reverse_kl_t3", [](const RefCase& c, const Var& s) { return reverse_kl(s, Var(c.input("t")), 3); });
}

TEST(DistillLosses, TopkForwardKl) {
    SKIP_WITHOUT_TORCH();
    check_student_loss("topk_forward_kl", [](const RefCase& c, const Var& s) {
        const Tensor& v = c.input("values");
        return topk_forward_kl(s, kTopkIdx, std::vector<float>(v.data<float>(), v.data<float>() + v.numel()), 3, 1.5f);
    });
}

// Without torch: the identities the losses must satisfy.
TEST(DistillLosses, IdentitiesWithoutTorch) {
    nn::Rng rng(5);
    Var a(random_tensor({3, 8}, rng, 2), true);
    // KL of a distribution with itself is 0, in both directions, and the gradient too.
    Var f = forward_kl(a, a.detach());
    Var r = reverse_kl(a, a.detach());
    EXPECT_NEAR(f.item(), 0, 1e-6);
    EXPECT_NEAR(r.item(), 0, 1e-6);
    r.backward();
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.grad().data<float>()[i], 0, 1e-6);
    // alpha 0 is plain cross-entropy, exactly.
    Var b(random_tensor({5, 10}, rng, 2));
    EXPECT_EQ(kd_loss(b, Var(random_tensor({5, 10}, rng)), kLabels, 4, 0).item(), nn::cross_entropy(b, kLabels).item());
    // Top-k with k = V is the full forward KL.
    Var t(random_tensor({3, 8}, rng, 2));
    std::vector<int32_t> idx;
    std::vector<float> val;
    for (int64_t row = 0; row < 3; ++row)
        for (int32_t v = 0; v < 8; ++v) {
            idx.push_back(v);
            val.push_back(t.data()[row * 8 + v]);
        }
    EXPECT_NEAR(topk_forward_kl(a, idx, val, 8).item(), forward_kl(a, t).item(), 1e-5);
}

TEST(DistillLosses, ShapeMismatchIsAnError) {
    nn::Rng rng(6);
    Var a(random_tensor({2, 10}, rng)), b(random_tensor({2, 12}, rng));
    EXPECT_THROW(kd_loss(a, b, {0, 1}, 4, 0.5f), Error);
    EXPECT_THROW(reverse_kl(a, b), Error);
    EXPECT_THROW(attention_transfer(Var(random_tensor({2, 3, 4, 4}, rng)), Var(random_tensor({2, 3, 5, 5}, rng))),
                 Error);
    EXPECT_THROW(topk_forward_kl(a, {0, 99}, {1, 2}, 1), Error);  // id outside the vocabulary
}

}  // namespace
}  // namespace tern::distill
