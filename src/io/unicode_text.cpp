// UTF-8 decoding, code point classes and NFC over the generated tables.
#include "io/unicode_text.h"

#include <algorithm>
#include <array>
#include <vector>

#include "io/unicode_tables.h"

namespace tern::unicode {
namespace {

// Hangul syllables compose and decompose algorithmically (Unicode ch. 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

bool is_white_space(uint32_t cp) {
    // The Unicode White_Space property: what \s means in the tokenizers' regexes.
    if (cp < 0x80) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

uint32_t range_lookup(const CodepointRange* table, size_t n, uint32_t cp) {
    const CodepointRange* end = table + n;
    const CodepointRange* it =
        std::upper_bound(table, end, cp, [](uint32_t v, const CodepointRange& r) { return v < r.first; });
    if (it == table) return 0;
    --it;
    return cp <= it->last ? it->value : 0;
}

struct AsciiClasses {
    std::array<CpClass, 128> cls{};
    AsciiClasses() {
        for (uint32_t c = 0; c < 128; ++c) {
            if (is_white_space(c)) cls[c] = CpClass::space;
            else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') cls[c] = CpClass::letter;
            else if (c >= '0' && c <= '9') cls[c] = CpClass::number;
            else cls[c] = CpClass::other;
        }
    }
};
const AsciiClasses kAscii;

uint8_t combining_class(uint32_t cp) {
    if (cp < 0x300 || cp >= kInvalidBase) return 0;
    return static_cast<uint8_t>(range_lookup(kCombiningClassRanges, kCombiningClassRangeCount, cp));
}

const Decomposition* find_decomposition(uint32_t cp) {
    const Decomposition* end = kCanonicalDecompositions + kCanonicalDecompositionCount;
    const Decomposition* it = std::lower_bound(kCanonicalDecompositions, end, cp,
                                               [](const Decomposition& d, uint32_t v) { return d.cp < v; });
    return (it != end && it->cp == cp) ? it : nullptr;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (cp >= 0xC0 && cp < kInvalidBase) {
        if (const Decomposition* d = find_decomposition(cp)) {
            decompose(d->first, out);
            if (d->second) decompose(d->second, out);
            return;
        }
    }
    out.push_back(cp);
}

// The primary composite of (a, b), or 0 when there is none.
uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    const Composition* end = kPrimaryCompositions + kPrimaryCompositionCount;
    const Composition* it = std::lower_bound(kPrimaryCompositions, end, std::pair{a, b},
                                             [](const Composition& c, const std::pair<uint32_t, uint32_t>& v) {
                                                 return c.first < v.first || (c.first == v.first && c.second < v.second);
                                             });
    return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

}  // namespace

Decoded decode_utf8(std::string_view s, size_t pos) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
    const size_t left = s.size() - pos;
    const uint8_t b0 = p[0];
    if (b0 < 0x80) return {b0, 1};
    auto cont = [&](size_t i) { return i < left && (p[i] & 0xC0) == 0x80; };
    if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) return {uint32_t(b0 & 0x1F) << 6 | (p[1] & 0x3F), 2};
    if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
        const uint32_t cp = uint32_t(b0 & 0x0F) << 12 | uint32_t(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3};
    } else if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        const uint32_t cp =
            uint32_t(b0 & 0x07) << 18 | uint32_t(p[1] & 0x3F) << 12 | uint32_t(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
        if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4};
    }
    return {kInvalidBase + b0, 1};
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp >= kInvalidBase) {
        out.push_back(static_cast<char>(cp - kInvalidBase));
    } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

CpClass classify(uint32_t cp) {
    if (cp < 128) return kAscii.cls[cp];
    if (cp >= kInvalidBase) return CpClass::other;
    if (is_white_space(cp)) return CpClass::space;
    switch (range_lookup(kLetterNumberRanges, kLetterNumberRangeCount, cp)) {
        case 1: return CpClass::letter;
        case 2: return CpClass::number;
        default: return CpClass::other;
    }
}

bool nfc_quick_yes(std::string_view s) {
    // Lead bytes below 0xCC encode code points below U+0300, none of which
    // decomposes or composes with what precedes it.
    for (unsigned char c : s)
        if (c >= 0xCC) return false;
    return true;
}

namespace {

// NFC of one segment, the textbook way: decompose, reorder, compose.
void nfc_segment(std::string_view s, std::string& result) {
    std::vector<uint32_t> cps;  // (code points) fully decomposed, then reordered
    cps.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        const Decoded d = decode_utf8(s, pos);
        decompose(d.cp, cps);
        pos += d.len;
    }
    // Canonical ordering: stable sort of each run of non-starters by class.
    for (size_t i = 0; i < cps.size();) {
        if (combining_class(cps[i]) == 0) { ++i; continue; }
        size_t j = i;
        while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
        std::stable_sort(cps.begin() + i, cps.begin() + j,
                         [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }
    // Canonical composition: a character joins the last starter unless blocked.
    std::vector<uint32_t> out;
    out.reserve(cps.size());
    long starter = -1;
    for (uint32_t c : cps) {
        const uint8_t cc = combining_class(c);
        if (starter >= 0) {
            const bool adjacent = out.size() == size_t(starter) + 1;
            const uint8_t last_cc = adjacent ? 0 : combining_class(out.back());
            if (adjacent || (last_cc != 0 && last_cc < cc)) {
                if (const uint32_t comp = compose_pair(out[starter], c)) {
                    out[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = long(out.size());
        out.push_back(c);
    }
    for (uint32_t c : out) append_utf8(result, c);
}

// Code points that occur as the second half of a primary composite.
const std::vector<uint32_t>& composition_seconds() {
    static const std::vector<uint32_t> seconds = [] {
        std::vector<uint32_t> v;
        for (size_t i = 0; i < kPrimaryCompositionCount; ++i) v.push_back(kPrimaryCompositions[i].second);
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    }();
    return seconds;
}

// An inert code point is a starter that neither decomposes nor composes with
// anything before it, so NFC(x + c + y) == NFC(x) + NFC(c + y): text can be
// cut in front of it and only the pieces holding other code points need work.
bool inert(uint32_t cp) {
    if (cp < 0x300 || cp >= kInvalidBase) return true;
    if (cp >= kSBase && cp < kSBase + kSCount) return false;                  // decomposes
    if (cp >= kVBase && cp < kVBase + kVCount) return false;                  // composes after L
    if (cp > kTBase && cp < kTBase + kTCount) return false;                   // composes after LV
    if (combining_class(cp) != 0 || find_decomposition(cp)) return false;
    const auto& sec = composition_seconds();
    return !std::binary_search(sec.begin(), sec.end(), cp);
}

}  // namespace

std::string nfc(std::string_view s) {
    if (nfc_quick_yes(s)) return std::string(s);
    std::string result;
    result.reserve(s.size());
    size_t segment = 0;  // start of the segment in progress
    bool dirty = false;  // it holds a code point that may change
    for (size_t pos = 0; pos < s.size();) {
        const Decoded d = decode_utf8(s, pos);
        if (inert(d.cp)) {
            if (dirty) nfc_segment(s.substr(segment, pos - segment), result);
            else result.append(s, segment, pos - segment);
            segment = pos;
            dirty = false;
        } else {
            dirty = true;
        }
        pos += d.len;
    }
    if (dirty) nfc_segment(s.substr(segment), result);
    else result.append(s, segment, std::string_view::npos);
    return result;
}

}  // namespace tern::unicode
