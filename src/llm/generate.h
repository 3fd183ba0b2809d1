#pragma once
// The prefill + sample + decode loop every text generator shares (tern
// generate, tern chat, the demo, and the coming server): evaluate the prompt in
// one batch, then sample a token, hand it to the caller, and evaluate it, until
// a stop condition holds.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "llm/forward.h"
#include "llm/sampling.h"
#include "llm/text_tokenizer.h"

namespace tern::llm {

enum class StopReason {
    length,      // max_new_tokens sampled
    eos,         // the model's EOS (one of stop_ids)
    stop_token,  // another of stop_ids (a chat template's end of turn)
    callback,    // GenerateStop::after_token said so
    context,     // the context is full: the last token could not be evaluated
};
const char* stop_reason_name(StopReason r);  // "length", "eos", "stop-token", "callback", "context"

struct GenerateStop {
    int64_t max_new_tokens = 64;
    // A sampled id in here ends generation; it is handed to on_token and
    // counted only when keep_stop_token (tern generate prints its EOS).
    std::vector<int32_t> stop_ids;
    bool keep_stop_token = false;
    // Called after on_token with the token just handed out; true ends
    // generation after it (the token is not evaluated).
    std::function<bool(int32_t id)> after_token;
};

struct GeneratedToken {
    int32_t id = 0;
    int64_t index = 0;  // 0-based among the tokens handed out
    std::string piece;  // its text when generate() was given a tokenizer, else empty
};
using OnToken = std::function<void(const GeneratedToken&)>;

struct GenerateReport {
    int64_t prompt_tokens = 0;     // evaluated in the prefill
    int64_t generated_tokens = 0;  // handed to on_token
    int64_t decoded_tokens = 0;    // evaluated one at a time after the prefill
    std::vector<int32_t> tokens;   // the ids handed to on_token, in order
    double prefill_seconds = 0, decode_seconds = 0;
    StopReason stop = StopReason::length;
};

// Evaluates `prompt` (non-empty) at the session's current position, then
// samples up to stop.max_new_tokens tokens. The sampler's penalty history is
// `*held` when given (the tokens the session already holds, in order; it is
// extended with the prompt and every token evaluated, so it keeps matching the
// cache), else the prompt and the tokens evaluated after it. `tok`, when not
// null, decodes each token's piece for on_token.
GenerateReport generate(Session& session, Sampler& sampler, std::span<const int32_t> prompt, const GenerateStop& stop,
                        const OnToken& on_token, const TextTokenizer* tok = nullptr,
                        std::vector<int32_t>* held = nullptr);

}  // namespace tern::llm
