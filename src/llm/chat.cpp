#include "llm/chat.h"

#include <algorithm>

#include "core/error.h"
#include "llm/generate.h"

namespace tern::llm {

std::vector<int32_t> chat_stop_ids(ChatFamily family, const TextTokenizer& tok, int32_t model_eos) {
    std::vector<int32_t> ids;
    for (const std::string& text : chat_end_of_turn_tokens(family))
        if (const auto id = tok.token_id(text)) ids.push_back(*id);
    if (model_eos >= 0) ids.push_back(model_eos);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

size_t common_prefix_length(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

Chat::Chat(Session& session, const TextTokenizer& tok, ChatOptions opts)
    : session_(session),
      tok_(tok),
      opts_(std::move(opts)),
      sampler_(opts_.sampling),
      stop_ids_(chat_stop_ids(opts_.family, tok, session.model().config.eos_token)) {
    if (opts_.max_reply_tokens < 0) throw UsageError("-n", "must be >= 0");
    if (session_.n_past() != 0) throw InputError("chat", "the session must start empty");
    reset();
}

void Chat::reset() {
    history_.clear();
    if (!opts_.system.empty()) history_.push_back({"system", opts_.system});
    session_.reset();
    cached_.clear();
}

std::vector<int32_t> Chat::render_tokens(bool add_generation_prompt) const {
    // BOS is added by the tokenizer, never by the template (see io/chat_template.h).
    return tok_.encode(apply_chat_template(opts_.family, history_, add_generation_prompt), /*add_bos=*/true);
}

int64_t Chat::fit_context(std::vector<int32_t>& ids) {
    const int64_t n_ctx = session_.n_ctx();
    // Room for the reply, but never more than half the context: with a large
    // -n and a small context the conversation would otherwise keep nothing.
    const int64_t reserve = std::min<int64_t>(opts_.max_reply_tokens, n_ctx / 2);
    int64_t dropped = 0;
    while (static_cast<int64_t>(ids.size()) + reserve > n_ctx) {
        const size_t first = !history_.empty() && history_[0].role == "system" ? 1 : 0;
        const size_t newest = history_.size() - 1;  // the message being answered stays
        if (first >= newest) break;
        size_t end = first + 1;
        while (end < newest && history_[end].role != "user") ++end;
        history_.erase(history_.begin() + static_cast<std::ptrdiff_t>(first),
                       history_.begin() + static_cast<std::ptrdiff_t>(end));
        ++dropped;
        ids = render_tokens(true);
    }
    if (static_cast<int64_t>(ids.size()) > n_ctx)
        throw InputError("chat", format("the message needs %zu tokens with the template%s, more than the context of "
                                        "%lld (raise --ctx or send less)",
                                        ids.size(), opts_.system.empty() ? "" : " and the system prompt",
                                        (long long)n_ctx));
    return dropped;
}

int64_t Chat::reuse_prefix(const std::vector<int32_t>& ids) {
    if (ids.empty()) throw InputError("chat", "the rendered conversation has no tokens");
    size_t keep = common_prefix_length(cached_, ids);
    // The next token is sampled from the last id's logits, so it must run
    // again even when the cache already holds all of ids.
    if (keep == ids.size()) --keep;
    if (keep < cached_.size()) {
        session_.truncate(static_cast<int64_t>(keep));
        cached_.resize(keep);
    }
    return static_cast<int64_t>(keep);
}

ChatTurnStats Chat::send(const std::string& user_message, const std::function<void(std::string_view)>& on_text) {
    ChatTurnStats st;
    // A message that cannot be answered is not kept, nor are the exchanges
    // fit_context dropped while trying to make room for it.
    const std::vector<ChatMessage> before = history_;
    history_.push_back({"user", user_message});
    std::vector<int32_t> ids;
    try {
        ids = render_tokens(true);
        st.dropped_exchanges = fit_context(ids);
    } catch (...) {
        history_ = before;
        throw;
    }
    st.prompt_tokens = static_cast<int64_t>(ids.size());

    // The prefill evaluates only what the cache lacks (at least the last id,
    // whose logits the first reply token is sampled from).
    const int64_t keep = reuse_prefix(ids);
    st.reused_tokens = keep;
    st.prefilled_tokens = st.prompt_tokens - keep;

    const bool plain = opts_.family == ChatFamily::plain;
    std::string reply;
    bool reply_line_ended = false;
    GenerateStop stop;
    stop.max_new_tokens = opts_.max_reply_tokens;
    stop.stop_ids = stop_ids_;
    // The plain format has no end-of-turn token: a reply is one line.
    stop.after_token = [&](int32_t) { return reply_line_ended; };
    auto on_token = [&](const GeneratedToken& t) {
        std::string piece = t.piece;
        // Blank space before a plain reply (a model that starts with a newline) is skipped.
        if (plain && reply.empty()) piece.erase(0, piece.find_first_not_of(" \t\r\n"));
        const size_t nl = plain ? piece.find('\n') : std::string::npos;
        if (nl != std::string::npos) piece.resize(nl);
        if (!piece.empty()) on_text(piece);
        reply += piece;
        reply_line_ended = nl != std::string::npos;
    };
    // The penalty's history is the whole conversation as the cache holds it.
    const GenerateReport rep =
        generate(session_, sampler_, std::span<const int32_t>(ids).subspan(static_cast<size_t>(keep)), stop, on_token,
                 &tok_, &cached_);
    st.prefill_ms = 1e3 * rep.prefill_seconds;
    st.decode_ms = 1e3 * rep.decode_seconds;
    // The token that ended the line is not counted as a reply token.
    st.reply_tokens = rep.generated_tokens - (rep.stop == StopReason::callback ? 1 : 0);
    switch (rep.stop) {
        case StopReason::eos: st.stop = "eos"; break;
        case StopReason::stop_token: st.stop = "end-of-turn"; break;
        case StopReason::callback: st.stop = "newline"; break;
        case StopReason::context: st.stop = "context"; break;
        case StopReason::length: st.stop = "length"; break;
    }
    history_.push_back({"assistant", reply});
    return st;
}

}  // namespace tern::llm
