// The latency table's mechanics: keys, caching, the file round trip and bad
// files. Timing values are not checked (the machine is shared).
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "hw/latency_table.h"
#include "io/io_test_util.h"

namespace tern::hw {
namespace {

LayerConfig conv(int64_t c, int64_t o, int64_t k, int64_t s, int64_t h) {
    return LayerConfig{LayerKind::conv, c, o, k, s, h, 1, -1};
}

TEST(LatencyTable, KeysNameEveryFieldAndResolveSamePadding) {
    EXPECT_EQ(config_key(conv(16, 24, 3, 2, 28)), "conv/i16/o24/k3/s2/p1/h28/e1");
    LayerConfig explicit_pad = conv(16, 24, 3, 2, 28);
    explicit_pad.pad = 1;
    EXPECT_EQ(config_key(explicit_pad), config_key(conv(16, 24, 3, 2, 28)));
    const std::string base = config_key(conv(16, 24, 3, 2, 28));
    EXPECT_NE(config_key(conv(8, 24, 3, 2, 28)), base);
    EXPECT_NE(config_key(conv(16, 32, 3, 2, 28)), base);
    EXPECT_NE(config_key(conv(16, 24, 5, 2, 28)), base);
    EXPECT_NE(config_key(conv(16, 24, 3, 1, 28)), base);
    EXPECT_NE(config_key(conv(16, 24, 3, 2, 14)), base);
    LayerConfig mb{LayerKind::mbconv, 16, 24, 3, 2, 28, 4, -1};
    EXPECT_EQ(config_key(mb), "mbconv/i16/o24/k3/s2/p1/h28/e4");
    mb.expansion = 6;
    EXPECT_EQ(config_key(mb), "mbconv/i16/o24/k3/s2/p1/h28/e6");
    EXPECT_EQ(parse_layer_kind("dwconv"), LayerKind::dwconv);
    EXPECT_FALSE(parse_layer_kind("conv3d"));
}

TEST(LatencyTable, RefusesConfigsOutsideTheTable) {
    EXPECT_THROW(config_key(conv(16, 24, 0, 1, 28)), InputError);
    EXPECT_THROW(config_key(conv(16, 24, 3, 9, 28)), InputError);
    EXPECT_THROW(config_key(LayerConfig{LayerKind::conv, 16, 24, 7, 1, 2, 1, 0}), InputError);  // window > padded input
    EXPECT_THROW(config_key(LayerConfig{LayerKind::dwconv, 16, 24, 3, 1, 28, 1, -1}), InputError);
    EXPECT_THROW(config_key(LayerConfig{LayerKind::linear, 16, 24, 1, 1, 7, 1, -1}), InputError);
    EXPECT_THROW(config_key(LayerConfig{LayerKind::mbconv, 16, 24, 3, 1, 28, 9, -1}), InputError);
    EXPECT_EQ(conv(16, 24, 3, 2, 28).out_size(), 14);
    EXPECT_EQ((LayerConfig{LayerKind::maxpool, 6, 6, 2, 2, 28, 1, 0}.out_size()), 14);
}

TEST(LatencyTable, MeasuresEveryKindOnceThenReadsTheCache) {
    LatencyTable t("test cpu");
    const MeasureOptions quick{0, 1};
    const std::vector<LayerConfig> tiny = {
        conv(2, 3, 3, 1, 5),
        {LayerKind::dwconv, 4, 4, 3, 2, 6, 1, -1},
        {LayerKind::linear, 8, 4, 1, 1, 1, 1, -1},
        {LayerKind::gemm, 8, 4, 1, 1, 1, 1, -1},
        {LayerKind::maxpool, 2, 2, 2, 2, 4, 1, 0},
        {LayerKind::avgpool, 2, 2, 3, 1, 4, 1, -1},
        {LayerKind::global_avgpool, 3, 3, 1, 1, 4, 1, -1},
        {LayerKind::add, 3, 3, 1, 1, 4, 1, -1},
        {LayerKind::relu, 3, 3, 1, 1, 4, 1, -1},
        {LayerKind::mbconv, 4, 4, 3, 1, 6, 2, -1},  // with the residual add
        {LayerKind::mbconv, 4, 6, 5, 2, 6, 1, -1},  // no expansion, no residual
    };
    for (const LayerConfig& c : tiny) EXPECT_GT(t.lookup_or_measure(c, quick), 0) << config_key(c);
    EXPECT_EQ(t.measured(), static_cast<int>(tiny.size()));
    EXPECT_EQ(t.size(), tiny.size());
    const double first = *t.find(tiny[0]);
    EXPECT_EQ(t.lookup_or_measure(tiny[0], quick), first);
    EXPECT_EQ(t.measured(), static_cast<int>(tiny.size()));  // the cached entry, no new measurement
}

TEST(LatencyTable, FileRoundTripKeepsEveryCpu) {
    testio::TempDir dir;
    const std::string path = dir.file("table.json");
    LatencyTable a("cpu A");
    a.set(conv(16, 24, 3, 2, 28), 123.5);
    a.set(LayerConfig{LayerKind::linear, 300, 100, 1, 1, 1, 1, -1}, 7.25);
    a.save(path);
    LatencyTable b = LatencyTable::load(path, "cpu B");
    EXPECT_EQ(b.size(), 0u);  // another CPU's entries are not this one's
    b.set(conv(16, 24, 3, 2, 28), 99);
    b.save(path);
    const LatencyTable a2 = LatencyTable::load(path, "cpu A");
    EXPECT_EQ(a2.size(), 2u);
    EXPECT_EQ(a2.find(conv(16, 24, 3, 2, 28)), 123.5);
    EXPECT_EQ(a2.find(LayerConfig{LayerKind::linear, 300, 100, 1, 1, 1, 1, -1}), 7.25);
    EXPECT_EQ(LatencyTable::load(path, "cpu B").find(conv(16, 24, 3, 2, 28)), 99);
    EXPECT_EQ(LatencyTable::load(dir.file("absent.json"), "cpu A").size(), 0u);
}

TEST(LatencyTable, BadFilesAreInputErrorsNamingTheFile) {
    testio::TempDir dir;
    const std::string path = dir.file("bad.json");
    const std::string bodies[] = {
        "{not json",
        "[]",
        R"({"format": "something else", "version": 1, "cpus": {}})",
        R"({"format": "tern-latency-table", "version": 2, "cpus": {}})",
        R"({"format": "tern-latency-table", "version": 1})",
        R"({"format": "tern-latency-table", "version": 1, "cpus": {"x": [1]}})",
        R"({"format": "tern-latency-table", "version": 1, "cpus": {"x": {"conv/i1": -3}}})",
        R"({"format": "tern-latency-table", "version": 1, "cpus": {"x": {"conv/i1": "fast"}}})",
    };
    for (const std::string& body : bodies) {
        std::ofstream(path) << body;
        try {
            LatencyTable::load(path, "x");
            ADD_FAILURE() << "accepted: " << body;
        } catch (const InputError& e) {
            EXPECT_EQ(e.where(), path) << body;
        }
    }
}

TEST(LatencyTable, PredictionIsTheSumPlusTheFittedOverhead) {
    LatencyTable t("cpu");
    const LayerConfig a = conv(16, 24, 3, 2, 28), b{LayerKind::relu, 24, 24, 1, 1, 14, 1, -1};
    t.set(a, 100);
    t.set(b, 5);
    EXPECT_DOUBLE_EQ(predict_latency_us({a, b, b}, t), 110);
    EXPECT_DOUBLE_EQ(predict_latency_us({a}, t, 20), 120);
    EXPECT_EQ(t.measured(), 0);
    // The median of measured - predicted: one outlier does not move it.
    EXPECT_DOUBLE_EQ(fit_overhead_us({{100, 110}, {200, 212}, {50, 500}}), 12);
    EXPECT_DOUBLE_EQ(fit_overhead_us({}), 0);
    EXPECT_DOUBLE_EQ(fit_scale({{100, 150}, {200, 320}, {10, 100}}), 1.6);
    EXPECT_DOUBLE_EQ(fit_scale({}), 1);
}

}  // namespace
}  // namespace tern::hw
