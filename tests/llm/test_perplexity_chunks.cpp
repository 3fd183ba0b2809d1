// `tern perplexity --chunks N` with N * --ctx beyond 64 bits used to wrap:
// 2^61+1 windows of 8 tokens became 8 tokens (one window scored, exit 0) and
// 2^60 windows a negative size (internal error). Now a usage error naming
// --chunks; ordinary values still cap the windows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

using testcli::run_tern;

// Counts whose product with --ctx passes 64 bits once scored one window with
// exit 0 or died in vector::_M_default_append; --chunks now has a range, and
// the product is checked arithmetic behind it.
TEST(PerplexityChunks, ProductsBeyond64BitsAreUsageErrors) {
    testio::TempDir dir;
    const std::string model = dir.file("m.gguf"), tokens = dir.file("tokens.txt");
    ASSERT_EQ(run_tern("synth --shape llama-tiny --type q8_0 -o " + model).code, 0);
    std::string ids;
    for (int i = 0; i < 40; ++i) ids += std::to_string(1 + i * 37 % 4000) + " ";
    testio::write_bytes(tokens, std::vector<uint8_t>(ids.begin(), ids.end()));
    const std::string base = "perplexity " + model + " --tokens-file " + tokens + " --ctx 8 --json --chunks ";
    for (const char* chunks : {"2305843009213693953", "1152921504606846976", "9223372036854775807"}) {
        const auto r = run_tern(base + chunks);
        EXPECT_EQ(r.code, 2) << chunks << ": " << r.out << r.err;
        EXPECT_NE(r.err.find("--chunks: " + std::string(chunks) + " is outside [1, 1073741824]"), std::string::npos)
            << r.err;
        EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    }
    const auto two = run_tern(base + "2");
    ASSERT_EQ(two.code, 0) << two.err;
    EXPECT_EQ(nlohmann::json::parse(two.out)["windows"], 2);
    const auto all = run_tern(base + "1000");  // more windows than the text has: all 5
    ASSERT_EQ(all.code, 0) << all.err;
    EXPECT_EQ(nlohmann::json::parse(all.out)["windows"], 5);
}

}  // namespace
}  // namespace tern
