#include "quant/activation_observers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace tern::quant {
namespace {

constexpr const char* kObserverWhere = "calibration";

struct KindName {
    ObserverKind kind;
    const char* name;
};
constexpr KindName kKinds[] = {{ObserverKind::minmax, "minmax"},
                               {ObserverKind::movingavg, "movingavg"},
                               {ObserverKind::percentile, "percentile"},
                               {ObserverKind::mse, "mse"},
                               {ObserverKind::kl, "kl"}};

void check_finite(std::span<const float> values) {
    for (float v : values) {
        if (!std::isfinite(v)) throw InputError(kObserverWhere, std::isnan(v) ? "a NaN activation" : "an infinite activation");
    }
}

std::pair<float, float> batch_min_max(std::span<const float> values) {
    float lo = values[0], hi = values[0];
    for (float v : values) lo = std::min(lo, v), hi = std::max(hi, v);
    return {lo, hi};
}

class MinMaxObserver final : public ActivationObserver {
public:
    explicit MinMaxObserver(double averaging) : c_(averaging) {}
    int passes() const override { return 1; }
    void observe(std::span<const float> values, int) override {
        check_finite(values);
        if (values.empty()) return;
        const auto [lo, hi] = batch_min_max(values);
        if (!seen_) {
            r_ = {lo, hi};
            seen_ = true;
        } else if (c_ > 0) {  // moving average: each batch pulls the range by c
            r_.lo += static_cast<float>(c_ * (lo - r_.lo));
            r_.hi += static_cast<float>(c_ * (hi - r_.hi));
        } else {
            r_.lo = std::min(r_.lo, lo);
            r_.hi = std::max(r_.hi, hi);
        }
    }
    FloatRange range() const override {
        if (!seen_) throw InputError(kObserverWhere, "no values were observed");
        return r_;
    }

private:
    double c_;  // 0: plain min-max
    bool seen_ = false;
    FloatRange r_;
};

// Pass 0 finds the extent (holding 0); pass 1 counts values in `bins` equal
// bins over it, and |x| over [0, max |x|] for the KL search.
class HistogramObserver final : public ActivationObserver {
public:
    HistogramObserver(ObserverKind kind, const ObserverOptions& o) : kind_(kind), o_(o), extent_(0) {}
    int passes() const override { return 2; }
    void observe(std::span<const float> values, int pass) override {
        if (pass == 0) return extent_.observe(values, 0);
        check_finite(values);
        if (hist_.empty()) {
            const FloatRange e = extent_.range();
            lo_ = std::min(e.lo, 0.f);
            hi_ = std::max(e.hi, 0.f);
            max_abs_ = std::max(-lo_, hi_);
            hist_.assign(static_cast<size_t>(o_.bins), 0);
            abs_hist_.assign(static_cast<size_t>(o_.bins), 0);
        }
        const double width = static_cast<double>(hi_) - lo_;
        const int last = o_.bins - 1;
        for (float v : values) {
            const int b = width > 0 ? static_cast<int>((v - lo_) / width * o_.bins) : 0;
            hist_[static_cast<size_t>(std::clamp(b, 0, last))] += 1;
            const int a = max_abs_ > 0 ? static_cast<int>(std::fabs(v) / max_abs_ * o_.bins) : 0;
            abs_hist_[static_cast<size_t>(std::clamp(a, 0, last))] += 1;
        }
    }
    FloatRange range() const override {
        if (hist_.empty()) throw InputError(kObserverWhere, "no values were observed");
        const FloatRange extent{lo_, hi_};
        switch (kind_) {
            case ObserverKind::percentile: return percentile_range(hist_, extent, o_.percentile);
            case ObserverKind::mse: return mse_range(hist_, extent, o_.grid);
            default: {
                // A ReLU's many exact zeros are on every grid; left in, their bin
                // dominates both distributions and the search clips the tail away.
                std::vector<double> h = abs_hist_;
                if (lo_ >= 0) h[0] = 0;
                const float t = kl_threshold(h, max_abs_, o_.kl_levels);
                return {std::max(lo_, -t), std::min(hi_, t)};
            }
        }
    }

private:
    ObserverKind kind_;
    ObserverOptions o_;
    MinMaxObserver extent_;
    float lo_ = 0, hi_ = 0, max_abs_ = 0;
    std::vector<double> hist_, abs_hist_;
};

int32_t code_min(ActivationGrid g) { return g.is_unsigned ? 0 : -128; }
int32_t code_max(ActivationGrid g) { return g.is_unsigned ? 255 : 127; }

}  // namespace

ObserverKind parse_observer_kind(const std::string& name, const std::string& option) {
    for (const auto& k : kKinds) {
        if (name == k.name) return k.kind;
    }
    throw UsageError(option, "unknown calibration method '" + name + "' for a graph model (" + observer_kind_names() + ")");
}

const char* observer_kind_name(ObserverKind kind) {
    for (const auto& k : kKinds) {
        if (k.kind == kind) return k.name;
    }
    return "?";
}

std::string observer_kind_names() {
    std::string s;
    for (const auto& k : kKinds) s += (s.empty() ? "" : ", ") + std::string(k.name);
    return s;
}

