// Physical channel pruning (prune/channel_prune, nn/models/pruned): the
// narrowed model is the same function as the wide one with the removed
// channels' effect zeroed, for every prunable zoo model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"
#include "interop/classifier_graph.h"
#include "interop/model_cost.h"
#include "nn/models/pruned.h"
#include "nn/models/zoo.h"
#include "nn/modules/norm.h"
#include "nn/train/checkpoint.h"
#include "nn/train/recipe.h"
#include "prune/channel_prune.h"
#include "prune/netadapt.h"
#include "prune/sensitivity_scan.h"

using namespace tern;
using namespace tern::prune;

namespace {

const std::vector<std::string> kBases = {"lenet300", "lenet5", "lenet5_bn", "mobilenetv2_tiny"};

Tensor channel_prune_random_images(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n * 28 * 28));
    for (auto& x : v) x = d(rng);
    return Tensor::from_floats({n, 1, 28, 28}, v);
}

// Batch-norm statistics away from (0, 1), so slicing them wrongly shows.
std::shared_ptr<nn::UnaryModule> model_with_stats(const std::string& name) {
    auto m = nn::models::make_model(name, 7);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(0.5f, 1.5f);
    for (auto& [n, t] : m->named_buffers()) {
        float* p = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = n.find("running_mean") != std::string::npos ? u(rng) - 1.0f : u(rng);
    }
    for (auto& [n, v] : m->named_parameters())
        if (n.find("bn") != std::string::npos && v.rank() == 1) {
            float* p = v.data();
            for (int64_t i = 0; i < v.numel(); ++i) p[i] = u(rng) - 0.7f;
        }
    m->eval();
    return m;
}

float max_diff(const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.shape(), b.shape());
    float d = 0;
    for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    return d;
}

// Every other channel, at least one.
std::vector<std::vector<int64_t>> every_other(const std::vector<ChannelGroup>& groups) {
    std::vector<std::vector<int64_t>> kept;
    for (const auto& g : groups) {
        std::vector<int64_t> k;
        for (int64_t c = 0; c < g.channels; c += 2) k.push_back(c);
        kept.push_back(k);
    }
    return kept;
}

// Zeroes the columns of each group's input tensors that read a removed channel.
void zero_removed_inputs(nn::UnaryModule& m, const std::vector<ChannelGroup>& groups,
                         const std::vector<std::vector<int64_t>>& kept) {
    std::map<std::string, nn::Var> params;
    for (auto& [n, v] : m.named_parameters()) params[n] = v;
    for (size_t g = 0; g < groups.size(); ++g)
        for (const auto& name : groups[g].inputs) {
            nn::Var v = params.at(name);
            const int64_t outer = v.dim(0), inner = v.numel() / (outer * groups[g].channels);
            for (int64_t c = 0; c < groups[g].channels; ++c) {
                if (std::binary_search(kept[g].begin(), kept[g].end(), c)) continue;
                for (int64_t o = 0; o < outer; ++o)
                    std::memset(v.data() + (o * groups[g].channels + c) * inner, 0, size_t(inner) * sizeof(float));
            }
        }
}

}  // namespace

TEST(ChannelPrune, KeepingEveryChannelIsTheSameModel) {
    const Tensor x = channel_prune_random_images(2, 1);
    for (const auto& base : kBases) {
        SCOPED_TRACE(base);
        auto m = model_with_stats(base);
        const auto groups = channel_groups(base);
        std::vector<std::vector<int64_t>> all;
        for (const auto& g : groups) {
            all.emplace_back(g.channels);
            std::iota(all.back().begin(), all.back().end(), 0);
        }
        const NarrowedModel n = narrow_model(*m, base, all);
        EXPECT_EQ(nn::models::pruned_arch_of(n.model_name).widths, nn::models::full_widths(base));
        EXPECT_EQ(max_diff(m->forward(nn::Var(x)).value(), n.model->forward(nn::Var(x)).value()), 0.0f);
    }
}

TEST(ChannelPrune, RemovesExactlyTheZeroedChannelsEffect) {
    const Tensor x = channel_prune_random_images(2, 2);
    for (const auto& base : kBases) {
        SCOPED_TRACE(base);
        auto m = model_with_stats(base);
        const auto groups = channel_groups(base);
        const auto kept = every_other(groups);
        zero_removed_inputs(*m, groups, kept);
        const NarrowedModel n = narrow_model(*m, base, kept);
        const auto widths = nn::models::pruned_arch_of(n.model_name).widths;
        for (size_t g = 0; g < groups.size(); ++g) EXPECT_EQ(widths[g], (groups[g].channels + 1) / 2);
        EXPECT_LT(n.model->parameter_count(), m->parameter_count());
        EXPECT_LT(max_diff(m->forward(nn::Var(x)).value(), n.model->forward(nn::Var(x)).value()), 1e-4f);
        // A pruned model prunes again (its name is its base and widths).
        const auto again = every_other(channel_groups(n.model_name));
        const NarrowedModel n2 = narrow_model(*n.model, n.model_name, again);
        EXPECT_EQ(nn::models::pruned_arch_of(n2.model_name).base, base);
    }
}

