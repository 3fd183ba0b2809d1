#include "core/printable.h"

#include <cstdint>
#include <cstdio>

namespace tern {
namespace {

// Length of the valid UTF-8 sequence at s[k] and its code point; 0 when invalid
// (truncated, overlong, surrogate or past U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t k, uint32_t& cp) {
    const auto c = static_cast<unsigned char>(s[k]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || k + len > s.size()) return 0;
    cp = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t m = 1; m < len; ++m) {
        const auto cc = static_cast<unsigned char>(s[k + m]);
        if ((cc & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

// Code points a terminal or a bidi-aware viewer acts on rather than shows.
bool is_control_code_point(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f;
}

}  // namespace

std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    char buf[12];
    size_t k = 0;
    while (k < s.size()) {
        const auto c = static_cast<unsigned char>(s[k]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
            ++k;
            continue;
        }
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x80) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            uint32_t cp = 0;
            const size_t len = utf8_sequence(s, k, cp);
            if (len == 0) {
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            } else {
                if (is_control_code_point(cp)) {
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
                    out += buf;
                } else {
                    out.append(s.substr(k, len));
                }
                k += len;
                continue;
            }
        }
        ++k;
    }
    return out;
}

size_t display_width(std::string_view s) {
    size_t n = 0;
    for (size_t k = 0; k < s.size(); ++n) {
        uint32_t cp = 0;
        const size_t len = utf8_sequence(s, k, cp);
        k += len ? len : 1;
    }
    return n;
}

}  // namespace tern
