#pragma once
// Options shared by the commands that run a language model (generate, chat):
// the MODEL argument, sampling, context length, KV cache type and threads.
// Registered in one place so both commands spell, default and check them alike.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "llm/forward.h"
#include "llm/model_loader.h"
#include "llm/sampling.h"

namespace tern::cli {

struct LlmRunOptions {
    std::string model;
    llm::SamplerParams sp;
    int64_t ctx = 0;         // 0: the model's, at most llm::kDefaultMaxCtx
    std::string kv = "f16";  // as llama.cpp
    std::string fpmath = "auto";
    int threads = 0;
};

// --fpmath auto|exact|bf16 (generate, chat, perplexity, eval, bench): how f32 / f16 weights
// are multiplied, see ops/linear.h.
void add_fpmath_option(CLI::App& cmd, std::string& fpmath);
// The load options for --fpmath's value; UsageError naming the option otherwise.
llm::LoadOptions load_options_for(const std::string& fpmath);

// Adds the required MODEL positional, --temp --top-k --top-p --min-p
// --repeat-penalty --repeat-last-n --seed, -c/--ctx, --kv, --fpmath and -t/--threads.
void add_llm_run_options(CLI::App& cmd, LlmRunOptions& o);

// Applies -t and checks --kv, --fpmath and the sampling values (UsageError naming the
// option, before any model is loaded); returns the session options.
llm::SessionOptions prepare_llm_run(const LlmRunOptions& o);

inline double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace tern::cli
