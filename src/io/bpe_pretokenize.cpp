// GPT-2 pre-tokenization (see bpe_trainer.h) without a regex engine: one
// left-to-right scan that tries the regex's alternatives in their order.
#include <cstdint>

#include "io/bpe_trainer.h"

namespace tern {
namespace {

enum class CharClass { letter, number, space, other };

// Decodes one UTF-8 code point at `i`; malformed bytes count as one
// code point of class `other` so every byte string still splits.
uint32_t pretok_decode_utf8(std::string_view s, size_t i, size_t& len) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
    if (c0 < 0x80) return len = 1, c0;
    if ((c0 & 0xE0) == 0xC0 && c0 >= 0xC2 && cont(1)) {
        len = 2;
        return ((c0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    }
    if ((c0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
        len = 3;
        return ((c0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
               (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    }
    if ((c0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
        len = 4;
        return ((c0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
               ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
    }
    len = 1;
    return 0xFFFFFFFFu;  // not a code point: class `other`
}

bool is_space(uint32_t c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// \p{N} beyond ASCII digits: Latin-1 superscripts and fractions.
bool is_number(uint32_t c) {
    return (c >= '0' && c <= '9') || c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE);
}

// \p{L}: ASCII letters exactly; above ASCII, everything outside the blocks of
// punctuation, symbols, spaces and emoji (a table-free approximation that is
// right for the Latin, Greek, Cyrillic and CJK text these corpora contain).
bool is_letter(uint32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c == 0xFFFFFFFFu) return false;
    if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;  // Latin-1 punctuation and symbols
    if (c == 0xD7 || c == 0xF7) return false;                    // multiplication, division signs
    if (c >= 0x2000 && c <= 0x2BFF) return false;  // general punctuation, currency, arrows, math, shapes
    if (c >= 0x3000 && c <= 0x303F) return false;  // CJK punctuation
    if (c >= 0xFE30 && c <= 0xFE4F) return false;  // CJK compatibility forms
    if (c >= 0xFF00 && c <= 0xFF20) return false;  // full-width punctuation and digits
    if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji and pictographs
    return true;
}

CharClass pretok_classify(uint32_t c) {
    if (is_letter(c)) return CharClass::letter;
    if (is_number(c)) return CharClass::number;
    if (is_space(c)) return CharClass::space;
    return CharClass::other;
}

// Length of the contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t contraction_at(std::string_view s, size_t i) {
    if (s[i] != '\'' || i + 1 >= s.size()) return 0;
    const char a = s[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 < s.size()) {
        const char b = s[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
    return 0;
}

}  // namespace

void for_each_pretoken(std::string_view s, const std::function<void(std::string_view)>& fn) {
    const size_t n = s.size();
    size_t i = 0;
    // End of the run of code points of class `cls` starting at j.
    auto run_end = [&](size_t j, CharClass cls) {
        while (j < n) {
            size_t len;
            if (pretok_classify(pretok_decode_utf8(s, j, len)) != cls) break;
            j += len;
        }
        return j;
    };
    while (i < n) {
        if (const size_t c = contraction_at(s, i)) {
            fn(s.substr(i, c));
            i += c;
            continue;
        }
        size_t len;
        const CharClass cls = pretok_classify(pretok_decode_utf8(s, i, len));
        if (cls != CharClass::space) {
            const size_t end = run_end(i + len, cls);
            fn(s.substr(i, end - i));
            i = end;
            continue;
        }
        // ' ?X+': a single ASCII space joins the letter / number / other run after it.
        if (s[i] == ' ' && i + 1 < n) {
            size_t len2;
            const CharClass next = pretok_classify(pretok_decode_utf8(s, i + 1, len2));
            if (next != CharClass::space) {
                const size_t end = run_end(i + 1 + len2, next);
                fn(s.substr(i, end - i));
                i = end;
                continue;
            }
        }
        // Whitespace run: '\s+(?!\S)' leaves the last space for the next word.
        size_t j = i, last = i;
        while (j < n) {
            size_t l;
            if (!is_space(pretok_decode_utf8(s, j, l))) break;
            last = j;
            j += l;
        }
        const size_t end = (j < n && last > i) ? last : j;
        fn(s.substr(i, end - i));
        i = end;
    }
}

std::vector<std::string_view> pretokenize(std::string_view text) {
    std::vector<std::string_view> out;
    for_each_pretoken(text, [&](std::string_view w) { out.push_back(w); });
    return out;
}

}  // namespace tern
