// Chat prompts, checked against the families' reference renderings.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "io/chat_template.h"
#include "io/tokenizer.h"
#include "tokenizer_ref_check.h"
#include "ref/reference.h"

namespace tern {
namespace {

const std::vector<ChatMessage> kChat = {
    {"system", "You are terse."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "2+2?"}};

TEST(ChatTemplate, Llama2) {
    EXPECT_EQ(apply_chat_template(ChatFamily::llama2, kChat),
              "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] 2+2? [/INST]");
}

TEST(ChatTemplate, Llama3) {
    EXPECT_EQ(apply_chat_template(ChatFamily::llama3, kChat),
              "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, ChatMlAndZephyr) {
    const std::vector<ChatMessage> one = {{"user", "Hi!"}};
    EXPECT_EQ(apply_chat_template(ChatFamily::chatml, one), "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(apply_chat_template(ChatFamily::chatml, one, false), "<|im_start|>user\nHi!<|im_end|>\n");
    EXPECT_EQ(apply_chat_template(ChatFamily::zephyr, kChat),
              "<|system|>\nYou are terse.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\n2+2?</s>\n"
              "<|assistant|>\n");
}

TEST(ChatTemplate, PlainLinesAndEndOfTurnTokens) {
    EXPECT_EQ(apply_chat_template(ChatFamily::plain, kChat),
              "System: You are terse.\nUser: Hi!\nAssistant: Hello.\nUser: 2+2?\nAssistant:");
    // A reply as sampled (leading space) re-renders to the text the model was fed.
    EXPECT_EQ(apply_chat_template(ChatFamily::plain, {{"user", "Hi!"}, {"assistant", " Yo"}}, false),
              "User: Hi!\nAssistant: Yo\n");
    EXPECT_EQ(chat_family_from_name("plain"), ChatFamily::plain);
    EXPECT_TRUE(chat_end_of_turn_tokens(ChatFamily::plain).empty());
    EXPECT_EQ(chat_end_of_turn_tokens(ChatFamily::chatml).front(), "<|im_end|>");
    EXPECT_EQ(chat_end_of_turn_tokens(ChatFamily::llama3).front(), "<|eot_id|>");
}

TEST(ChatTemplate, NamesAndErrors) {
    EXPECT_EQ(chat_family_from_name("qwen"), ChatFamily::chatml);
    EXPECT_EQ(chat_family_from_name("tinyllama"), ChatFamily::zephyr);
    EXPECT_THROW(chat_family_from_name("alpaca"), UsageError);
    EXPECT_THROW(apply_chat_template(ChatFamily::chatml, {{"robot", "x"}}), InputError);
    EXPECT_THROW(apply_chat_template(ChatFamily::llama2, {{"user", "a"}, {"system", "b"}}), InputError);
    ChatFamily f{};
    EXPECT_TRUE(chat_family_from_template("{% for m in messages %}<|im_start|>{{ m.role }}", f));
    EXPECT_EQ(f, ChatFamily::chatml);
    EXPECT_FALSE(chat_family_from_template("{{ messages }}", f));
}

TEST(ChatTemplate, Llama3PromptTokenizesToHeaderIds) {
    const std::string path = testref::model_path("llama3");
    if (!std::filesystem::exists(path)) TERN_MISSING_REFERENCE() << path << " is missing (run scripts/setup.sh)";
    const auto ids = testref::shared_tokenizer("llama3").encode(apply_chat_template(ChatFamily::llama3, {{"user", "Hi!"}}));
    // <|start_header_id|> user <|end_header_id|> \n\n Hi ! <|eot_id|> <|start_header_id|> assistant ...
    ASSERT_GE(ids.size(), 9u);
    EXPECT_EQ(ids[0], 128006);
    EXPECT_EQ(ids[2], 128007);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 128009), 1);
    EXPECT_EQ(ids.back(), 271);  // "\n\n"
}

}  // namespace
}  // namespace tern
