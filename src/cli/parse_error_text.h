#pragma once
// The one line `tern` prints for a command line CLI11 rejects.
#include <CLI/CLI.hpp>
#include <string>

namespace tern::cli {

// CLI11's message, except where it misleads: for `tern frobnicate` CLI11 says
// "A subcommand is required"; this says "unknown subcommand 'frobnicate'" and
// lists the ones there are.
std::string parse_error_text(const CLI::App& app, const CLI::ParseError& e, int argc, const char* const* argv);

}  // namespace tern::cli
