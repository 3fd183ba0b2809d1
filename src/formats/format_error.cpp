#include "formats/format_error.h"

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"

namespace tern {

FormatError measure_format_error(const FormatDescriptor& fmt, std::span<const float> x) {
    const std::vector<float> y = round_trip(fmt, x);
    double signal = 0, noise = 0;
    FormatError e;
    for (size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(y[i])) e.finite = false;
        const double d = static_cast<double>(x[i]) - y[i];
        signal += static_cast<double>(x[i]) * x[i];
        noise += d * d;
        e.max_abs = std::max(e.max_abs, std::fabs(d));
    }
    e.rel_rms = signal > 0 ? std::sqrt(noise / signal) : 0;
    e.sqnr_db = noise > 0 ? 10 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
    return e;
}

std::vector<float> synthetic_data(const std::string& kind, int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<float> x(static_cast<size_t>(n));
    if (kind == "gaussian") {
        std::normal_distribution<float> d(0.0f, 1.0f);
        for (auto& v : x) v = d(rng);
    } else if (kind == "laplace") {
        std::exponential_distribution<float> e(1.0f);
        std::bernoulli_distribution sign(0.5);
        for (auto& v : x) v = sign(rng) ? e(rng) : -e(rng);
    } else if (kind == "outliers") {
        std::normal_distribution<float> d(0.0f, 1.0f);
        std::bernoulli_distribution outlier(0.001);
        for (auto& v : x) v = d(rng) * (outlier(rng) ? 50.0f : 1.0f);
    } else {
        throw UsageError("synthetic", "unknown distribution '" + kind + "' (use gaussian, laplace or outliers)");
    }
    return x;
}

}  // namespace tern