TEST(ChannelPrune, MacsMatchTernCost) {
    for (const auto& base : kBases) {
        SCOPED_TRACE(base);
        nn::models::PrunedArch a = nn::models::pruned_arch_of(base);
        for (int pass = 0; pass < 2; ++pass) {
            const std::string name = nn::models::pruned_model_name(a);
            auto m = nn::models::make_model(name, 1);
            const auto cost = interop::cost_model_of(interop::classifier_graph(*m, name, 1, 28, 28), name, "classifier");
            int64_t macs = 0;
            for (const auto& l : interop::layer_costs(cost)) macs += l.macs;
            EXPECT_EQ(nn::models::pruned_macs(a), macs) << name;
            for (auto& w : a.widths) w = std::max<int64_t>(1, w / 3);
        }
    }
}

TEST(ChannelPrune, UniformWidthsMeetTheFlopsBudget) {
    const auto full = nn::models::pruned_arch_of("mobilenetv2_tiny");
    const int64_t macs = nn::models::pruned_macs(full);
    for (double f : {0.9, 0.5, 0.3}) {
        nn::models::PrunedArch a = full;
        a.widths = uniform_widths(full, f);
        EXPECT_LE(nn::models::pruned_macs(a), f * double(macs));
        EXPECT_GT(nn::models::pruned_macs(a), (f - 0.08) * double(macs));
    }
    EXPECT_THROW(uniform_widths(full, 0.01), InputError);  // below one channel per layer
    nn::models::PrunedArch a = full;
    a.widths = uniform_widths(full, 0.5, 1, 10, 8);
    for (int64_t w : a.widths) EXPECT_EQ(w % 8, 0) << w;
    EXPECT_LE(nn::models::pruned_macs(a), 0.5 * double(macs));
    EXPECT_LT(uniform_widths(nn::models::pruned_arch_of("lenet5"), 0.5, 1, 10, 8)[0], 6);  // conv1 (6 < 16) is not rounded
}

TEST(ChannelPrune, CriteriaRankADeadChannelLast) {
    auto m = model_with_stats("lenet5_bn");
    const auto groups = channel_groups("lenet5_bn");
    // conv2's channel 3: filter and BN gamma zeroed, and fc1 never reads it.
    std::vector<std::vector<int64_t>> kept;
    for (const auto& g : groups) {
        kept.emplace_back();
        for (int64_t c = 0; c < g.channels; ++c)
            if (g.name != "conv2" || c != 3) kept.back().push_back(c);
    }
    zero_removed_inputs(*m, groups, kept);
    for (auto& [n, v] : m->named_parameters())
        if (n == "conv2.weight") std::memset(v.data() + 3 * 6 * 25, 0, 6 * 25 * sizeof(float));
        else if (n == "bn2.weight") v.data()[3] = 0;
    data::ImageDataset ds;
    ds.images = channel_prune_random_images(16, 4);
    for (int i = 0; i < 16; ++i) ds.labels.push_back(i % 10);
    ds.num_classes = 10;
    for (auto c : {ChannelCriterion::l1, ChannelCriterion::bn, ChannelCriterion::taylor}) {
        const auto s = channel_scores(*m, "lenet5_bn", c, &ds, 2, 8);
        ASSERT_EQ(s.size(), groups.size());
        EXPECT_EQ(s[1][3], 0.0);
        if (c == ChannelCriterion::taylor) continue;  // other channels may be dead for these inputs too (ReLU off)
        const auto top = top_channels(s, {6, 15, 120, 84});
        EXPECT_EQ(std::count(top[1].begin(), top[1].end(), 3), 0);
    }
}

TEST(ChannelPrune, BadNamesAndPruningEveryChannelAreErrors) {
    EXPECT_THROW(nn::models::pruned_arch_of("pruned:mobilenetv2_tiny:1,2"), InputError);      // too few widths
    EXPECT_THROW(nn::models::pruned_arch_of("pruned:lenet300:301,100"), InputError);          // wider than the base
    EXPECT_THROW(nn::models::pruned_arch_of("pruned:lenet300:0,100"), InputError);            // no channel
    EXPECT_THROW(nn::models::pruned_arch_of("pruned:lenet300:1e3,100"), InputError);
    EXPECT_THROW(nn::models::pruned_arch_of("pruned:resnet:1"), InputError);
    EXPECT_THROW(channel_groups("nas:{}"), InputError);
    EXPECT_TRUE(nn::models::has_model("pruned:lenet300:10,5"));
    auto m = nn::models::make_model("lenet300", 1);
    EXPECT_THROW(narrow_model(*m, "lenet300", {{}, {0, 1}}), InputError);  // every fc1 neuron
    EXPECT_THROW(narrow_model(*m, "lenet300", {{1, 0}, {0}}), InputError);  // not sorted
}

namespace {

data::ImageDataset random_dataset(int64_t n, uint32_t seed) {
    data::ImageDataset ds;
    ds.images = channel_prune_random_images(n, seed);
    for (int64_t i = 0; i < n; ++i) ds.labels.push_back(static_cast<int32_t>(i % 10));
    ds.num_classes = 10;
    return ds;
}

}  // namespace

