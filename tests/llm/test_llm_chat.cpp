// tern chat end to end, on a small random-weight Llama whose GGUF carries a
// SentencePiece vocabulary with ChatML's two control tokens and a ChatML
// tokenizer.chat_template. Checks: greedy turn 1 is `tern generate` greedy on
// the rendered prompt; later turns prefill only what the cache lacks and
// answer as a fresh prefill of the whole conversation would; /reset, the plain
// fallback, dropping old turns at the context's end; bad input exits 1 (bad
// files) or 2 (bad option values, as in generate).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/cli_runner.h"
#include "io/chat_template.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "llm/chat.h"
#include "llm/llm_test_util.h"
#include "llm/synthetic_model.h"
#include "llm/text_tokenizer.h"

namespace tern::llm::test {
namespace {

using testcli::run_tern;
using testcli::run_tern_stdin;

constexpr int32_t kImStart = 259, kImEnd = 260;  // the first two pieces after the 256 byte tokens

struct ChatModels {
    testio::TempDir dir;
    std::string chatml, plain;  // with and without tokenizer.chat_template
};

// Writes the model once per process.
const ChatModels& chat_models() {
    static const std::unique_ptr<ChatModels> m = [] {
        auto out = std::make_unique<ChatModels>();
        const std::string base = out->dir.file("base.gguf");
        write_synthetic_llama(base, {"chat-test", 64, 2, 4, 2, 128, 320, 256}, DType::f32, /*seed=*/5);
        io::GgufModel g = io::read_gguf(base);
        io::GgufMetadata md = g.info.metadata;
        for (auto& [key, v] : md) {
            if (key == "tokenizer.ggml.tokens") {
                v.strings[kImStart] = "<|im_start|>";
                v.strings[kImEnd] = "<|im_end|>";
            } else if (key == "tokenizer.ggml.token_type") {
                auto types = v.array_as<int32_t>();
                types[kImStart] = types[kImEnd] = 3;  // control
                v = io::GgufValue::of_array(io::GgufType::i32, types);
            }
        }
        out->plain = out->dir.file("plain.gguf");
        io::write_gguf(out->plain, md, g.tensors);
        md.emplace_back("tokenizer.chat_template",
                        io::GgufValue::of_string("{% for message in messages %}{{'<|im_start|>' + message['role'] + "
                                                 "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"));
        out->chatml = out->dir.file("chatml.gguf");
        io::write_gguf(out->chatml, md, g.tensors);
        return out;
    }();
    return *m;
}

int llm_chat_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

struct TurnLine {
    int64_t prompt, reused, prefill;
    std::string stop;
};

// The --verbose per-turn lines on stderr, in order.
std::vector<TurnLine> turn_lines(const std::string& err) {
    static const std::regex re(
        R"(\[chat\] turn \d+: prompt (\d+) tokens, (\d+) reused from the cache, prefill (\d+) tokens.*stop: ([a-z-]+))");
    std::vector<TurnLine> out;
    for (std::sregex_iterator it(err.begin(), err.end(), re), end; it != end; ++it)
        out.push_back({std::stoll((*it)[1]), std::stoll((*it)[2]), std::stoll((*it)[3]), (*it)[4]});
    return out;
}

// Greedy continuation of `ids` by a fresh session, stopped like a chat reply.
std::string fresh_greedy_reply(const std::string& path, const std::vector<int32_t>& ids, int n) {
    const auto model = load_model(path);
    const auto tok = load_text_tokenizer(path);
    const auto stops = chat_stop_ids(ChatFamily::chatml, *tok, model->config.eos_token);
    Session s(*model, {});
    std::vector<float> logits;
    s.eval(ids, logits);
    std::string text;
    for (int i = 0; i < n; ++i) {
        const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;
        text += tok->decode_token(next);
        if (i + 1 < n) s.eval({&next, 1}, logits);
    }
    return text;
}

const char* kGreedy = " --temp 0 --kv f32 -t 2";

TEST(ChatCli, GreedyFirstTurnEqualsGenerateOnTheRenderedPrompt) {
    const std::string& path = chat_models().chatml;
    const std::string prompt = apply_chat_template(ChatFamily::chatml, {{"user", "Hello there"}});
    const auto g = run_tern("generate " + path + " -p " + shell_quote(prompt) + " -n 12 --ignore-eos --json" + kGreedy);
    ASSERT_EQ(g.code, 0) << g.err;
    const auto j = nlohmann::json::parse(g.out);
    // The prompt generate saw is the chat's: BOS, then <|im_start|> ... assistant\n.
    const auto prompt_ids = j["prompt_tokens"].get<std::vector<int32_t>>();
    ASSERT_GE(prompt_ids.size(), 3u);
    EXPECT_EQ(prompt_ids[1], kImStart);
    EXPECT_EQ(std::count(prompt_ids.begin(), prompt_ids.end(), kImEnd), 1);
    // The reply is generate's tokens up to the first end-of-turn / EOS.
    const auto tok = load_text_tokenizer(path);
    const auto stops = chat_stop_ids(ChatFamily::chatml, *tok, 2);
    std::string want;
    for (int32_t id : j["tokens"].get<std::vector<int32_t>>()) {
        if (std::find(stops.begin(), stops.end(), id) != stops.end()) break;
        want += tok->decode_token(id);
    }
    ASSERT_FALSE(want.empty()) << "the greedy reply starts with a stop token; pick another seed";
    const auto c = run_tern_stdin("chat " + path + " -n 12" + kGreedy, "Hello there\n");
    ASSERT_EQ(c.code, 0) << c.err;
    EXPECT_EQ(c.out, want + "\n");
    EXPECT_EQ(c.err, "") << "a model with a known template says nothing on stderr without --verbose";
}

TEST(ChatCli, LaterTurnsPrefillOnlyWhatTheCacheLacks) {
    const std::string& path = chat_models().chatml;
    const auto r = run_tern_stdin("chat " + path + " -n 10 --verbose --system 'You are terse.'" + std::string(kGreedy),
                                  "Hello there\nHow are you today?\nAnd then?\n");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("[chat] template chatml (from the model's chat template)"), std::string::npos) << r.err;
    const auto turns = turn_lines(r.err);
    ASSERT_EQ(turns.size(), 3u) << r.err;
    EXPECT_EQ(turns[0].reused, 0);
    EXPECT_EQ(turns[0].prefill, turns[0].prompt);
    for (size_t t = 1; t < turns.size(); ++t) {
        EXPECT_GT(turns[t].prompt, turns[t - 1].prompt);
        // At least the whole previous prompt (system, earlier turns) comes from the cache.
        EXPECT_GE(turns[t].reused, turns[t - 1].prompt) << "turn " << t + 1;
        EXPECT_EQ(turns[t].prefill, turns[t].prompt - turns[t].reused);
        EXPECT_LT(turns[t].prefill, turns[t].prompt);
    }
    EXPECT_GE(llm_chat_lines(r.out), 3);
    EXPECT_GT(r.out.size(), 3u) << "three replies, not three empty lines";
}

TEST(ChatEngine, ReusedCacheAnswersLikeAFreshPrefill) {
    const std::string& path = chat_models().chatml;
    const auto model = load_model(path);
    const auto tok = load_text_tokenizer(path);
    Session session(*model, {});
    ChatOptions o;
    o.family = ChatFamily::chatml;
    o.system = "You are terse.";
    o.max_reply_tokens = 10;
    o.sampling.temperature = 0;
    Chat chat(session, *tok, o);
    std::string streamed;
    chat.send("Hello there", [&](std::string_view p) { streamed += p; });
    EXPECT_EQ(streamed, chat.history().back().content);
    const ChatTurnStats st = chat.send("How are you today?", [](std::string_view) {});
    // The cache holds turn 2's whole prompt, which the conversation still starts with.
    const auto& cached = chat.cached_tokens();
    EXPECT_GE(common_prefix_length(cached, chat.render_tokens(false)), static_cast<size_t>(st.prompt_tokens));
    EXPECT_EQ(session.n_past(), static_cast<int64_t>(cached.size()));
    // Turn 2's reply equals a fresh prefill of [system, user 1, reply 1, user 2].
    auto history = chat.history();
    const std::string reply2 = history.back().content;
    history.pop_back();
    ASSERT_FALSE(reply2.empty());
    const auto ids = tok->encode(apply_chat_template(ChatFamily::chatml, history), true);
    EXPECT_EQ(fresh_greedy_reply(path, ids, 10), reply2);
    // reset: empty cache, only the system message left.
    chat.reset();
    EXPECT_EQ(session.n_past(), 0);
    EXPECT_TRUE(chat.cached_tokens().empty());
    ASSERT_EQ(chat.history().size(), 1u);
    EXPECT_EQ(chat.history()[0].role, "system");
}

TEST(ChatEngine, TemplateTextFromAnHfTokenizerConfig) {
    testio::TempDir dir;
    std::ofstream(dir.file("tokenizer_config.json"))
        << R"({"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "<|im_start|>"}]})";
    EXPECT_EQ(load_chat_template_text(dir.path()), "<|im_start|>");
    std::ofstream(dir.file("tokenizer_config.json")) << R"({"chat_template": "[INST]"})";
    std::ofstream(dir.file("model.safetensors")) << "not a gguf";
    EXPECT_EQ(load_chat_template_text(dir.file("model.safetensors")), "[INST]");  // the folder of a checkpoint file
    std::ofstream(dir.file("tokenizer_config.json")) << R"({"bos_token": "<s>"})";
    EXPECT_EQ(load_chat_template_text(dir.path()), "");
}

