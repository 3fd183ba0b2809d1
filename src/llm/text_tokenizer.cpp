// Token-id parsing and the (for now empty) tokenizer bridge.
#include "llm/text_tokenizer.h"

#include <cctype>

#include "core/error.h"

namespace tern::llm {

std::unique_ptr<TextTokenizer> load_text_tokenizer(const std::string& /*model_path*/) {
    // TODO(lead): wrap tern::Tokenizer (io/tokenizer.h) once the tokenizers branch is merged.
    return nullptr;
}

std::vector<int32_t> parse_token_ids(std::string_view text, const std::string& where) {
    std::vector<int32_t> ids;
    size_t i = 0;
    while (i < text.size()) {
        const unsigned char ch = static_cast<unsigned char>(text[i]);
        if (std::isspace(ch) || ch == ',') {
            ++i;
            continue;
        }
        if (!std::isdigit(ch))
            throw InputError(where, format("expected a token id at offset %zu, found '%c'", i, text[i]));
        int64_t v = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            v = v * 10 + (text[i] - '0');
            if (v > INT32_MAX) throw InputError(where, "token id too large");
            ++i;
        }
        ids.push_back(static_cast<int32_t>(v));
    }
    return ids;
}

}  // namespace tern::llm
