#pragma once
// One function per subcommand; each adds its CLI11 subcommand and callback.
// Callbacks throw tern::Error subclasses; main() turns them into exit codes.
#include <CLI/CLI.hpp>

namespace tern::cli {

void add_info_command(CLI::App& app);
void add_formats_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_perplexity_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_search_command(CLI::App& app);
void add_prune_command(CLI::App& app);
void add_cost_command(CLI::App& app);
// tern info MODEL.onnx (cmd_run.cpp): op histogram, parameters, inputs and outputs.
void print_onnx_info(const std::string& path, bool json, const std::string& shape = "");

// Adds -t/--threads to a subcommand; the value is applied before the callback.
void add_threads_option(CLI::App& cmd, int& threads);
void apply_threads(int threads);

}  // namespace tern::cli
