// Once-for-All: a subnet's forward with the shared weights equals the same
// architecture built on its own with the weights sliced out independently (by
// nn::slice), kernel crops, channel sorting that keeps the largest network's
// function, batch-norm recalibration touching only the statistics, gradients
// landing in the shared slices, the phases' sampling, and short searches on
// synthetic images (within the budget, or the budget error), plus the CLI's
// usage errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "nas/build.h"
#include "nas/cost.h"
#include "nas/ofa_search.h"
#include "nas/ofa_supernet.h"
#include "nas/ofa_train.h"
#include "nn/data/image_dataset.h"
#include "nn/ops.h"

using namespace tern;
using namespace tern::nas;

namespace {

// Two stages, so depth, kernel and expansion are all elastic, small enough for milliseconds.
Space ofa_test_space() {
    Space s;
    s.stem = 8;
    s.head = 16;
    s.stages = {{8, 2, {1, 2}}, {16, 2, {1, 2}}};
    s.kernels = {3, 5, 7};
    s.expansions = {2, 3};
    s.widths = {1.0};
    return s;
}

// Stage 0: one block (kernel 3, expansion 2); stage 1: two blocks (kernel 5 / 3, expansion 3 / 2).
Arch ofa_test_subnet() {
    Arch a = largest_arch(ofa_test_space(), 1.0);
    a.stages[0].blocks = {{3, 2}};
    a.stages[1].blocks = {{5, 3}, {3, 2}};
    return a;
}

Tensor ofa_test_images(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::vector<float> px(static_cast<size_t>(n * 28 * 28));
    for (float& x : px) x = g(rng);
    return Tensor::from_floats({n, 1, 28, 28}, px);
}

data::ImageDataset ofa_test_dataset(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> px(static_cast<size_t>(n * 28 * 28));
    for (float& x : px) x = u(rng);
    std::vector<int32_t> labels(static_cast<size_t>(n));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % 10);
    return data::make_image_dataset(Tensor::from_floats({n, 28, 28}, px), labels, 10, data::fashion_mnist_normalization());
}

// Random batch-norm statistics, so a wrong slice of them shows in the outputs.
void ofa_scramble_stats(nn::Module& m, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.5f, 1.5f);
    for (auto& [name, t] : m.named_buffers()) {
        Tensor b = t;
        float* p = b.data<float>();
        for (int64_t i = 0; i < b.numel(); ++i) p[i] = name.find("mean") != std::string::npos ? u(rng) - 1.0f : u(rng);
    }
}

std::vector<float> ofa_eval_logits(nn::models::MobileNetV2& m, const Tensor& x) {
    m.train(false);
    nn::NoGradGuard no_grad;
    const nn::Var y = m.forward(nn::Var(x));
    return std::vector<float>(y.data(), y.data() + y.numel());
}

// The supernet's name of a subnet tensor: "blocks.K." renumbered to the shared block.
std::string ofa_full_name(const std::string& name, const Arch& sub, const Arch& largest) {
    if (name.rfind("blocks.", 0) != 0) return name;
    const size_t dot = name.find('.', 7);
    size_t k = std::stoul(name.substr(7, dot - 7)), start = 0;
    for (size_t i = 0; i < sub.stages.size(); ++i) {
        if (k < sub.stages[i].blocks.size()) return "blocks." + std::to_string(start + k) + name.substr(dot);
        k -= sub.stages[i].blocks.size();
        start += largest.stages[i].blocks.size();
    }
    throw std::runtime_error("no such block");
}

// `full` cut to `shape` with nn::slice: leading slices, the centre of 4-D kernels' spatial dims.
Tensor ofa_slice_like(const Tensor& full, const Shape& shape) {
    nn::Var v(full);
    for (size_t d = 0; d < shape.size(); ++d) {
        const int64_t off = shape.size() == 4 && d >= 2 ? (full.dim(static_cast<int>(d)) - shape[d]) / 2 : 0;
        v = nn::slice(v, static_cast<int>(d), off, off + shape[d]);
    }
    return v.value().clone();
}

void ofa_copy(Tensor& dst, const Tensor& src) {
    ASSERT_EQ(dst.shape(), src.shape());
    std::copy_n(src.data<float>(), src.numel(), dst.data<float>());
}

}  // namespace

