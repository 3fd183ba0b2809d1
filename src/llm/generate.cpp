#include "llm/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/stopwatch.h"

namespace tern::llm {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::length: return "length";
        case StopReason::eos: return "eos";
        case StopReason::stop_token: return "stop-token";
        case StopReason::callback: return "callback";
        case StopReason::context: return "context";
    }
    return "?";
}

GenerateReport generate(Session& session, Sampler& sampler, std::span<const int32_t> prompt, const GenerateStop& stop,
                        const OnToken& on_token, const TextTokenizer* tok, std::vector<int32_t>* held) {
    if (prompt.empty()) throw InputError("generate", "the prompt has no tokens");
    if (stop.max_new_tokens < 0) throw UsageError("-n", "must be >= 0");
    std::vector<int32_t> own;
    std::vector<int32_t>& history = held ? *held : own;  // == the tokens the session holds
    GenerateReport rep;
    rep.prompt_tokens = static_cast<int64_t>(prompt.size());

    std::vector<float> logits;  // (n_vocab)
    const auto t_prefill = Clock::now();
    session.eval(prompt, logits);
    rep.prefill_seconds = seconds_since(t_prefill);
    history.insert(history.end(), prompt.begin(), prompt.end());

    const int32_t eos = session.model().config.eos_token;
    auto hand_out = [&](int32_t id) {
        GeneratedToken t;
        t.id = id;
        t.index = rep.generated_tokens++;
        if (tok) t.piece = tok->decode_token(id);
        rep.tokens.push_back(id);
        if (on_token) on_token(t);
    };
    const auto t_decode = Clock::now();
    for (int64_t i = 0; i < stop.max_new_tokens; ++i) {
        const int32_t next = sampler.sample(logits, history);
        if (std::find(stop.stop_ids.begin(), stop.stop_ids.end(), next) != stop.stop_ids.end()) {
            rep.stop = next == eos ? StopReason::eos : StopReason::stop_token;
            if (stop.keep_stop_token) hand_out(next);
            break;
        }
        hand_out(next);
        if (stop.after_token && stop.after_token(next)) {
            rep.stop = StopReason::callback;
            break;
        }
        // The last token is not evaluated: nothing would sample from its logits.
        if (i + 1 == stop.max_new_tokens) break;
        if (session.n_past() >= session.n_ctx()) {
            rep.stop = StopReason::context;
            break;
        }
        session.eval({&next, 1}, logits);
        history.push_back(next);
        ++rep.decoded_tokens;
    }
    rep.decode_seconds = seconds_since(t_decode);
    return rep;
}

}  // namespace tern::llm
