// The split regexes as forward scans. Every rule looks at most two code points
// ahead before committing, except runs (letters, digits, whitespace), which
// are scanned once; the whole split is linear in the text.
#include "io/pretokenizer.h"

#include "io/unicode_text.h"

namespace tern {
namespace {

using unicode::CpClass;

struct Scanner {
    std::string_view s;

    struct Cp {
        uint32_t cp = 0;
        uint32_t len = 0;  // 0: past the end
        CpClass cls = CpClass::other;
    };
    Cp at(size_t pos) const {
        if (pos >= s.size()) return {};
        const unicode::Decoded d = unicode::decode_utf8(s, pos);
        return {d.cp, d.len, unicode::classify(d.cp)};
    }
    // End of the run of `cls` code points starting at pos (at most max_count of them).
    size_t run(size_t pos, CpClass cls, size_t max_count = SIZE_MAX) const {
        for (size_t count = 0; count < max_count; ++count) {
            const Cp c = at(pos);
            if (!c.len || c.cls != cls) break;
            pos += c.len;
        }
        return pos;
    }
    size_t newline_run(size_t pos) const {
        while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n')) ++pos;
        return pos;
    }
    // \s+(?!\S)|\s+ at a whitespace code point: the whole run when it ends the
    // text or is a single code point, else the run minus its last code point
    // (which then leads the next piece).
    size_t whitespace_tail(size_t pos) const {
        size_t last_start = pos, count = 0;
        for (Cp c = at(pos); c.len && c.cls == CpClass::space; c = at(pos)) {
            last_start = pos;
            pos += c.len;
            ++count;
        }
        if (pos == s.size() || count < 2) return pos;
        return last_start;
    }
    // Length of a contraction ('s 't 're 've 'm 'll 'd) at pos, 0 if none.
    size_t contraction(size_t pos, bool ignore_case) const {
        if (pos + 1 >= s.size() || s[pos] != '\'') return 0;
        auto lower = [&](size_t i) -> char {
            if (i >= s.size()) return 0;
            const char c = s[i];
            return (ignore_case && c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
        };
        const char a = lower(pos + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        const char b = lower(pos + 2);
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        return 0;
    }
};

size_t match_gpt2(const Scanner& sc, size_t i) {
    if (size_t n = sc.contraction(i, false)) return i + n;
    const Scanner::Cp c0 = sc.at(i);
    size_t j = i;
    Scanner::Cp cj = c0;
    if (c0.cp == ' ') {  // the optional leading space of ` ?\p{L}+` and friends
        j = i + 1;
        cj = sc.at(j);
    }
    if (cj.len && cj.cls != CpClass::space) return sc.run(j, cj.cls);
    return sc.whitespace_tail(i);  // c0 is whitespace here
}

size_t match_llama3(const Scanner& sc, size_t i, size_t max_digits) {
    if (size_t n = sc.contraction(i, true)) return i + n;
    const Scanner::Cp c0 = sc.at(i);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (c0.cls == CpClass::letter) return sc.run(i, CpClass::letter);
    if (c0.cls != CpClass::number && c0.cp != '\r' && c0.cp != '\n') {
        if (sc.at(i + c0.len).cls == CpClass::letter && sc.at(i + c0.len).len)
            return sc.run(i + c0.len, CpClass::letter);
    }
    // \p{N}{1,3}
    if (c0.cls == CpClass::number) return sc.run(i, CpClass::number, max_digits);
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    size_t j = i;
    Scanner::Cp cj = c0;
    if (c0.cp == ' ') {
        j = i + 1;
        cj = sc.at(j);
    }
    if (cj.len && cj.cls == CpClass::other) return sc.newline_run(sc.run(j, CpClass::other));
    // c0 is whitespace. \s*[\r\n]+ : up to the last \r or \n of the whitespace run.
    size_t pos = i, newline_end = 0;
    for (Scanner::Cp c = c0; c.len && c.cls == CpClass::space; c = sc.at(pos)) {
        pos += c.len;
        if (c.cp == '\r' || c.cp == '\n') newline_end = pos;
    }
    if (newline_end) return newline_end;
    return sc.whitespace_tail(i);
}

}  // namespace

const char* split_pattern_name(SplitPattern p) {
    switch (p) {
        case SplitPattern::gpt2: return "gpt2";
        case SplitPattern::llama3: return "llama3";
        case SplitPattern::qwen2: return "qwen2";
    }
    return "?";
}

std::string_view split_pattern_regex(SplitPattern p) {
    switch (p) {
        case SplitPattern::gpt2:
            return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
        case SplitPattern::llama3:
            return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
        case SplitPattern::qwen2:
            return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    }
    return {};
}

void split_pretokens(std::string_view text, SplitPattern pattern, std::vector<std::string_view>& pieces) {
    const Scanner sc{text};
    for (size_t i = 0; i < text.size();) {
        size_t end = 0;
        switch (pattern) {
            case SplitPattern::gpt2: end = match_gpt2(sc, i); break;
            case SplitPattern::llama3: end = match_llama3(sc, i, 3); break;
            case SplitPattern::qwen2: end = match_llama3(sc, i, 1); break;
        }
        if (end <= i) end = i + sc.at(i).len;  // cannot happen; guarantees progress
        pieces.push_back(text.substr(i, end - i));
        i = end;
    }
}

}  // namespace tern