TEST(OfaSupernet, SubnetForwardEqualsTheArchitectureBuiltWithSlicedWeights) {
    const Space s = ofa_test_space();
    OfaSupernet net(s, 1.0, 1, 10, 7);
    ofa_scramble_stats(net.full(), 3);
    const Arch a = ofa_test_subnet();
    auto explicit_model = build_model(a, 99);
    std::map<std::string, nn::Var> full_params;
    std::map<std::string, Tensor> full_buffers;
    for (auto& [n, v] : net.full().named_parameters()) full_params[n] = v;
    for (auto& [n, t] : net.full().named_buffers()) full_buffers[n] = t;
    for (auto& [n, v] : explicit_model->named_parameters()) {
        const std::string fn = ofa_full_name(n, a, net.largest());
        ASSERT_TRUE(full_params.count(fn)) << fn;
        ofa_copy(v.value(), ofa_slice_like(full_params[fn].value(), v.shape()));
    }
    for (auto& [n, t] : explicit_model->named_buffers()) {
        const std::string fn = ofa_full_name(n, a, net.largest());
        ASSERT_TRUE(full_buffers.count(fn)) << fn;
        Tensor dst = t;
        ofa_copy(dst, ofa_slice_like(full_buffers[fn], t.shape()));
    }
    const Tensor x = ofa_test_images(3, 11);
    auto sub = net.extract(a);
    const auto want = ofa_eval_logits(*explicit_model, x), got = ofa_eval_logits(*sub, x);
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;

    // The largest subnet is the supernet itself.
    const auto full_out = ofa_eval_logits(net.full(), x), largest_out = ofa_eval_logits(*net.extract(net.largest()), x);
    for (size_t i = 0; i < full_out.size(); ++i) EXPECT_FLOAT_EQ(largest_out[i], full_out[i]);
}

TEST(OfaSupernet, KernelsAreCentreCropsAndExpansionsLeadingChannels) {
    OfaSupernet net(ofa_test_space(), 1.0, 1, 10, 5);
    const Arch a = ofa_test_subnet();
    auto sub = net.extract(a);
    auto& full1 = dynamic_cast<nn::models::InvertedResidual&>((*net.full().blocks)[2]);  // stage 1, block 0
    auto& sub1 = dynamic_cast<nn::models::InvertedResidual&>((*sub->blocks)[1]);
    EXPECT_EQ(full1.dw->weight.shape(), (Shape{24, 1, 7, 7}));  // its input: 8 channels x expansion 3
    EXPECT_EQ(sub1.dw->weight.shape(), (Shape{24, 1, 5, 5}));
    auto& sub0 = dynamic_cast<nn::models::InvertedResidual&>((*sub->blocks)[0]);
    EXPECT_EQ(sub0.dw->weight.shape(), (Shape{16, 1, 3, 3}));  // 8 x 2
    EXPECT_EQ(sub0.expand->weight.shape(), (Shape{16, 8, 1, 1}));
    EXPECT_EQ(sub0.project->weight.shape(), (Shape{8, 16, 1, 1}));
    const float* f = full1.dw->weight.data();
    const float* k = sub1.dw->weight.data();
    for (int64_t c = 0; c < 24; c += 5)
        for (int64_t i = 0; i < 5; ++i)
            for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(k[(c * 5 + i) * 5 + j], f[(c * 7 + i + 1) * 7 + j + 1]);
    Arch bad = a;
    bad.stages[1].blocks.push_back({3, 2});
    bad.stages[1].blocks.push_back({3, 2});
    EXPECT_NE(net.outside(bad), "");
    EXPECT_THROW(net.extract(bad), Error);
}

TEST(OfaSupernet, SortingHiddenChannelsKeepsTheLargestNetworksFunction) {
    OfaSupernet net(ofa_test_space(), 1.0, 1, 10, 9);
    ofa_scramble_stats(net.full(), 4);
    const Tensor x = ofa_test_images(2, 12);
    const auto before = ofa_eval_logits(net.full(), x);
    net.sort_expansion_channels();
    const auto after = ofa_eval_logits(net.full(), x);
    for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(after[i], before[i], 1e-4) << i;
    for (size_t b = 0; b < net.full().blocks->size(); ++b) {
        auto& blk = dynamic_cast<nn::models::InvertedResidual&>((*net.full().blocks)[b]);
        const Tensor& w = blk.project->weight.value();
        std::vector<double> l1(static_cast<size_t>(w.dim(1)), 0.0);
        for (int64_t o = 0; o < w.dim(0); ++o)
            for (int64_t h = 0; h < w.dim(1); ++h) l1[static_cast<size_t>(h)] += std::fabs(w.data<float>()[o * w.dim(1) + h]);
        EXPECT_TRUE(std::is_sorted(l1.rbegin(), l1.rend())) << "block " << b;
    }
}

