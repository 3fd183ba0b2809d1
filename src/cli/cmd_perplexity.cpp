// tern perplexity MODEL (--text FILE | --tokens-file F) [--ctx N] [--chunks N] [--kv] [--fpmath] [-t] [--json]
// llama.cpp's definition (see llm/perplexity.h): windows of --ctx tokens,
// second half of each scored.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/context_limits.h"
#include "cli/option_ranges.h"
#include "cli/llm_options.h"
#include "cli/nonfinite_flag.h"
#include "core/checked.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/read_file.h"
#include "llm/perplexity.h"
#include "llm/text_tokenizer.h"

namespace tern::cli {
namespace {

struct PerplexityOptions {
    std::string model, text, tokens_file, kv = "f16", fpmath = "auto";
    int64_t ctx = 512;
    int64_t chunks = -1;  // at most this many windows (llama.cpp --chunks); -1: all
    bool json = false;
    bool allow_nonfinite = false;
    bool ctx_given = false;  // -c on the command line, not the default
    int threads = 0;
};

void run_perplexity(const PerplexityOptions& o) {
    apply_threads(o.threads);
    if (o.text.empty() == o.tokens_file.empty()) throw UsageError("perplexity", "give exactly one of --text FILE, --tokens-file FILE");
    if (o.ctx < 4) throw UsageError("--ctx", "must be >= 4");
    if (o.kv != "f32" && o.kv != "f16") throw UsageError("--kv", "must be f32 or f16");
    llm::LoadOptions lo = load_options_for(o.fpmath);
    lo.allow_nonfinite = o.allow_nonfinite;
    const auto model = llm::load_model(o.model, lo);
    check_context(*model, o.ctx, o.kv == "f16" ? ops::KvType::f16 : ops::KvType::f32, "--ctx", o.ctx_given);
    std::vector<int32_t> tokens;
    int32_t window_bos = -1;  // BOS the tokenizer added: llama.cpp starts every window with it
    if (!o.text.empty()) {
        const auto tok = llm::load_text_tokenizer(o.model);
        if (!tok) throw InputError(o.model, "has no tokenizer (no tokenizer.ggml.* metadata, no tokenizer.json beside it); pass --tokens-file");
        tokens = tok->encode(read_whole_file(o.text), /*add_bos=*/true);
        if (!tokens.empty() && model->config.bos_token >= 0 && tokens.front() == model->config.bos_token)
            window_bos = tokens.front();
    } else {
        tokens = llm::parse_token_ids(read_whole_file(o.tokens_file), o.tokens_file);
    }
    if (static_cast<int64_t>(tokens.size()) < o.ctx)
        throw InputError(o.text.empty() ? o.tokens_file : o.text,
                         format("%zu tokens are fewer than one window of --ctx %lld", tokens.size(), (long long)o.ctx));
    const int64_t n_input_tokens = static_cast<int64_t>(tokens.size());  // before --chunks
    if (o.chunks > 0) {
        const int64_t limit = checked_mul<UsageError>(o.chunks, o.ctx, "--chunks");  // windows x tokens per window
        if (static_cast<int64_t>(tokens.size()) > limit) tokens.resize(static_cast<size_t>(limit));
    }
    llm::SessionOptions so;
    so.n_ctx = o.ctx;
    so.kv_type = o.kv == "f16" ? ops::KvType::f16 : ops::KvType::f32;
    so.n_seq = llm::perplexity_windows_per_pass(o.ctx, static_cast<int64_t>(tokens.size()));
    llm::Session session(*model, so);
    const auto r = llm::compute_perplexity(session, tokens, o.ctx, [&](int64_t w, double running) {
        if (!o.json) {
            std::printf("[%lld]%.4f,", (long long)(w + 1), running);
            std::fflush(stdout);
        }
    }, window_bos);
    if (o.json) {
        Json j;
        j["model"] = o.model;
        j["ppl"] = r.ppl;
        j["mean_nll"] = r.mean_nll;
        j["tokens"] = r.n_tokens;
        j["input_tokens"] = n_input_tokens;
        j["scored"] = r.n_scored;
        j["windows"] = r.n_windows;
        j["ctx"] = o.ctx;
        j["fpmath"] = o.fpmath;
        j["seconds"] = r.seconds;
        j["tokens_per_s"] = r.seconds > 0 ? double(r.n_windows * o.ctx) / r.seconds : 0.0;
        print_json(j);
        return;
    }
    std::printf("\nPPL = %.4f over %lld scored tokens (%lld windows of %lld), %.2f s\n", r.ppl, (long long)r.n_scored,
                (long long)r.n_windows, (long long)o.ctx, r.seconds);
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
    auto o = std::make_shared<PerplexityOptions>();
    auto* cmd = app.add_subcommand("perplexity", "Perplexity of a text (llama.cpp's windowed definition)");
    cmd->add_option("model", o->model, "model (.gguf, .safetensors, index json or HF folder)")->required();
    cmd->add_option("--text", o->text, "text file (needs the model's tokenizer)");
    cmd->add_option("--tokens-file", o->tokens_file, "file of token ids (whitespace or comma separated)");
    cmd->add_option("-c,--ctx", o->ctx, "window length in tokens (default 512)")->check(int_range(4, kMaxCtx));
    cmd->add_option("--chunks", o->chunks, "score at most this many windows (as llama-perplexity --chunks)")
        ->check(int_range(1, kMaxCount));
    cmd->add_option("--kv", o->kv, "KV cache type: f16 (default, as llama.cpp) or f32");
    add_fpmath_option(*cmd, o->fpmath);
    cmd->add_flag("--json", o->json, "machine-readable result");
    add_allow_nonfinite_flag(*cmd, o->allow_nonfinite);
    add_threads_option(*cmd, o->threads);
    cmd->callback([o, cmd] {
        o->ctx_given = cmd->count("--ctx") > 0;
        run_perplexity(*o);
    });
}

}  // namespace tern::cli
