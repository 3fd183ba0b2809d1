#include "cli/option_ranges.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tern::cli {
namespace {

// The number `s` spells (as strtold reads it: 12, 1e9, 0x10), if all of s is one.
bool parse_number(const std::string& s, long double& v) {
    if (s.empty()) return false;
    errno = 0;
    char* end = nullptr;
    v = std::strtold(s.c_str(), &end);
    return end == s.c_str() + s.size() && errno != ERANGE;
}

std::string real_text(double v) { return format("%g", v); }

}  // namespace

CLI::Validator int_range(int64_t lo, int64_t hi) {
    const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return CLI::Validator(
        [lo, hi, range](std::string& s) -> std::string {
            long double v = 0;
            // Not a number at all: CLI11's conversion reports it ("Could not convert").
            if (!parse_number(s, v)) return {};
            if (v < static_cast<long double>(lo) || v > static_cast<long double>(hi))
                return s + " is outside " + range;
            if (v != std::floor(v)) return s + " is not an integer in " + range;
            return {};
        },
        "INT in " + range);
}

CLI::Validator real_range(double lo, double hi, bool open_low) {
    const std::string range = (open_low ? "(" : "[") + real_text(lo) + ", " + real_text(hi) + "]";
    return CLI::Validator(
        [lo, hi, open_low, range](std::string& s) -> std::string {
            long double v = 0;
            if (!parse_number(s, v)) return {};
            const bool low_ok = open_low ? v > lo : v >= lo;
            if (!std::isfinite(static_cast<double>(v)) || !low_ok || v > hi) return s + " is outside " + range;
            return {};
        },
        "REAL in " + range);
}

CLI::Validator seed_range() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            const size_t k = s.find_first_not_of(" \t");
            if (k != std::string::npos && s[k] == '-') return s + " is outside [0, 18446744073709551615]";
            return {};
        },
        "UINT64");
}

}  // namespace tern::cli
