#include "cli/demo_lm.h"

#include "core/table.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/generate.h"
#include "llm/perplexity.h"
#include "llm/sampling.h"
#include "llm/text_tokenizer.h"

namespace tern::cli {

LmDemoResult demo_language_model(const std::string& path) {
    LmDemoResult out;
    const auto model = llm::load_model(path);
    const auto tok = llm::load_text_tokenizer(path);
    if (!tok) return {"no tokenizer in " + path, ""};
    const int64_t ctx = model->config.n_ctx_train > 0 ? std::min<int64_t>(model->config.n_ctx_train, 512) : 256;
    llm::SessionOptions so;
    so.n_ctx = ctx;
    so.kv_type = ops::KvType::f16;
    llm::Session session(*model, so);

    const TextCorpus corpus = load_text_corpus();
    if (corpus.missing_sources.empty()) {
        std::vector<int32_t> ids = tok->encode(split_corpus(corpus.documents).test, true);
        constexpr int64_t kWindows = 16;
        if (static_cast<int64_t>(ids.size()) > kWindows * ctx) ids.resize(static_cast<size_t>(kWindows * ctx));
        const auto r = llm::compute_perplexity(session, ids, ctx, {}, model->config.bos_token);
        out.summary = "test-split ppl " + fmt_fixed(r.ppl, 2) + " (" + std::to_string(r.n_windows) + " windows of " +
                      std::to_string(ctx) + "); ";
    } else {
        out.summary = "text corpus not installed (no ppl); ";
    }

    const std::string prompt = "It is a truth universally acknowledged that";
    llm::SamplerParams sp;
    sp.temperature = 0.7f;
    sp.repeat_penalty = 1.1f;
    sp.seed = 42;
    llm::Sampler sampler(sp);
    llm::GenerateStop stop;
    stop.max_new_tokens = 48;
    if (model->config.eos_token >= 0) stop.stop_ids = {model->config.eos_token};
    session.reset();
    out.sample = prompt;
    const llm::GenerateReport rep = llm::generate(session, sampler, tok->encode(prompt, true), stop,
                                                  [&](const llm::GeneratedToken& t) { out.sample += t.piece; }, tok.get());
    const double s = rep.decode_seconds;
    const int64_t decoded = rep.decoded_tokens;  // tokens evaluated one at a time
    out.summary += "decode " + fmt_fixed(s > 0 ? double(decoded) / s : 0, 0) + " tokens/s, " +
                   fmt_fixed(static_cast<double>(model->n_params) / 1e6, 1) + "M parameters";
    return out;
}

}  // namespace tern::cli
