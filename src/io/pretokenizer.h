#pragma once
// Hand-written matchers for the byte-level BPE split regexes. Each one returns
// exactly the pieces the regex (leftmost-first alternation, as in Oniguruma,
// Rust regex-fancy and JS) would find, so BPE sees the same words. \s is the
// Unicode White_Space property, \p{L} / \p{N} the general categories L* / N*.
#include <string_view>
#include <vector>

namespace tern {

enum class SplitPattern {
    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    gpt2,
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    llama3,
    // The Llama-3 pattern with \p{N} (single digits) in place of \p{N}{1,3}: Qwen2/2.5/3.
    qwen2,
};

const char* split_pattern_name(SplitPattern p);
// The regex text for a pattern, as it appears in tokenizer.json files.
std::string_view split_pattern_regex(SplitPattern p);

// Appends the pieces of `text`, in order; together they cover it exactly.
void split_pretokens(std::string_view text, SplitPattern pattern, std::vector<std::string_view>& pieces);

}  // namespace tern