TEST(OfaSupernet, GradientsLandInTheSharedSlicesOnly) {
    OfaSupernet net(ofa_test_space(), 1.0, 1, 10, 2);
    const Arch a = ofa_test_subnet();
    auto sub = net.extract(a);
    nn::sum(sub->forward(nn::Var(ofa_test_images(2, 13)))).backward();
    net.full().zero_grad();
    net.accumulate_grads(*sub, a);
    auto& fb = dynamic_cast<nn::models::InvertedResidual&>((*net.full().blocks)[0]);
    auto& sb = dynamic_cast<nn::models::InvertedResidual&>((*sub->blocks)[0]);
    const float* fg = fb.dw->weight.grad().data<float>();
    const float* sg = sb.dw->weight.grad().data<float>();
    double outside = 0, inside = 0;
    for (int64_t c = 0; c < 24; ++c)  // supernet: 8 x 3 hidden channels, 7x7
        for (int64_t i = 0; i < 7; ++i)
            for (int64_t j = 0; j < 7; ++j) {
                const float g = fg[(c * 7 + i) * 7 + j];
                if (c < 16 && i >= 2 && i < 5 && j >= 2 && j < 5) {
                    EXPECT_EQ(g, sg[(c * 3 + i - 2) * 3 + j - 2]);
                    inside += std::fabs(g);
                } else {
                    outside += std::fabs(g);
                }
            }
    EXPECT_GT(inside, 0);
    EXPECT_EQ(outside, 0);
    // The head is shared whole: its gradient is the subnet's.
    const Tensor& hf = net.full().head->weight.grad();
    const Tensor& hs = sub->head->weight.grad();
    ASSERT_EQ(hf.shape(), hs.shape());
    for (int64_t i = 0; i < hf.numel(); ++i) EXPECT_EQ(hf.data<float>()[i], hs.data<float>()[i]);
}

TEST(OfaSupernet, BatchNormRecalibrationChangesOnlyTheStatistics) {
    OfaSupernet net(ofa_test_space(), 1.0, 1, 10, 6);
    auto sub = net.extract(ofa_test_subnet());
    std::vector<std::vector<float>> params;
    for (const nn::Var& p : sub->parameters()) params.emplace_back(p.data(), p.data() + p.numel());
    const data::ImageDataset ds = ofa_test_dataset(40, 21);
    recalibrate_batch_norm(*sub, ds, 40, 16);  // batches of 16, 16, 8
    size_t i = 0;
    for (const nn::Var& p : sub->parameters()) {
        ASSERT_EQ(std::vector<float>(p.data(), p.data() + p.numel()), params[i]) << "parameter " << i;
        ++i;
    }
    EXPECT_FALSE(sub->is_training());
    // The stem's batch norm now holds the mean over the batches of the stem conv's per-channel means.
    nn::NoGradGuard no_grad;
    const int64_t C = sub->stem_bn->running_mean.numel();
    std::vector<double> want(static_cast<size_t>(C), 0.0);
    for (auto [start, n] : {std::pair<int64_t, int64_t>{0, 16}, {16, 16}, {32, 8}}) {
        Tensor x = Tensor::from_floats({n, 1, 28, 28}, std::vector<float>(ds.image(start), ds.image(start) + n * 784));
        const nn::Var y = sub->stem->forward(nn::Var(x));
        const int64_t hw = y.dim(2) * y.dim(3);
        for (int64_t c = 0; c < C; ++c) {
            double m = 0;
            for (int64_t b = 0; b < n; ++b)
                for (int64_t k = 0; k < hw; ++k) m += y.data()[(b * C + c) * hw + k];
            want[static_cast<size_t>(c)] += m / static_cast<double>(n * hw) / 3.0;
        }
    }
    for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(sub->stem_bn->running_mean.data<float>()[c], want[static_cast<size_t>(c)], 1e-4) << c;
}

