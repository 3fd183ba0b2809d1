#pragma once
// The whole `tern` command line, built apart from main() so the fuzz target
// (fuzz/fuzz_cli.cpp) can parse arguments in-process.
#include <CLI/CLI.hpp>

namespace tern::cli {

// Adds every subcommand with its options and callback (parse() runs the chosen
// one), requires exactly one subcommand and sets --version.
void build_app(CLI::App& app);

}  // namespace tern::cli
