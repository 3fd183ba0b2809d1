// Every numeric option has a range: a value outside it is a usage error (exit 2)
// while the command line is parsed, one stderr line naming the option and the
// range, nothing on stdout. Also: an unknown subcommand is named as such.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cli/cli_runner.h"

namespace {

using tern::testcli::run_tern;

int cli_option_ranges_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

struct BadOption {
    std::string args;    // after `tern`
    std::string option;  // the option the message names
    std::string range;   // the allowed range it states
};

TEST(CliOptionRanges, EveryNumericOptionRejectsOutOfRangeWithItsRange) {
    // Parsing stops at the bad value, so no model is ever loaded: the paths need not exist.
    const std::string gen = "generate m.gguf --tokens 1 ", chat = "chat m.gguf ", ppl = "perplexity m.gguf --tokens-file t ";
    const BadOption rows[] = {
        {gen + "--ctx 0", "--ctx", "[1, 1048576]"},
        {gen + "--ctx -5", "--ctx", "[1, 1048576]"},
        {gen + "--ctx 1e9", "--ctx", "[1, 1048576]"},
        {gen + "--ctx 2.5", "--ctx", "[1, 1048576]"},
        {gen + "--seed -1", "--seed", "[0, 18446744073709551615]"},
        {gen + "-n -1", "-n", "[0, 1073741824]"},
        {gen + "--temp -1", "--temp", "[0, 100]"},
        {gen + "--temp nan", "--temp", "[0, 100]"},
        {gen + "--temp inf", "--temp", "[0, 100]"},
        {gen + "--top-k -3", "--top-k", "[0, 1073741824]"},
        {gen + "--top-p 0", "--top-p", "(0, 1]"},
        {gen + "--top-p 1.5", "--top-p", "(0, 1]"},
        {gen + "--min-p 2", "--min-p", "[0, 1]"},
        {gen + "--min-p -0.1", "--min-p", "[0, 1]"},
        {gen + "--repeat-penalty 0", "--repeat-penalty", "(0, 100]"},
        {gen + "--repeat-last-n -1", "--repeat-last-n", "[0, 1073741824]"},
        {gen + "-t 0", "--threads", "1 to 1024"},
        {chat + "-n 0", "-n", "[1, 1073741824]"},
        {chat + "--ctx 0", "--ctx", "[1, 1048576]"},
        {chat + "--seed -1", "--seed", "[0, 18446744073709551615]"},
        {ppl + "--chunks 0", "--chunks", "[1, 1073741824]"},
        {ppl + "--chunks -1", "--chunks", "[1, 1073741824]"},
        {ppl + "--ctx 2", "--ctx", "[4, 1048576]"},
        {ppl + "--ctx 1e9", "--ctx", "[4, 1048576]"},
        {"eval m.gguf --ctx 1", "--ctx", "[4, 1048576]"},
        {"eval m.gguf --chunks 0", "--chunks", "[1, 1073741824]"},
        {"bench m.gguf --prompt 0", "--prompt", "[1, 1048576]"},
        {"bench m.gguf --gen -1", "--gen", "[1, 1048576]"},
        {"bench m.gguf --reps 0", "--reps", "[1, 1000]"},
        {"bench --kernels -t 0", "--threads", "[1, 1024]"},
        {"formats --synthetic gaussian --max-elements -1", "--max-elements", "[256, 1099511627776]"},
        {"formats --synthetic gaussian --max-elements 100", "--max-elements", "[256, 1099511627776]"},
        {"formats --synthetic gaussian --n 0", "--n", "[1, 268435456]"},
        {"formats --synthetic gaussian --seed -1", "--seed", "[0, 18446744073709551615]"},
        {"train r.json --epochs 0", "--epochs", "[1, 100000]"},
        {"train r.json --checkpoint-minutes -1", "--checkpoint-minutes", "[0, 10080]"},
        {"train r.json --checkpoint-minutes nan", "--checkpoint-minutes", "[0, 10080]"},
        {"train r.json --checkpoint-minutes 1e9", "--checkpoint-minutes", "[0, 10080]"},
        {"synth -o s.gguf --seed -1", "--seed", "[0, 18446744073709551615]"},
        {"quantize m.gguf -o q.gguf --format q8_0 -t 0", "--threads", "1 to 1024"},
    };
    for (const BadOption& row : rows) {
        const auto r = run_tern(row.args);
        EXPECT_EQ(r.code, 2) << row.args << ": " << r.err;
        EXPECT_EQ(cli_option_ranges_lines(r.err), 1) << row.args << ": " << r.err;
        EXPECT_EQ(r.out, "") << row.args;
        EXPECT_NE(r.err.find(row.option), std::string::npos) << row.args << ": " << r.err;
        EXPECT_NE(r.err.find(row.range), std::string::npos) << row.args << ": " << r.err;
    }
}

TEST(CliOptionRanges, ValuesAtTheEdgesOfTheRangeAreAccepted) {
    const auto r = run_tern("formats --synthetic gaussian --n 256 --max-elements 256 --seed 18446744073709551615 --json");
    EXPECT_EQ(r.code, 0) << r.err;
}

TEST(CliOptionRanges, UnknownSubcommandIsNamed) {
    const auto r = run_tern("frobnicate");
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(cli_option_ranges_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("generate"), std::string::npos) << r.err;  // lists the real ones
    const auto with_args = run_tern("frobnicate --ctx 3 model.gguf");
    EXPECT_EQ(with_args.code, 2);
    EXPECT_NE(with_args.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << with_args.err;
    // No subcommand at all keeps CLI11's message.
    const auto none = run_tern("");
    EXPECT_EQ(none.code, 2);
    EXPECT_NE(none.err.find("subcommand is required"), std::string::npos) << none.err;
}

}  // namespace
