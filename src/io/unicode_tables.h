#pragma once
// Unicode facts the tokenizers need, generated from Python's unicodedata by
// scripts/gen_unicode_tables.py into unicode_tables.cpp (see that script).
#include <cstddef>
#include <cstdint>

namespace tern::unicode {

struct CodepointRange {
    uint32_t first, last;  // inclusive
    uint32_t value;        // letter/number table: 1 = L*, 2 = N*; combining table: the class
};
struct Decomposition {
    uint32_t cp, first, second;  // second == 0: singleton mapping
};
struct Composition {
    uint32_t first, second, composite;  // sorted by (first, second)
};

extern const char* const kUnicodeVersion;
extern const CodepointRange kLetterNumberRanges[];
extern const size_t kLetterNumberRangeCount;
extern const CodepointRange kCombiningClassRanges[];
extern const size_t kCombiningClassRangeCount;
extern const Decomposition kCanonicalDecompositions[];
extern const size_t kCanonicalDecompositionCount;
extern const Composition kPrimaryCompositions[];
extern const size_t kPrimaryCompositionCount;

}  // namespace tern::unicode