TEST(ChannelScan, OneRowPerLayerAndSparsityWithTheKeptChannels) {
    nn::train::ClassifierFile f;
    f.model_name = "lenet5";
    f.model = model_with_stats("lenet5");
    const auto ds = random_dataset(20, 5);
    const ScanResult r = sensitivity_scan(f, ChannelCriterion::l1, ds, {0.5, 0.9});
    ASSERT_EQ(r.points.size(), 8u);
    EXPECT_EQ(r.points[0].layer, "conv1");
    EXPECT_EQ(r.points[0].kept, 3);
    EXPECT_EQ(r.points[1].kept, 1);  // 10 % of 6, at least one
    EXPECT_EQ(r.points[7].layer, "fc2");
    EXPECT_EQ(r.points[7].kept, 8);
    const std::string csv = scan_csv(r);
    EXPECT_EQ(csv.rfind("layer,sparsity,channels_kept,accuracy\ndense,0,,", 0), 0u) << csv;
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 10);
}

TEST(NetAdapt, MeetsTheBudgetOneLayerPerIterationAndRefusesTheImpossible) {
    auto m = model_with_stats("lenet300");
    const auto ds = random_dataset(64, 6);
    nn::train::Recipe r;
    r.batch_size = 16;
    NetAdaptOptions o;
    o.latency = [](const nn::models::PrunedArch& a) { return double(nn::models::pruned_macs(a)) / 1e6; };  // MACs as ms
    o.latency_fraction = 0.5;
    o.step_fraction = 0.2;
    o.short_steps = 2;
    const NetAdaptResult res = netadapt(*m, "lenet300", r, ds, ds, o);
    EXPECT_LE(res.latency_after_ms, 0.5 * res.latency_before_ms + 1e-12);
    EXPECT_GE(res.history.size(), 3u);  // 20 % steps to reach 50 %
    auto widths = nn::models::full_widths("lenet300");
    for (const auto& h : res.history) widths[h.layer == "fc1" ? 0 : 1] = h.kept;
    EXPECT_EQ(nn::models::pruned_arch_of(res.model_name).widths, widths);
    EXPECT_EQ(res.model->parameter_count(), nn::models::make_model(res.model_name, 0)->parameter_count());
    o.latency_fraction = 1e-4;  // below one neuron per layer
    EXPECT_THROW(netadapt(*m, "lenet300", r, ds, ds, o), InputError);
}

TEST(ChannelScan, SensitivityWidthsPruneTheFlatLayersFirst) {
    ScanResult scan;
    scan.dense_accuracy = 0.9;
    for (double s : {0.25, 0.5, 0.75}) {
        scan.points.push_back({"fc1", s, 0, 0.9 - 0.4 * s});  // sensitive
        scan.points.push_back({"fc2", s, 0, 0.9});            // flat
    }
    const auto full = nn::models::pruned_arch_of("lenet300");
    nn::models::PrunedArch a = full;
    a.widths = sensitivity_widths(full, scan, 0.6);
    EXPECT_EQ(a.widths[1], 25);  // fc2 at its sparsest scanned point
    EXPECT_LT(a.widths[0], 300);
    EXPECT_LE(nn::models::pruned_macs(a), 0.6 * double(nn::models::pruned_macs(full)));
    EXPECT_THROW(sensitivity_widths(full, scan, 0.05), InputError);  // below the sparsest scanned widths
    scan.points.push_back({"conv1", 0.5, 0, 0.9});
    EXPECT_THROW(sensitivity_widths(full, scan, 0.6), InputError);  // not a lenet300 layer
}

TEST(ChannelScan, CsvRoundTripsAndHostileCsvIsRefused) {
    const std::string dir = ::testing::TempDir(), path = dir + "/chprune_scan.csv";
    ScanResult r;
    r.dense_accuracy = 0.75;
    r.points = {{"fc1", 0.5, 150, 0.5}, {"fc2", 0.9, 10, 0.25}};
    write_scan(path, r);
    const ScanResult back = read_scan_csv(path);
    EXPECT_EQ(back.dense_accuracy, 0.75);
    ASSERT_EQ(back.points.size(), 2u);
    EXPECT_EQ(back.points[1].layer, "fc2");
    EXPECT_EQ(back.points[1].kept, 10);
    for (const char* bad : {"", "layer,x\n", "layer,sparsity,channels_kept,accuracy\nfc1,0.5,3,0.5\n",
                            "layer,sparsity,channels_kept,accuracy\ndense,0,,0.9\nfc1,nan,3,0.5\n",
                            "layer,sparsity,channels_kept,accuracy\ndense,0,,0.9\nfc1,0.5,3\n",
                            "layer,sparsity,channels_kept,accuracy\ndense,0,,0.9\nfc1,2,3,0.5\n"}) {
        std::ofstream(path, std::ios::trunc) << bad;
        EXPECT_THROW(read_scan_csv(path), InputError) << bad;
    }
}
