// nas/build and nas/cost: the module an Arch builds, its exact parameter and
// MAC counts, and the "nas:" model family model files are rebuilt from.
#include <gtest/gtest.h>

#include "core/error.h"
#include "nas/build.h"
#include "nas/cost.h"
#include "nas/sampler.h"
#include "nn/models/zoo.h"

using namespace tern;
using namespace tern::nas;

namespace {

// mobilenetv2_tiny as an Arch: stages (t, c, n, s) = (1,16,1,1) (4,24,2,2) (4,32,2,2) (4,64,2,1).
Arch tiny_arch() {
    Arch a;
    a.stem = 16;
    a.head = 128;
    a.width = 1.0;
    a.stages = {{16, 1, {{3, 1}}}, {24, 2, {{3, 4}, {3, 4}}}, {32, 2, {{3, 4}, {3, 4}}}, {64, 1, {{3, 4}, {3, 4}}}};
    return a;
}

}  // namespace

TEST(NasBuild, MapsImagesToLogits) {
    tern::data::Rng rng(2);
    const Space s = mobilenet_space();
    for (int i = 0; i < 2; ++i) {
        auto m = build_model(sample_arch(s, rng), 1);
        nn::NoGradGuard ng;
        const nn::Var y = m->forward(nn::Var(Tensor::zeros({3, 1, 28, 28})));
        EXPECT_EQ(y.shape(), (Shape{3, 10}));
    }
}

TEST(NasBuild, TinyArchIsTheZoosMobilenetV2Tiny) {
    auto a = build_model(tiny_arch(), 1);
    auto z = nn::models::make_model("mobilenetv2_tiny", 1);
    const auto pa = a->named_parameters(), pz = z->named_parameters();
    ASSERT_EQ(pa.size(), pz.size());
    for (size_t i = 0; i < pa.size(); ++i) {
        EXPECT_EQ(pa[i].first, pz[i].first);
        ASSERT_EQ(pa[i].second.shape(), pz[i].second.shape()) << pa[i].first;
        // Same seeds, same construction order: the same initial weights.
        for (int64_t k = 0; k < pa[i].second.numel(); ++k) ASSERT_EQ(pa[i].second.data()[k], pz[i].second.data()[k]) << pa[i].first;
    }
    EXPECT_EQ(arch_cost(tiny_arch()).params, z->parameter_count());
}

TEST(NasCost, ParamsMatchTheBuiltModule) {
    tern::data::Rng rng(9);
    const Space s = mobilenet_space();
    for (int i = 0; i < 12; ++i) {
        const Arch a = sample_arch(s, rng);
        EXPECT_EQ(arch_cost(a).params, build_model(a, 1)->parameter_count()) << arch_to_string(a);
    }
}

TEST(NasCost, MacsByHand) {
    // stem 8 (width 0.5 of 16), one stage of one block: 8 -> 12 channels (24 x 0.5), stride 2,
    // kernel 5, expansion 3 (hidden 24); head 64; 10 classes.
    Arch a;
    a.stem = 16;
    a.head = 128;
    a.width = 0.5;
    a.stages = {{24, 2, {{5, 3}}}};
    const int64_t stem = 28 * 28 * 1 * 8 * 9;
    const int64_t expand = 28 * 28 * 8 * 24;
    const int64_t dw = 14 * 14 * 24 * 25;  // (28 + 4 - 5) / 2 + 1 = 14
    const int64_t project = 14 * 14 * 24 * 12;
    const int64_t head = 14 * 14 * 12 * 64;
    const int64_t fc = 64 * 10;
    EXPECT_EQ(arch_cost(a).macs, stem + expand + dw + project + head + fc);
    const int64_t params = (9 * 8 + 16) + (8 * 24 + 48) + (24 * 25 + 48) + (24 * 12 + 24) + (12 * 64 + 128) + (64 * 10 + 10);
    EXPECT_EQ(arch_cost(a).params, params);
    EXPECT_EQ(build_model(a, 1)->parameter_count(), params);
}

TEST(NasCost, SmallestArchIsTheCheapest) {
    const Space s = mobilenet_space();
    const ArchCost small = arch_cost(smallest_arch(s));
    tern::data::Rng rng(4);
    for (int i = 0; i < 50; ++i) {
        const ArchCost c = arch_cost(sample_arch(s, rng));
        EXPECT_GE(c.params, small.params);
        EXPECT_GE(c.macs, small.macs);
    }
}

TEST(NasCost, LatencyIsMeasuredAndPositive) {
    const double ms = measure_latency_ms(smallest_arch(mobilenet_space()), 3);
    EXPECT_GT(ms, 0);
    EXPECT_LT(ms, 1000);
}

TEST(NasBuild, ModelFamilyBuildsByNameAndRefusesBadNames) {
    register_model_family();
    const Arch a = smallest_arch(mobilenet_space());
    EXPECT_EQ(arch_from_model_name(model_name(a)), a);
    ASSERT_TRUE(nn::models::has_model(model_name(a)));
    EXPECT_EQ(nn::models::make_model(model_name(a), 1)->parameter_count(), arch_cost(a).params);
    EXPECT_THROW(nn::models::make_model("nas:{\"stem\":1}", 1), InputError);
    EXPECT_THROW(nn::models::make_model("nas:not json", 1), InputError);
    EXPECT_THROW(nn::models::make_model("nasnet", 1), InputError);  // the zoo's unknown-name error, not the family
}