TEST(ChatCli, ResetForgetsTheConversation) {
    const std::string& path = chat_models().chatml;
    const auto r = run_tern_stdin("chat " + path + " -n 8 --verbose" + std::string(kGreedy),
                                  "Hello there\n/reset\n\nHello there\n/bogus\n/exit\nnever read\n");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto turns = turn_lines(r.err);
    ASSERT_EQ(turns.size(), 2u) << r.err;  // blank line skipped, /bogus not sent, nothing after /exit
    EXPECT_EQ(turns[1].prompt, turns[0].prompt);
    EXPECT_EQ(turns[1].reused, 0);
    EXPECT_NE(r.err.find("conversation and cache cleared"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unknown command /bogus"), std::string::npos) << r.err;
    // The same question in a fresh conversation gets the same greedy reply.
    ASSERT_EQ(r.out.size() % 2, 0u);
    EXPECT_EQ(r.out.substr(0, r.out.size() / 2), r.out.substr(r.out.size() / 2));
}

TEST(ChatCli, PlainFormatWhenTheModelHasNoTemplate) {
    const auto r = run_tern_stdin("chat " + chat_models().plain + " -n 6 --verbose" + std::string(kGreedy), "Hi\nAgain\n");
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string note = "using the plain format";
    const size_t at = r.err.find(note);
    ASSERT_NE(at, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(note, at + 1), std::string::npos) << "said once";
    const auto turns = turn_lines(r.err);
    ASSERT_EQ(turns.size(), 2u) << r.err;
    EXPECT_GT(turns[1].reused, 0);
    EXPECT_EQ(llm_chat_lines(r.out), 2) << "plain replies are single lines: " << r.out;
    // The same model told to use ChatML by name renders with its control tokens.
    const auto t = run_tern_stdin("chat " + chat_models().plain + " -n 6 --template qwen" + std::string(kGreedy), "Hi\n");
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_EQ(t.err, "");
}

TEST(ChatCli, OldestTurnsAreDroppedWhenTheContextFills) {
    const std::string& path = chat_models().chatml;
    const std::string msg = "Tell me about the weather in the mountains";  // ~45 byte tokens
    const auto r = run_tern_stdin("chat " + path + " --ctx 160 -n 16 --verbose" + std::string(kGreedy),
                                  msg + "\n" + msg + "\n" + msg + "\n");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("oldest exchange"), std::string::npos) << r.err;
    for (const auto& t : turn_lines(r.err)) EXPECT_LE(t.prompt + 16, 160);
    // A message that cannot fit on its own is one error line; it is not sent and the chat goes on.
    const auto big = run_tern_stdin("chat " + path + " --ctx 32 -n 4" + std::string(kGreedy), msg + "\nHi\n");
    EXPECT_EQ(big.code, 0) << big.err;
    EXPECT_EQ(llm_chat_lines(big.err), 1) << big.err;
    EXPECT_NE(big.err.find("more than the context of 32"), std::string::npos) << big.err;
    EXPECT_NE(big.err.find("not sent"), std::string::npos) << big.err;
    EXPECT_FALSE(big.out.empty());  // the reply to "Hi"
}

TEST(ChatCli, BadInputIsOneLineError) {
    const std::string& path = chat_models().chatml;
    const auto missing = run_tern_stdin("chat " + chat_models().dir.file("nope.gguf"), "Hi\n");
    EXPECT_EQ(missing.code, 1);
    EXPECT_EQ(llm_chat_lines(missing.err), 1) << missing.err;
    EXPECT_NE(missing.err.find("nope.gguf"), std::string::npos) << missing.err;
    // The tiny test llama names its tokens but has no tokenizer.ggml.model.
    const auto no_tok = run_tern_stdin("chat " + tiny_models().get("llama_gqa").gguf_path, "Hi\n");
    EXPECT_EQ(no_tok.code, 1);
    EXPECT_EQ(llm_chat_lines(no_tok.err), 1) << no_tok.err;
    EXPECT_NE(no_tok.err.find("has no tokenizer"), std::string::npos) << no_tok.err;
    // Bad option values are usage errors (exit 2), as in tern generate.
    for (const char* opt : {"--temp -1", "--top-p 0", "--min-p 2", "--repeat-penalty 0", "-n 0", "--kv q8",
                            "--template alpaca"}) {
        const auto r = run_tern_stdin("chat " + path + " " + opt, "Hi\n");
        EXPECT_EQ(r.code, 2) << opt << ": " << r.err;
        EXPECT_EQ(llm_chat_lines(r.err), 1) << opt << ": " << r.err;
        EXPECT_EQ(r.out, "") << opt;
    }
}

}  // namespace
}  // namespace tern::llm::test
