#pragma once
// Chat prompts for common model families, written out by hand (no Jinja):
//   llama2  [INST] <<SYS>> ... <</SYS>> ... [/INST]      (Llama-2-chat, Mistral-instruct)
//   llama3  <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
//   chatml  <|im_start|>role\n...<|im_end|>\n           (Qwen, many others)
//   zephyr  <|role|>\n...</s>\n                          (Zephyr, TinyLlama-chat)
//   plain   System: ...\nUser: ...\nAssistant: ...\n    (models without a template,
//           e.g. ones trained by tern: no special tokens, a reply is one line)
// The prompt never starts with the BOS token: encode(prompt, add_special=true)
// adds it, so it is not doubled. Special tokens inside the prompt are matched
// by encode(parse_special = true).
#include <string>
#include <string_view>
#include <vector>

namespace tern {

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

enum class ChatFamily { llama2, llama3, chatml, zephyr, plain };

// "llama2", "llama-2", "mistral" -> llama2; "llama3", "llama-3" -> llama3;
// "chatml", "qwen", "qwen2", "qwen3" -> chatml; "zephyr", "tinyllama" -> zephyr;
// "plain" -> plain.
// Throws UsageError naming the accepted names otherwise.
ChatFamily chat_family_from_name(std::string_view name);
const char* chat_family_name(ChatFamily f);
// Guesses the family from a Jinja chat template (GGUF tokenizer.chat_template)
// by its marker tokens; false when none is recognised.
bool chat_family_from_template(std::string_view jinja, ChatFamily& family);

// The vocabulary texts of the tokens that close an assistant turn in this
// family (the model's EOS also does); empty for plain, whose turns end at a newline.
std::vector<std::string> chat_end_of_turn_tokens(ChatFamily f);

// The prompt for `messages`; add_generation_prompt opens the assistant's turn.
// Throws InputError on an unknown role or a system message out of place.
std::string apply_chat_template(ChatFamily family, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt = true);

}  // namespace tern
