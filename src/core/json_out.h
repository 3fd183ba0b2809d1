#pragma once
// JSON output for --json: nlohmann::json, printed with a trailing newline.
#include <cstdio>
#include <nlohmann/json.hpp>

namespace tern {

using Json = nlohmann::ordered_json;

inline void print_json(const Json& j) {
    const std::string s = j.dump(2);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
}

}  // namespace tern
