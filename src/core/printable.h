#pragma once
// Text from a file (tensor names, metadata, tokens) shown on a terminal: a
// crafted name must not move the cursor, recolour the screen or split an
// error over several lines. printable() keeps valid UTF-8 readable ('Ġ', CJK)
// and escapes everything a terminal would act on.
#include <string>
#include <string_view>

namespace tern {

// C0 controls and DEL become \n, \t, \r or \xNN; bytes that are not valid
// UTF-8 become \xNN; C1 controls (U+0080..U+009F), line/paragraph separators
// and bidi overrides become \uNNNN. Everything else is copied unchanged.
std::string printable(std::string_view s);

// Code points in valid UTF-8 (each invalid byte counts as one): the width a
// table gives an already-printable cell.
size_t display_width(std::string_view s);

}  // namespace tern
