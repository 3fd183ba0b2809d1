// The tern program's contract: exit 0 on success, 1 on bad input with one line
// naming the problem, 2 on bad usage.
#include <gtest/gtest.h>

#include <string>

#include "cli/cli_runner.h"

namespace {

using namespace tern;
using testcli::RunResult;

RunResult run_tern(const std::string& args) {
    RunResult r = testcli::run_tern(args);
    r.out = r.all();  // these checks look at both streams together
    return r;
}

TEST(Cli, UsageErrorsExitTwo) {
    EXPECT_EQ(run_tern("").code, 2);
    EXPECT_EQ(run_tern("no-such-command").code, 2);
    EXPECT_EQ(run_tern("info --no-such-flag").code, 2);
    EXPECT_EQ(run_tern("formats --synthetic cauchy").code, 2);
}

TEST(Cli, MissingFileExitsOneNamingIt) {
    const auto r = run_tern("info /nonexistent/model.gguf");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("/nonexistent/model.gguf"), std::string::npos) << r.out;
}

TEST(Cli, InfoCpuJson) {
    const auto r = run_tern("info --cpu --json");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"isa_active\""), std::string::npos);
}

TEST(Cli, FormatsSyntheticTable) {
    const auto r = run_tern("formats --synthetic laplace --n 4096 --json");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"sqnr_db\""), std::string::npos);
}

}  // namespace

namespace {

TEST(Cli, BenchKernelsJsonHasTheDocumentedKeys) {
    const auto r = run_tern("bench --kernels --quick -t 1 --json");
    ASSERT_EQ(r.code, 0) << r.out;
    for (const char* key : {"\"kernel\"", "\"isa\"", "\"dtype\"", "\"threads\"", "\"gbps\"", "\"gops\"", "\"peak_fraction\""})
        EXPECT_NE(r.out.find(key), std::string::npos) << key;
    EXPECT_EQ(run_tern("bench --kernels -t 0").code, 2);
}

}  // namespace
