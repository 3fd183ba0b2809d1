// The chat formats as the families' reference templates render them
// (whitespace included, since models are sensitive to it).
#include "io/chat_template.h"

#include "core/error.h"

namespace tern {
namespace {

std::string strip(std::string_view s) {
    const char* ws = " \t\n\r";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

void check_role(const ChatMessage& m) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
        throw InputError("chat", "unknown role '" + m.role + "' (system, user or assistant)");
}

// Llama-2: the system prompt folds into the first user turn; every user turn
// after the first opens with <s> because each exchange is its own sequence.
std::string llama2(const std::vector<ChatMessage>& msgs) {
    std::string out, system;
    size_t i = 0;
    if (!msgs.empty() && msgs[0].role == "system") system = strip(msgs[i++].content);
    bool first_user = true;
    for (; i < msgs.size(); ++i) {
        const ChatMessage& m = msgs[i];
        if (m.role == "system") throw InputError("chat", "llama2: a system message may only come first");
        if (m.role == "user") {
            if (!first_user) out += "<s>";
            out += "[INST] ";
            if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
            out += strip(m.content) + " [/INST]";
            first_user = false;
        } else {
            out += " " + strip(m.content) + " </s>";
        }
    }
    return out;
}

// Role-prefixed lines. The generation prompt ends at "Assistant:" with no
// space, so the model's first token carries it, and the content is stripped
// on the way back in: a reply re-renders to the text the model was fed.
std::string plain(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) {
    std::string out;
    for (const ChatMessage& m : msgs) {
        const char* label = m.role == "system" ? "System:" : m.role == "user" ? "User:" : "Assistant:";
        const std::string content = strip(m.content);
        out += label;
        if (!content.empty()) out += " " + content;
        out += "\n";
    }
    if (add_generation_prompt) out += "Assistant:";
    return out;
}

}  // namespace

ChatFamily chat_family_from_name(std::string_view name) {
    if (name == "llama2" || name == "llama-2" || name == "mistral") return ChatFamily::llama2;
    if (name == "llama3" || name == "llama-3") return ChatFamily::llama3;
    if (name == "chatml" || name == "qwen" || name == "qwen2" || name == "qwen3") return ChatFamily::chatml;
    if (name == "zephyr" || name == "tinyllama") return ChatFamily::zephyr;
    if (name == "plain") return ChatFamily::plain;
    throw UsageError("chat", "unknown chat template '" + std::string(name) +
                                 "' (llama2, llama3, chatml/qwen, zephyr/tinyllama, plain)");
}

const char* chat_family_name(ChatFamily f) {
    switch (f) {
        case ChatFamily::llama2: return "llama2";
        case ChatFamily::llama3: return "llama3";
        case ChatFamily::chatml: return "chatml";
        case ChatFamily::zephyr: return "zephyr";
        case ChatFamily::plain: return "plain";
    }
    return "?";
}

std::vector<std::string> chat_end_of_turn_tokens(ChatFamily f) {
    switch (f) {
        case ChatFamily::llama2: return {"</s>"};
        case ChatFamily::llama3: return {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"};
        case ChatFamily::chatml: return {"<|im_end|>", "<|endoftext|>"};
        case ChatFamily::zephyr: return {"</s>"};
        case ChatFamily::plain: return {};
    }
    return {};
}

bool chat_family_from_template(std::string_view jinja, ChatFamily& family) {
    auto has = [&](std::string_view s) { return jinja.find(s) != std::string_view::npos; };
    if (has("<|start_header_id|>")) family = ChatFamily::llama3;
    else if (has("<|im_start|>")) family = ChatFamily::chatml;
    else if (has("[INST]")) family = ChatFamily::llama2;
    else if (has("<|user|>") && has("<|assistant|>")) family = ChatFamily::zephyr;
    else return false;
    return true;
}

std::string apply_chat_template(ChatFamily family, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
    for (const ChatMessage& m : messages) check_role(m);
    std::string out;
    switch (family) {
        case ChatFamily::llama2:
            return llama2(messages);  // the open [/INST] already asks for the answer
        case ChatFamily::llama3:
            for (const ChatMessage& m : messages)
                out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + strip(m.content) + "<|eot_id|>";
            if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
            return out;
        case ChatFamily::chatml:
            for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
            if (add_generation_prompt) out += "<|im_start|>assistant\n";
            return out;
        case ChatFamily::zephyr:
            for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
            if (add_generation_prompt) out += "<|assistant|>\n";
            return out;
        case ChatFamily::plain:
            return plain(messages, add_generation_prompt);
    }
    return out;
}

}  // namespace tern
