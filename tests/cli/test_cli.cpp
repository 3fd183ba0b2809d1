// The tern program's contract: exit 0 on success, 1 on bad input with one line
// naming the problem, 2 on bad usage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "cli/cli_runner.h"

namespace {

using namespace tern;

testcli::RunResult cli_run_tern(const std::string& args) {
    testcli::RunResult r = testcli::run_tern(args);
    r.out = r.all();  // these checks look at both streams together
    return r;
}

TEST(Cli, UsageErrorsExitTwo) {
    EXPECT_EQ(cli_run_tern("").code, 2);
    EXPECT_EQ(cli_run_tern("no-such-command").code, 2);
    EXPECT_EQ(cli_run_tern("info --no-such-flag").code, 2);
    EXPECT_EQ(cli_run_tern("formats --synthetic cauchy").code, 2);
}

TEST(Cli, MissingFileExitsOneNamingIt) {
    const auto r = cli_run_tern("info /nonexistent/model.gguf");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("/nonexistent/model.gguf"), std::string::npos) << r.out;
}

TEST(Cli, InfoCpuJson) {
    const auto r = cli_run_tern("info --cpu --json");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"isa_active\""), std::string::npos);
}

TEST(Cli, FormatsSyntheticTable) {
    const auto r = cli_run_tern("formats --synthetic laplace --n 4096 --json");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"sqnr_db\""), std::string::npos);
}

}  // namespace

namespace {

TEST(Cli, BenchKernelsJsonHasTheDocumentedKeys) {
    const auto r = cli_run_tern("bench --kernels --quick -t 1 --json");
    ASSERT_EQ(r.code, 0) << r.out;
    for (const char* key : {"\"kernel\"", "\"isa\"", "\"dtype\"", "\"threads\"", "\"gbps\"", "\"gops\"", "\"peak_fraction\""})
        EXPECT_NE(r.out.find(key), std::string::npos) << key;
    EXPECT_EQ(cli_run_tern("bench --kernels -t 0").code, 2);
}

// tern bench MODEL --json on the embedded language model: the documented keys,
// and with --roofline a probed bandwidth and a decode fraction of it.
TEST(Cli, BenchModelJsonReportsSpeedAndRoofline) {
    const std::string model = std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf";
    const auto r = cli_run_tern("bench " + model + " --prompt 8 --gen 4 --reps 1 -t 1 --roofline --json");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    for (const char* key : {"model", "threads", "prompt", "gen", "prefill_tps", "decode_tps", "ttft_ms", "peak_rss_mb",
                            "decode_weight_bytes", "read_gbps", "decode_roofline"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j["decode_tps"].get<double>(), 0);
    EXPECT_GT(j["read_gbps"].get<double>(), 0);
    // 4 layers of 256 x (256 + 128 + 128 + 256 + 3 x 768) plus the tied 4096 x 256 head, all f16.
    EXPECT_EQ(j["decode_weight_bytes"].get<uint64_t>(), uint64_t{2} * (4 * 256 * (768 + 3 * 768) + 4096 * 256));
    // One repetition: the fraction is exactly bytes per token x tok/s / probed bandwidth.
    // (A 4 MB model decodes from cache, so the fraction itself may exceed 1, and
    // by how much depends on what else loads the machine: no bound on it.)
    const double roof = j["decode_roofline"].get<double>();
    const double gbps = j["read_gbps"].get<double>();
    EXPECT_GT(gbps, 1.0);
    EXPECT_LT(gbps, 5000.0);  // GB/s, not bytes/s or MB/s
    EXPECT_NEAR(roof, j["decode_weight_bytes"].get<double>() * j["decode_tps"].get<double>() / 1e9 / gbps, 1e-9 * roof);
    EXPECT_EQ(cli_run_tern("bench " + model + " --reps 0").code, 2);
}

}  // namespace
