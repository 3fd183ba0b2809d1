#pragma once
// Range checks for numeric command-line options. Each rejects a value outside
// its range while the command line is parsed (exit 2), with a message that
// names the option and states the range: "--ctx: 0 is outside [1, 1048576]".
#include <CLI/CLI.hpp>
#include <cstdint>

namespace tern::cli {

// The largest context (tokens) any command accepts: past it a value is a typo,
// and its KV cache would not fit a CPU's memory for any real model anyway.
constexpr int64_t kMaxCtx = int64_t{1} << 20;
// Upper bound for token counts and repetitions that only cost time.
constexpr int64_t kMaxCount = int64_t{1} << 30;

// An integer in [lo, hi].
CLI::Validator int_range(int64_t lo, int64_t hi);
// A finite real number in [lo, hi], or in (lo, hi] when open_low.
CLI::Validator real_range(double lo, double hi, bool open_low = false);
// A random seed: an integer in [0, 2^64 - 1]. CLI11 alone turns "-1" into 2^64 - 1.
CLI::Validator seed_range();

}  // namespace tern::cli
