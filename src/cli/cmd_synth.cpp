// tern synth --shape tinyllama-1.1b --type q4_0 -o model.gguf [--seed N]
// Writes a random-weight Llama GGUF of a real shape, for speed measurements.
#include <cstdio>

#include "cli/commands.h"
#include "cli/option_ranges.h"
#include "core/error.h"
#include "core/output_path.h"
#include "core/table.h"
#include "llm/synthetic_model.h"

namespace tern::cli {

void add_synth_command(CLI::App& app) {
    struct Options {
        std::string shape = "llama-tiny", type = "f16", output;
        uint64_t seed = 1;
        int threads = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("synth", "Write a random-weight Llama GGUF of a real shape (for benchmarks)");
    cmd->add_option("--shape", o->shape, "tinyllama-1.1b | llama-tiny");
    cmd->add_option("--type", o->type, "weight type: f32, f16, bf16, q8_0, q4_0, q4_k, … (GGUF types)");
    cmd->add_option("-o,--output", o->output, "output .gguf")->required();
    cmd->add_option("--seed", o->seed, "random seed")->check(seed_range());
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] {
        apply_threads(o->threads);
        const auto dtype = dtype_from_name(o->type);
        if (!dtype) throw UsageError("--type", "unknown type '" + o->type + "'");
        const auto& shape = llm::synthetic_shape(o->shape);
        check_output_path(o->output);
        const uint64_t params = llm::write_synthetic_llama(o->output, shape, *dtype, o->seed);
        std::printf("%s: %s, %s parameters, weights %s\n", o->output.c_str(), shape.name.c_str(),
                    fmt_count(double(params)).c_str(), o->type.c_str());
    });
}

}  // namespace tern::cli