TEST(OfaSupernet, PhasesDrawOnlyWhatIsElasticSoFar) {
    const Space s = ofa_test_space();
    const Arch largest = largest_arch(s, 1.0);
    data::Rng rng(3);
    bool kernel_varied = false, depth_varied = false, expansion_varied = false;
    for (int i = 0; i < 50; ++i) {
        const Arch k = sample_subnet(s, largest, "kernel", rng), d = sample_subnet(s, largest, "depth", rng),
                   e = sample_subnet(s, largest, "expansion", rng);
        EXPECT_EQ(arch_outside_space(e, s), "");
        for (size_t st = 0; st < 2; ++st) {
            EXPECT_EQ(k.stages[st].blocks.size(), 2u);
            for (const BlockArch& b : k.stages[st].blocks) {
                EXPECT_EQ(b.expansion, 3);
                kernel_varied |= b.kernel != 7;
            }
            depth_varied |= d.stages[st].blocks.size() != 2;
            for (const BlockArch& b : d.stages[st].blocks) EXPECT_EQ(b.expansion, 3);
            for (const BlockArch& b : e.stages[st].blocks) expansion_varied |= b.expansion != 3;
        }
    }
    EXPECT_TRUE(kernel_varied && depth_varied && expansion_varied);
}

namespace {

OfaOptions ofa_fast_options() {
    OfaOptions o;
    o.max_evals = 5;
    o.population = 3;
    o.tournament = 2;
    o.bn_images = 16;
    o.train.batch_size = 16;
    o.train.max_steps_per_phase = 1;
    o.layer_latency = [](const hw::LayerConfig& c) { return 1.0 + 1e-3 * static_cast<double>(c.in_channels * c.out_channels * c.kernel); };
    o.measured = [](const Arch& a) { return 1e-6 * static_cast<double>(arch_cost(a).macs) + 0.01; };
    return o;
}

}  // namespace

TEST(OfaSearch, EvolutionKeepsEverySubnetWithinTheBudget) {
    const Space s = ofa_test_space();
    const data::ImageDataset train = ofa_test_dataset(32, 1), val = ofa_test_dataset(16, 2);
    const int64_t lo = arch_cost(smallest_arch(s)).params, hi = arch_cost(largest_arch(s, 1.0)).params;
    OfaOptions o = ofa_fast_options();
    o.params = (lo + hi) / 2;
    const OfaResult r = ofa_search(s, train, val, o);
    ASSERT_EQ(r.history.size(), 5u);
    for (const OfaCandidate& c : r.history) {
        EXPECT_LE(c.cost.params, o.params);
        EXPECT_EQ(c.cost.params, arch_cost(c.arch).params);
    }
    EXPECT_LE(arch_cost(r.best).params, o.params);
    ASSERT_TRUE(r.model);
    EXPECT_EQ(r.model->parameter_count(), arch_cost(r.best).params);
    ASSERT_EQ(r.train.phases.size(), 4u);
    EXPECT_EQ(r.train.phases[3].name, "expansion");
    EXPECT_FALSE(r.reused_supernet);
}

TEST(OfaSearch, ABudgetNoSubnetMeetsIsOneClearError) {
    const data::ImageDataset train = ofa_test_dataset(16, 1), val = ofa_test_dataset(8, 2);
    OfaOptions o = ofa_fast_options();
    o.params = 10;
    try {
        ofa_search(ofa_test_space(), train, val, o);
        FAIL() << "expected a budget error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.where(), "budget");
        EXPECT_NE(e.detail().find("no subnet"), std::string::npos) << e.detail();
    }
    Space one = ofa_test_space();
    one.expansions = {1, 2};
    EXPECT_THROW(ofa_space(one, "space.json"), InputError);
}

TEST(OfaSearchCli, OptionsOfOtherStrategiesAreUsageErrors) {
    const auto r = tern::testcli::run_tern("search mobilenet --strategy evolution --supernet s.safetensors -o /tmp/never.safetensors");
    EXPECT_EQ(r.code, 2) << r.all();  // usage errors exit 2, input errors 1
    EXPECT_NE(r.all().find("only the ofa strategy"), std::string::npos) << r.all();
    const auto steps = tern::testcli::run_tern("search mobilenet --strategy random --ofa-steps 2 -o /tmp/never.safetensors");
    EXPECT_EQ(steps.code, 2) << steps.all();
    EXPECT_NE(steps.all().find("--ofa-steps"), std::string::npos) << steps.all();
    const auto unknown = tern::testcli::run_tern("search mobilenet --strategy ofa --ofa-phases 3 -o /tmp/never.safetensors");
    EXPECT_NE(unknown.code, 0) << unknown.all();
    EXPECT_NE(unknown.all().find("--ofa-phases"), std::string::npos) << unknown.all();
}
