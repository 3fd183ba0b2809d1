#pragma once
// `tern bench MODEL`: prefill and decode speed of the LLM runtime, measured the
// way llama-bench does (pp N: one batch of N prompt tokens; tg N: N single-token
// decode steps from an empty cache), plus time to first token and peak resident
// memory.
#include <string>
#include <vector>

#include "core/json_out.h"

namespace tern::cli {

struct LlmBenchOptions {
    std::string model;
    int prompt = 512;
    int gen = 128;
    int reps = 3;
    std::string kv = "f16";
    std::string fpmath = "auto";  // --fpmath
    // Probe the read bandwidth after every decode repetition and report the
    // decode speed as a fraction of that roofline.
    bool roofline = false;
    // Independent sequences decoded together (llama-batched-bench's -npl): each
    // gets the prompt, then every decode step evaluates one token of each in
    // one forward pass. Tokens/s are aggregate over the sequences.
    std::vector<int> parallel{1};
};

struct LlmBenchResult {
    std::string model;
    std::string fpmath;
    int threads = 1;
    int parallel = 1;         // sequences per forward pass (tokens/s are their sum)
    int prompt = 0, gen = 0;
    double prefill_tps = 0;   // median over reps
    double decode_tps = 0;    // median over reps
    double ttft_ms = 0;       // prefill of the prompt + the first sampled token, median
    double peak_rss_mb = 0;   // the model's, before any bandwidth probe
    std::vector<double> prefill_runs, decode_runs;
    // --roofline: weight bytes per decoded token, bandwidth probed right after
    // each decode repetition, and the median of (bytes · tok/s) / bandwidth.
    uint64_t decode_weight_bytes = 0;
    double decode_weight_gbps = 0;  // decode_weight_bytes × decode_tps
    double read_gbps = 0;
    double decode_roofline = 0;
    std::vector<double> read_gbps_runs;
    // How the model's Linears run ("sparse24-int8 154, quantized-int8 1"), and for
    // sparse24_q8 weights what the load-time measurement kept (ops/linear_sparse24.h).
    std::string linear_paths;
    std::string sparse24_choice;
};

// Runs at each thread count (the default pool is resized between them) and
// each --parallel count.
std::vector<LlmBenchResult> run_llm_bench(const LlmBenchOptions& o, const std::vector<int>& threads);
Json llm_bench_json(const LlmBenchResult& r);

}  // namespace tern::cli
