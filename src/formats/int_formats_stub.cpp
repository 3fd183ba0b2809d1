// Placeholder until the int family lands (replaced by formats/int_formats.cpp).
#include "formats/format.h"

namespace tern {
std::span<const FormatDescriptor> int_formats() { return {}; }
}  // namespace tern
