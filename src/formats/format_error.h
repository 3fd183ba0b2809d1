#pragma once
// Round-trip error statistics of a format on given data.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/format.h"

namespace tern {

struct FormatError {
    double rel_rms = 0;   // sqrt(sum (x - q(x))^2 / sum x^2)
    double sqnr_db = 0;   // 10 log10(sum x^2 / sum (x - q(x))^2); inf when exact
    double max_abs = 0;   // max |x - q(x)|
    bool finite = true;   // false when the reconstruction has NaN/Inf
};

FormatError measure_format_error(const FormatDescriptor& fmt, std::span<const float> x);

// Synthetic weight-like data: "gaussian" (N(0,1)), "laplace" (heavy tails, b=1),
// "outliers" (N(0,1) with 0.1% of values scaled by 50, like LLM activations).
std::vector<float> synthetic_data(const std::string& kind, int64_t n, uint64_t seed);

}  // namespace tern
