// tern chat MODEL [--system TEXT] [-n N] [--temp --top-k --top-p --min-p
//   --repeat-penalty --repeat-last-n --seed] [--ctx N --kv f32|f16 -t T]
//   [--template NAME] [--verbose]
// Interactive chat: one user turn per stdin line (EOF ends the chat), the reply
// streamed to stdout and ended with a newline; "> " is printed before each
// turn only when stdin is a terminal. /reset forgets the conversation (the
// --system message stays), /exit ends it; another lone "/word" is reported
// on stderr and not sent.
//
// The template comes from --template, else from the model's own chat template
// (GGUF tokenizer.chat_template, HF tokenizer_config.json), recognised by its
// marker tokens. A model without one (e.g. trained by tern) gets the plain
// format "User: ...\nAssistant: ...\n" (io/chat_template.h), in which a reply
// ends at its first newline; stderr says so once.
//
// The KV cache lives across turns; each turn evaluates only the tokens past
// what the cache already holds (llm/chat.h). When the context would overflow,
// the oldest exchanges are dropped (stderr says how many); a message that does
// not fit on its own is reported on stderr and not sent, and the chat goes on.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/context_limits.h"
#include "cli/option_ranges.h"
#include "cli/llm_options.h"
#include "cli/nonfinite_flag.h"
#include "core/error.h"
#include "io/chat_template.h"
#include "llm/chat.h"
#include "llm/text_tokenizer.h"

namespace tern::cli {
namespace {

struct ChatCliOptions {
    LlmRunOptions run;  // model, sampling, --ctx, --kv, -t
    std::string system, template_name;
    int64_t n_predict = 256;
    bool verbose = false;
    bool allow_nonfinite = false;
};

// The family to render with, and a phrase saying where it came from.
ChatFamily resolve_family(const ChatCliOptions& o, std::string& source) {
    if (!o.template_name.empty()) {
        source = "--template";
        return chat_family_from_name(o.template_name);
    }
    const std::string jinja = llm::load_chat_template_text(o.run.model);
    ChatFamily family = ChatFamily::plain;
    if (jinja.empty()) {
        source = "none in the model";
    } else if (chat_family_from_template(jinja, family)) {
        source = "the model's chat template";
    } else {
        source = "the model's chat template is not one tern knows";
    }
    return family;
}

void trim_line_end(std::string& line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
}

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

void run_chat(const ChatCliOptions& o) {
    if (o.n_predict < 1) throw UsageError("-n", "must be >= 1");
    const llm::SessionOptions so = prepare_llm_run(o.run);
    // A bad --template name is a usage error: report it before loading anything.
    if (!o.template_name.empty()) chat_family_from_name(o.template_name);

    llm::LoadOptions lo = load_options_for(o.run.fpmath);
    lo.allow_nonfinite = o.allow_nonfinite;
    const auto model = llm::load_model(o.run.model, lo);
    const auto tok = llm::load_text_tokenizer(o.run.model);
    if (!tok)
        throw InputError(o.run.model, "has no tokenizer (no tokenizer.ggml.* metadata, no tokenizer.json beside it); "
                                      "tern chat needs one to read text");
    std::string source;
    llm::ChatOptions co;
    co.family = resolve_family(o, source);
    co.system = o.system;
    co.max_reply_tokens = o.n_predict;
    co.sampling = o.run.sp;
    if (co.family == ChatFamily::plain && o.template_name.empty())
        std::fprintf(stderr, "[chat] no known chat template (%s): using the plain format "
                             "\"User: ...\\nAssistant: ...\", one line per reply\n", source.c_str());
    else if (o.verbose)
        std::fprintf(stderr, "[chat] template %s (from %s)\n", chat_family_name(co.family), source.c_str());

    check_context(*model, so.n_ctx, so.kv_type);
    llm::Session session(*model, so);
    llm::Chat chat(session, *tok, co);
    const bool interactive = ::isatty(STDIN_FILENO) != 0;
    auto stream = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
    };
    std::string line;
    for (int turn = 1;; ) {
        if (interactive) {
            std::fputs("> ", stdout);
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) break;
        trim_line_end(line);
        if (is_blank(line)) continue;
        if (line == "/exit") break;
        if (line == "/reset") {
            chat.reset();
            if (o.verbose || interactive) std::fprintf(stderr, "[chat] conversation and cache cleared\n");
            continue;
        }
        // A lone "/word" is a mistyped command, not a message worth a reply.
        if (line[0] == '/' && line.find_first_of(" \t") == std::string::npos) {
            std::fprintf(stderr, "[chat] unknown command %s (/reset, /exit)\n", line.c_str());
            continue;
        }
        llm::ChatTurnStats st;
        try {
            st = chat.send(line, stream);
        } catch (const InputError& e) {
            // A line too long for the context is the user's to shorten: the chat goes on without it.
            if (e.where() != "chat") throw;
            std::fprintf(stderr, "[chat] %s; the line was not sent\n", e.detail().c_str());
            continue;
        }
        std::fputs("\n", stdout);
        std::fflush(stdout);
        if (st.dropped_exchanges > 0)
            std::fprintf(stderr, "[chat] dropped the %lld oldest exchange%s to fit the context of %lld tokens\n",
                         (long long)st.dropped_exchanges, st.dropped_exchanges == 1 ? "" : "s",
                         (long long)session.n_ctx());
        if (st.stop == "context")
            std::fprintf(stderr, "[chat] the reply was cut: the context of %lld tokens is full\n",
                         (long long)session.n_ctx());
        if (o.verbose) {
            const double tps = st.decode_ms > 0 ? 1e3 * double(st.reply_tokens) / st.decode_ms : 0;
            std::fprintf(stderr, "[chat] turn %d: prompt %lld tokens, %lld reused from the cache, prefill %lld tokens "
                                 "in %.1f ms; reply %lld tokens in %.1f ms (%.1f tok/s), stop: %s\n",
                         turn, (long long)st.prompt_tokens, (long long)st.reused_tokens,
                         (long long)st.prefilled_tokens, st.prefill_ms, (long long)st.reply_tokens, st.decode_ms, tps,
                         st.stop.c_str());
        }
        ++turn;
    }
    if (interactive) std::fputs("\n", stdout);
}

}  // namespace

void add_chat_command(CLI::App& app) {
    auto o = std::make_shared<ChatCliOptions>();
    auto* cmd = app.add_subcommand("chat", "Chat with a model: one user turn per stdin line, replies streamed");
    add_llm_run_options(*cmd, o->run);
    cmd->add_option("--system", o->system, "system message that opens the conversation");
    cmd->add_option("-n,--n-predict", o->n_predict, "most tokens per reply (default 256)")->check(int_range(1, kMaxCount));
    cmd->add_option("--template", o->template_name,
                    "chat format: llama2, llama3, chatml/qwen, zephyr/tinyllama, plain (default: the model's)");
    cmd->add_flag("-v,--verbose", o->verbose, "per turn on stderr: tokens reused from the cache, prefilled, replied");
    add_allow_nonfinite_flag(*cmd, o->allow_nonfinite);
    cmd->callback([o] { run_chat(*o); });
}

}  // namespace tern::cli
