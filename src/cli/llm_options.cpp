#include "cli/llm_options.h"

#include "cli/commands.h"
#include "cli/option_ranges.h"
#include "core/error.h"

namespace tern::cli {

void add_llm_run_options(CLI::App& cmd, LlmRunOptions& o) {
    cmd.add_option("model", o.model, "model (.gguf, .safetensors, index json or HF folder)")->required();
    cmd.add_option("--temp", o.sp.temperature, "temperature; 0 = greedy (default 0.8)")->check(real_range(0, 100));
    cmd.add_option("--top-k", o.sp.top_k, "keep the k most likely tokens; 0 = off (default 40)")
        ->check(int_range(0, kMaxCount));
    cmd.add_option("--top-p", o.sp.top_p, "nucleus: smallest set with this much mass, in (0, 1] (default 0.95)")
        ->check(real_range(0, 1, /*open_low=*/true));
    cmd.add_option("--min-p", o.sp.min_p, "drop tokens below min-p x the top probability, [0, 1] (default 0.05)")
        ->check(real_range(0, 1));
    cmd.add_option("--repeat-penalty", o.sp.repeat_penalty, "penalise recent tokens; 1 = off (default 1)")
        ->check(real_range(0, 100, /*open_low=*/true));
    cmd.add_option("--repeat-last-n", o.sp.repeat_last_n, "history the penalty looks at (default 64)")
        ->check(int_range(0, kMaxCount));
    cmd.add_option("--seed", o.sp.seed, "random seed (default 0)")->check(seed_range());
    cmd.add_option("-c,--ctx", o.ctx, "context length (default: the model's, at most 4096)")->check(int_range(1, kMaxCtx));
    cmd.add_option("--kv", o.kv, "KV cache type: f16 (default, as llama.cpp) or f32");
    add_fpmath_option(cmd, o.fpmath);
    add_threads_option(cmd, o.threads);
}

void add_fpmath_option(CLI::App& cmd, std::string& fpmath) {
    cmd.add_option("--fpmath", fpmath,
                   "f32/f16 weight products: auto (default: bf16 prefill for 16-bit weights on CPUs with AVX-512 "
                   "BF16, exact elsewhere and for f32), exact, or bf16 (operands rounded to bf16, about 2x faster "
                   "prefill where bf16 is native)");
}

llm::LoadOptions load_options_for(const std::string& fpmath) {
    const auto m = ops::parse_float_math(fpmath);
    if (!m) throw UsageError("--fpmath", "must be auto, exact or bf16, got '" + fpmath + "'");
    llm::LoadOptions lo;
    lo.float_math = *m;
    return lo;
}

llm::SessionOptions prepare_llm_run(const LlmRunOptions& o) {
    apply_threads(o.threads);
    if (o.kv != "f32" && o.kv != "f16") throw UsageError("--kv", "must be f32 or f16");
    if (o.ctx < 0) throw UsageError("--ctx", "must be >= 0");
    load_options_for(o.fpmath);  // checked here, before any model is loaded
    llm::validate_sampler_params(o.sp);
    llm::SessionOptions so;
    so.n_ctx = o.ctx;
    so.kv_type = o.kv == "f16" ? ops::KvType::f16 : ops::KvType::f32;
    return so;
}

}  // namespace tern::cli