QuantParams activation_params(FloatRange r, ActivationGrid grid) {
    const float lo = std::min(r.lo, 0.f), hi = std::max(r.hi, 0.f);
    QuantParams p;
    if (grid.symmetric) {
        const float a = std::max(-lo, hi);
        // int8: codes -127..127 around 0 (as ONNX Runtime); uint8: 0..255 around 128.
        p.scale = grid.is_unsigned ? 2 * a / 255.f : a / 127.f;
        p.zero_point = grid.is_unsigned ? 128 : 0;
    } else {
        p.scale = (hi - lo) / 255.f;
        if (p.scale > 0) {
            const double z = code_min(grid) - static_cast<double>(lo) / p.scale;
            p.zero_point = static_cast<int32_t>(std::clamp<double>(std::nearbyint(z), code_min(grid), code_max(grid)));
        } else {
            p.zero_point = grid.is_unsigned ? 0 : 0;
        }
    }
    if (!(p.scale > 0) || !std::isfinite(p.scale)) p.scale = 1;  // an all-zero tensor: any scale is exact
    return p;
}

int32_t quantize_value(float v, QuantParams p, ActivationGrid grid) {
    const double q = std::nearbyint(static_cast<double>(v) / p.scale) + p.zero_point;
    return static_cast<int32_t>(std::clamp<double>(q, code_min(grid), code_max(grid)));
}

FloatRange percentile_range(std::span<const double> hist, FloatRange extent, double percent) {
    double total = 0;
    for (double c : hist) total += c;
    if (total <= 0) return extent;
    const double width = (static_cast<double>(extent.hi) - extent.lo) / static_cast<double>(hist.size());
    const double cut = total * (1 - percent / 100.0);
    size_t first = 0, last = hist.size() - 1;
    for (double below = 0; first < last && below + hist[first] <= cut; ++first) below += hist[first];
    for (double above = 0; last > first && above + hist[last] <= cut; --last) above += hist[last];
    return {static_cast<float>(extent.lo + width * static_cast<double>(first)),
            static_cast<float>(extent.lo + width * static_cast<double>(last + 1))};
}

FloatRange mse_range(std::span<const double> hist, FloatRange extent, ActivationGrid grid) {
    const size_t n = hist.size();
    const double width = (static_cast<double>(extent.hi) - extent.lo) / static_cast<double>(n);
    if (!(width > 0)) return extent;
    // Each bin's values taken as spread evenly: four sample points per bin.
    constexpr double kOffsets[] = {0.125, 0.375, 0.625, 0.875};
    FloatRange best = extent;
    double best_err = std::numeric_limits<double>::infinity();
    constexpr int kSteps = 200;
    for (int step = kSteps; step >= 1; --step) {
        const double f = static_cast<double>(step) / kSteps;
        const FloatRange r{static_cast<float>(extent.lo * f), static_cast<float>(extent.hi * f)};
        const QuantParams p = activation_params(r, grid);
        double err = 0;
        for (size_t b = 0; b < n; ++b) {
            if (hist[b] == 0) continue;
            for (double o : kOffsets) {
                const double v = extent.lo + width * (static_cast<double>(b) + o);
                const double d = v - dequantize_value(quantize_value(static_cast<float>(v), p, grid), p);
                err += hist[b] * 0.25 * d * d;
            }
        }
        if (err < best_err) best_err = err, best = r;
    }
    return best;
}

float kl_threshold(std::span<const double> hist, float max_abs, int levels) {
    const int n = static_cast<int>(hist.size());
    if (n <= levels || !(max_abs > 0)) return max_abs;
    const double width = static_cast<double>(max_abs) / n;
    std::vector<double> p, q;
    double best_kl = std::numeric_limits<double>::infinity();
    int best_i = n;
    for (int i = levels; i <= n; ++i) {
        // Reference: the first i bins, the clipped outliers added to the last of them.
        p.assign(hist.begin(), hist.begin() + i);
        for (int j = i; j < n; ++j) p[static_cast<size_t>(i - 1)] += hist[static_cast<size_t>(j)];
        // Candidate: the first i bins merged into `levels` bins, each spread back
        // evenly over the bins of its group that were not empty.
        q.assign(static_cast<size_t>(i), 0);
        const double per = static_cast<double>(i) / levels;
        for (int l = 0; l < levels; ++l) {
            const int a = static_cast<int>(std::floor(l * per)), b = l == levels - 1 ? i : static_cast<int>(std::floor((l + 1) * per));
            double sum = 0;
            int nonzero = 0;
            for (int j = a; j < b; ++j) sum += hist[static_cast<size_t>(j)], nonzero += hist[static_cast<size_t>(j)] != 0;
            for (int j = a; j < b; ++j) {
                if (hist[static_cast<size_t>(j)] != 0) q[static_cast<size_t>(j)] = sum / nonzero;
            }
        }
        double ps = 0, qs = 0;
        for (int j = 0; j < i; ++j) ps += p[static_cast<size_t>(j)], qs += q[static_cast<size_t>(j)];
        if (ps <= 0 || qs <= 0) continue;
        double kl = 0;
        for (int j = 0; j < i; ++j) {
            const double pj = p[static_cast<size_t>(j)] / ps;
            if (pj <= 0) continue;
            const double qj = std::max(q[static_cast<size_t>(j)] / qs, 1e-12);  // the outlier bin can be empty in q
            kl += pj * std::log(pj / qj);
        }
        if (kl < best_kl) best_kl = kl, best_i = i;
    }
    return static_cast<float>(std::min<double>(max_abs, (best_i + 0.5) * width));
}

std::unique_ptr<ActivationObserver> make_observer(ObserverKind kind, const ObserverOptions& options) {
    switch (kind) {
        case ObserverKind::minmax: return std::make_unique<MinMaxObserver>(0.0);
        case ObserverKind::movingavg: return std::make_unique<MinMaxObserver>(options.averaging_constant);
        default: return std::make_unique<HistogramObserver>(kind, options);
    }
}

}  // namespace tern::quant
