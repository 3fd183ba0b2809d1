#pragma once
// UTF-8 decoding that never fails, code point classes for the pre-tokenizers,
// and NFC normalisation. Invalid UTF-8 bytes are kept as single "other" units
// so byte-level tokenizers still round-trip arbitrary bytes.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::unicode {

enum class CpClass : uint8_t { other = 0, letter = 1, number = 2, space = 3 };

struct Decoded {
    uint32_t cp;   // the code point, or kInvalidBase + byte for an invalid byte
    uint32_t len;  // bytes consumed (1..4)
};
constexpr uint32_t kInvalidBase = 0x110000;

// Decodes the code point starting at s[pos] (pos < s.size()); strict UTF-8
// (no overlongs, surrogates or values past U+10FFFF), one byte per invalid unit.
Decoded decode_utf8(std::string_view s, size_t pos);
void append_utf8(std::string& out, uint32_t cp);  // kInvalidBase + b appends byte b

// \p{L} -> letter, \p{N} -> number, White_Space -> space, anything else (and
// invalid bytes) -> other.
CpClass classify(uint32_t cp);

// Canonical composition (NFC). Text whose code points are all below U+0300 is
// returned unchanged without work; invalid bytes pass through untouched.
std::string nfc(std::string_view s);
bool nfc_quick_yes(std::string_view s);  // true when nfc(s) == s is certain without work

}  // namespace tern::unicode
