// The tern program's contract: exit 0 on success, 1 on bad input with one line
// naming the problem, 2 on bad usage.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct RunResult {
    int code;
    std::string output;
};

RunResult run_tern(const std::string& args) {
    const std::string cmd = std::string(TERN_BINARY_PATH) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
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
    EXPECT_NE(r.output.find("/nonexistent/model.gguf"), std::string::npos) << r.output;
}

TEST(Cli, InfoCpuJson) {
    const auto r = run_tern("info --cpu --json");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"isa_active\""), std::string::npos);
}

TEST(Cli, FormatsSyntheticTable) {
    const auto r = run_tern("formats --synthetic laplace --n 4096 --json");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"sqnr_db\""), std::string::npos);
}

}  // namespace

namespace {

TEST(Cli, BenchKernelsJsonHasTheDocumentedKeys) {
    const auto r = run_tern("bench --kernels --quick -t 1 --json");
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char* key : {"\"kernel\"", "\"isa\"", "\"dtype\"", "\"threads\"", "\"gbps\"", "\"gops\"", "\"peak_fraction\""})
        EXPECT_NE(r.output.find(key), std::string::npos) << key;
    EXPECT_EQ(run_tern("bench --kernels -t 0").code, 2);
}

}  // namespace
