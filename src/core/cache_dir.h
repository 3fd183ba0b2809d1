#pragma once
// Where scripts/setup.sh puts data sets and reference peers: $TERN_CACHE, or
// ~/.cache/tern. Loaders of installed data and the reference tests use this.
#include <string>

namespace tern {

std::string tern_cache_dir();

}  // namespace tern
