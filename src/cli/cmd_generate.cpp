// tern generate MODEL (-p TEXT | --tokens IDS | --tokens-file F) -n N
//   [--temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n --seed]
//   [--ctx N --kv f32|f16 --ignore-eos -t T --json]
// Prefills the prompt in one batch, then decodes one token at a time
// (llm/generate.h), streaming each token (text when a tokenizer is available,
// else its id).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/context_limits.h"
#include "cli/option_ranges.h"
#include "cli/llm_options.h"
#include "cli/nonfinite_flag.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/read_file.h"
#include "llm/forward.h"
#include "llm/generate.h"
#include "llm/sampling.h"
#include "llm/text_tokenizer.h"

namespace tern::cli {
namespace {

struct GenerateOptions {
    LlmRunOptions run;  // model, sampling, --ctx, --kv, -t
    std::string prompt, tokens, tokens_file;
    int64_t n_predict = 64;
    bool ignore_eos = false, json = false;
    bool allow_nonfinite = false;
};

void run_generate(const GenerateOptions& o) {
    const int sources = !o.prompt.empty() + !o.tokens.empty() + !o.tokens_file.empty();
    if (sources != 1) throw UsageError("generate", "give exactly one of -p TEXT, --tokens IDS, --tokens-file FILE");
    if (o.n_predict < 0) throw UsageError("-n", "must be >= 0");
    const llm::SessionOptions so = prepare_llm_run(o.run);

    llm::LoadOptions lo = load_options_for(o.run.fpmath);
    lo.allow_nonfinite = o.allow_nonfinite;
    const auto model = llm::load_model(o.run.model, lo);
    check_context(*model, so.n_ctx, so.kv_type);
    const auto tok = llm::load_text_tokenizer(o.run.model);
    std::vector<int32_t> prompt;
    if (!o.prompt.empty()) {
        if (!tok) throw InputError(o.run.model, "has no tokenizer (no tokenizer.ggml.* metadata, no tokenizer.json beside it); pass --tokens or --tokens-file");
        prompt = tok->encode(o.prompt, /*add_bos=*/true);
    } else if (!o.tokens.empty()) {
        prompt = llm::parse_token_ids(o.tokens, "--tokens");
    } else {
        prompt = llm::parse_token_ids(read_whole_file(o.tokens_file), o.tokens_file);
    }
    if (prompt.empty()) throw InputError("generate", "the prompt has no tokens");

    llm::Session session(*model, so);
    if (static_cast<int64_t>(prompt.size()) > session.n_ctx())
        throw InputError("generate", format("the prompt has %zu tokens, more than the context of %lld", prompt.size(),
                                            (long long)session.n_ctx()));
    llm::Sampler sampler(o.run.sp);
    llm::GenerateStop stop;
    stop.max_new_tokens = o.n_predict;
    if (!o.ignore_eos && model->config.eos_token >= 0) stop.stop_ids = {model->config.eos_token};
    stop.keep_stop_token = true;  // the EOS is printed and listed, as llama.cpp does
    auto emit = [&](const llm::GeneratedToken& t) {
        if (o.json) return;
        if (tok)
            std::fputs(t.piece.c_str(), stdout);
        else
            std::printf(t.index == 0 ? "%d" : " %d", t.id);
        std::fflush(stdout);
    };
    const llm::GenerateReport rep = llm::generate(session, sampler, prompt, stop, emit, tok.get());
    const std::vector<int32_t>& generated = rep.tokens;
    const std::string stop_name = llm::stop_reason_name(rep.stop);
    const double prefill_ms = 1e3 * rep.prefill_seconds, decode_ms = 1e3 * rep.decode_seconds;
    const int64_t decoded = rep.decoded_tokens;
    const double prefill_tps = prefill_ms > 0 ? 1e3 * double(prompt.size()) / prefill_ms : 0;
    const double decode_tps = decode_ms > 0 && decoded > 0 ? 1e3 * double(decoded) / decode_ms : 0;

    if (o.json) {
        Json j;
        j["model"] = o.run.model;
        j["architecture"] = llm::arch_name(model->config.arch);
        j["prompt_tokens"] = prompt;
        j["tokens"] = generated;
        if (tok) {
            std::string text;
            for (int32_t id : generated) text += tok->decode_token(id);
            j["text"] = text;
        }
        j["stop"] = stop_name;
        j["n_ctx"] = session.n_ctx();
        j["seed"] = o.run.sp.seed;
        j["prefill_ms"] = prefill_ms;
        j["decode_ms"] = decode_ms;
        j["prefill_tokens_per_s"] = prefill_tps;
        j["decode_tokens_per_s"] = decode_tps;
        print_json(j);
        return;
    }
    std::printf("\n");
    std::fprintf(stderr, "prefill: %zu tokens in %.1f ms (%.1f tok/s); decode: %lld tokens in %.1f ms (%.1f tok/s); stop: %s\n",
                 prompt.size(), prefill_ms, prefill_tps, (long long)decoded, decode_ms, decode_tps, stop_name.c_str());
}

}  // namespace

void add_generate_command(CLI::App& app) {
    auto o = std::make_shared<GenerateOptions>();
    auto* cmd = app.add_subcommand("generate", "Generate tokens from a prompt (llama, qwen2, gpt2; GGUF or safetensors)");
    add_llm_run_options(*cmd, o->run);
    cmd->add_option("-p,--prompt", o->prompt, "prompt text (needs the model's tokenizer)");
    cmd->add_option("--tokens", o->tokens, "prompt as token ids, e.g. \"1 2 3\"");
    cmd->add_option("--tokens-file", o->tokens_file, "file of prompt token ids (whitespace or comma separated)");
    cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate (default 64)")->check(int_range(0, kMaxCount));
    cmd->add_flag("--ignore-eos", o->ignore_eos, "keep going after end-of-sequence");
    cmd->add_flag("--json", o->json, "print one JSON object at the end instead of streaming");
    add_allow_nonfinite_flag(*cmd, o->allow_nonfinite);
    cmd->callback([o] { run_generate(*o); });
}

}  // namespace tern::cli
