#include "core/cache_dir.h"

#include <cstdlib>

namespace tern {

std::string tern_cache_dir() {
    if (const char* c = std::getenv("TERN_CACHE"); c && *c) return c;
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/root") + "/.cache/tern";
}

}  // namespace tern
