// Placeholder until the gguf family lands (replaced by formats/gguf_formats.cpp).
#include "formats/format.h"

namespace tern {
std::span<const FormatDescriptor> gguf_formats() { return {}; }
}  // namespace tern
