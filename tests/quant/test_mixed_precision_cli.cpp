// tern quantize M -o OUT.onnx --method mixed: per-layer widths within the
// budget, a Pareto table and PNG; bad
// budgets and options: one error line, exit 1 (input) or 2 (usage), no output.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "interop/export_test_util.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

std::string lenet300() { return testinterop::model_path("fmnist-lenet300"); }

TEST(MixedPrecisionCli, LeNet300AtFourBitsFitsTheBudgetWithAParetoTable) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    testio::TempDir dir;
    const std::string out = dir.file("mixed.onnx"), png = dir.file("pareto.png");
    const auto q = testcli::run_tern("quantize " + lenet300() + " -o " + out +
                                     " --method mixed --avg-bits 4 --calib fashion-mnist:train:64 --val-images 200 --pareto-png " +
                                     png + " --json");
    ASSERT_EQ(q.code, 0) << q.all();
    const auto j = nlohmann::json::parse(q.out);
    const int64_t weights = 784 * 300 + 300 * 100 + 100 * 10;
    EXPECT_EQ(j.at("total_weights"), weights);
    EXPECT_EQ(j.at("budget_bytes").get<int64_t>(), weights * 4 / 8);
    EXPECT_LE(j.at("chosen").at("bytes").get<int64_t>(), j.at("budget_bytes").get<int64_t>());
    EXPECT_EQ(j.at("validation_images"), 200);
    ASSERT_EQ(j.at("layers").size(), 3u);
    for (const auto& l : j.at("layers")) {
        const int b = l.at("bits");
        EXPECT_TRUE(b == 8 || b == 6 || b == 4 || b == 2) << b;
        EXPECT_EQ(l.at("loss_increase").size(), 4u);
    }
    EXPECT_EQ(j.at("integer_ops").at("gemm"), 3);
    bool uniform4 = false, front = false;
    for (const auto& p : j.at("points")) {
        uniform4 = uniform4 || (p.at("label") == "uniform" && p.at("bits") == std::vector<int>{4, 4, 4});
        front = front || p.at("pareto").get<bool>();
    }
    EXPECT_TRUE(uniform4) << "the uniform widths are points of the table";
    EXPECT_TRUE(front);
    EXPECT_GT(std::filesystem::file_size(png), 1000u);
    EXPECT_GT(std::filesystem::file_size(out), 100000u);  // integer-only runs of the file: test_mixed_precision.cpp
    EXPECT_GT(j.at("chosen").at("val_accuracy").get<double>(), 0.8);  // fp32: 89.86 % on test
}

struct BadBudget {
    const char* name;
    std::string args;
    int code;
    const char* says;
};

TEST(MixedPrecisionCli, BadBudgetsAndOptionsFailCleanlyWithoutOutput) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    testio::TempDir dir;
    const BadBudget cases[] = {
        {"below all-2-bit", "--method mixed --avg-bits 1", 1, "below the smallest model"},
        {"size below all-2-bit", "--method mixed --size-kb 10", 1, "below the smallest model"},
        {"below all-4-bit choices", "--method mixed --avg-bits 3 --bit-choices 8,4", 1, "every layer at 4 bits"},
        {"no budget", "--method mixed", 2, "one budget"},
        {"two budgets", "--method mixed --avg-bits 4 --size-kb 100", 2, "one budget"},
        {"negative bits", "--method mixed --avg-bits -2", 2, "(0, 32]"},
        {"huge bits", "--method mixed --avg-bits 1e300", 2, "(0, 32]"},
        {"nan size", "--method mixed --size-kb nan", 2, "--size-kb"},
        {"odd width", "--method mixed --avg-bits 4 --bit-choices 8,5", 2, "8, 6, 4 or 2"},
        {"not a list", "--method mixed --avg-bits 4 --bit-choices eight", 2, "comma list"},
        {"budget without mixed", "--method minmax --avg-bits 4", 2, "--method mixed only"},
        {"weights with mixed", "--method mixed --avg-bits 4 --weights int4", 2, "does not combine"},
    };
    for (const BadBudget& c : cases) {
        const std::string out = dir.file(std::string(c.name) + ".onnx"), png = dir.file(std::string(c.name) + ".png");
        const auto r = testcli::run_tern("quantize " + lenet300() + " -o '" + out + "' --calib fashion-mnist:train:16 " + c.args +
                                         " --pareto-png '" + png + "'");
        EXPECT_EQ(r.code, c.code) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": one line\n" << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
        EXPECT_FALSE(std::filesystem::exists(png)) << c.name;
    }
}

}  // namespace
}  // namespace tern
