#pragma once
// A multi-turn conversation over one Session, keeping the KV cache across
// turns. Each turn renders the whole conversation with the chat template,
// tokenizes it, and evaluates only the tokens past the longest prefix the
// cache already holds: earlier turns are never recomputed while the rendered
// text keeps extending what was fed. When it does not (a reply re-tokenizes
// differently from how it was sampled, old turns were dropped), the session is
// truncated to the common prefix and the rest is evaluated.
//
// Context overflow: before a reply, the oldest exchanges (a user message and
// the replies up to the next one; the system message stays) are dropped until
// the prompt plus room for the reply fits the context. If the newest message
// alone does not fit, send() throws InputError. A reply that reaches the end of
// the context stops there (stop = "context").
//
// Replies end at the family's end-of-turn tokens or the model's EOS; in the
// plain format (no such tokens) at the first newline after leading blanks.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/chat_template.h"
#include "llm/forward.h"
#include "llm/sampling.h"
#include "llm/text_tokenizer.h"

namespace tern::llm {

struct ChatOptions {
    ChatFamily family = ChatFamily::plain;
    std::string system;           // empty: no system message
    int64_t max_reply_tokens = 256;
    SamplerParams sampling;
};

// What one turn did, for --verbose and tests.
struct ChatTurnStats {
    int64_t prompt_tokens = 0;     // the rendered conversation, reply prompt included
    int64_t reused_tokens = 0;     // of those, already in the KV cache
    int64_t prefilled_tokens = 0;  // evaluated in this turn's prefill
    int64_t reply_tokens = 0;      // sampled and streamed (the stop token excluded)
    int64_t dropped_exchanges = 0;
    std::string stop;              // "eos", "end-of-turn", "newline" (plain), "length", "context"
    double prefill_ms = 0, decode_ms = 0;
};

// The ids that end an assistant turn: the family's end-of-turn tokens the
// vocabulary has, plus the model's EOS (when >= 0).
std::vector<int32_t> chat_stop_ids(ChatFamily family, const TextTokenizer& tok, int32_t model_eos);

// Tokens `a` and `b` share from the start.
size_t common_prefix_length(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

class Chat {
public:
    // session and tok must outlive the Chat; the session must be fresh.
    Chat(Session& session, const TextTokenizer& tok, ChatOptions opts);

    // Adds the user's message, streams the reply's text to on_text piece by
    // piece, and adds the reply to the history.
    ChatTurnStats send(const std::string& user_message, const std::function<void(std::string_view)>& on_text);

    // Forgets the conversation (the system message stays) and the cache.
    void reset();

    const std::vector<ChatMessage>& history() const { return history_; }
    // The tokens whose keys and values the cache holds, in order.
    const std::vector<int32_t>& cached_tokens() const { return cached_; }
    // The ids the conversation would be fed as now (BOS + rendered template).
    std::vector<int32_t> render_tokens(bool add_generation_prompt) const;

private:
    // Drops the oldest exchanges until `ids` plus room for a reply fits.
    int64_t fit_context(std::vector<int32_t>& ids);
    // Truncates the cache to its longest common prefix with `ids` (leaving at
    // least the last id to evaluate); returns how many tokens it keeps.
    int64_t reuse_prefix(const std::vector<int32_t>& ids);

    Session& session_;
    const TextTokenizer& tok_;
    ChatOptions opts_;
    Sampler sampler_;
    std::vector<int32_t> stop_ids_;
    std::vector<ChatMessage> history_;
    std::vector<int32_t> cached_;  // == the first session_.n_past() positions' tokens
};

}  // namespace tern::llm
