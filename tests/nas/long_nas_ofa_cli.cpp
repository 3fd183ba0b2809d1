// `tern search --strategy ofa` end to end at a tiny scale: one supernet
// trained (two steps per shrinking phase) and saved with --supernet, a second
// budget served from the same file without training, and the found subnet
// taken by `tern eval` (same test accuracy as the search reported) and,
// exported to ONNX, by `tern bench`. Long: a supernet training and three
// evaluations (on the first 1,000 test images: the plumbing is under test here).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"

namespace {

std::string ofa_long_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-ofa-long-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

}  // namespace

TEST(OfaCliLong, OneSupernetServesTwoBudgetsAndTheSubnetIsAnOrdinaryModel) {
    REQUIRE_FASHION();
    const std::string dir = ofa_long_dir(), super = dir + "/super.safetensors", data = dir + "/data";
    std::filesystem::create_directories(data);
    tern::testdata::write_fashion_mnist_with_test_subset(data, 1000);
    const std::string common = " --strategy ofa --data fashion-mnist --data-dir " + data +
                               " --epochs 1 --ofa-steps 2 --train-subset 200 --max-evals 3 --seed 2 -t 2 --json --supernet " + super;
    const auto first = tern::testcli::run_tern("search mobilenet --macs 20000000" + common + " -o " + dir + "/a.safetensors");
    ASSERT_EQ(first.code, 0) << first.all();
    const auto j1 = nlohmann::json::parse(first.out);
    EXPECT_FALSE(j1["supernet_reused"].get<bool>());
    ASSERT_EQ(j1["phases"].size(), 4u);
    EXPECT_LE(j1["macs"].get<int64_t>(), 20000000);
    EXPECT_TRUE(std::filesystem::exists(super));

    const auto second = tern::testcli::run_tern("search mobilenet --macs 14000000" + common + " -o " + dir + "/b.safetensors");
    ASSERT_EQ(second.code, 0) << second.all();
    const auto j2 = nlohmann::json::parse(second.out);
    EXPECT_TRUE(j2["supernet_reused"].get<bool>());
    EXPECT_EQ(j2["supernet_train_cpu_hours"].get<double>(), 0.0);
    EXPECT_LE(j2["macs"].get<int64_t>(), 14000000);

    EXPECT_EQ(j2["test_images"].get<int64_t>(), 1000);
    const auto e = tern::testcli::run_tern("eval " + dir + "/b.safetensors --data fashion-mnist --data-dir " + data + " --json -t 2");
    ASSERT_EQ(e.code, 0) << e.all();
    EXPECT_NEAR(nlohmann::json::parse(e.out)["accuracy"].get<double>(), j2["test_accuracy"].get<double>(), 1e-9);
    // `tern bench` times graphs: the subnet exports to ONNX like any found model.
    const auto x = tern::testcli::run_tern("export " + dir + "/b.safetensors -o " + dir + "/b.onnx");
    ASSERT_EQ(x.code, 0) << x.all();
    const auto b = tern::testcli::run_tern("bench " + dir + "/b.onnx -t 1");
    EXPECT_EQ(b.code, 0) << b.all();
    EXPECT_NE(b.out.find("median ms"), std::string::npos) << b.all();

    // Another split would let the supernet's training images into validation: refused.
    const auto other = tern::testcli::run_tern("search mobilenet --macs 20000000 --strategy ofa --epochs 1 --train-subset 300 --seed 2 "
                                               "-t 1 --supernet " + super + " -o " + dir + "/c.safetensors");
    EXPECT_EQ(other.code, 1) << other.all();
    EXPECT_NE(other.all().find("was trained with --train-subset 200"), std::string::npos) << other.all();
    // 60,000 parameters: some width-0.5 architectures fit, no subnet of the width-1.0 supernet does.
    const auto budget = tern::testcli::run_tern("search mobilenet --strategy ofa --params 60000 --train-subset 100 -t 1 -o " + dir + "/d.safetensors");
    EXPECT_EQ(budget.code, 1) << budget.all();
    EXPECT_NE(budget.all().find("no subnet of the 'mobilenet' supernet meets it"), std::string::npos) << budget.all();
    EXPECT_FALSE(std::filesystem::exists(dir + "/d.safetensors"));
    std::filesystem::remove_all(dir);
}
