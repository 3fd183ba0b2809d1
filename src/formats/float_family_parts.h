#pragma once
// Parts of float_formats() that live in their own files.
#include <span>

#include "formats/format.h"

namespace tern {

std::span<const FormatDescriptor> fixed_point_formats();  // formats/fixed_point_formats.cpp
std::span<const FormatDescriptor> bfp_formats();          // formats/bfp_formats.cpp

}  // namespace tern
