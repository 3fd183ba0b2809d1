#include "ops/calibration_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"

namespace tern::ops {
namespace {

struct StatName {
    const char* name;
    bool StatSet::*flag;
};
constexpr StatName kStatNames[] = {
    {"absmax", &StatSet::absmax}, {"meanabs", &StatSet::meanabs}, {"meansq", &StatSet::meansq},
    {"minmax", &StatSet::minmax}, {"hist", &StatSet::hist},       {"hessian", &StatSet::hessian},
};

std::string known_stat_names() {
    std::string s;
    for (const auto& n : kStatNames) s += (s.empty() ? "" : ", ") + std::string(n.name);
    return s;
}

bool same_role(io::RoleOf a, io::RoleOf b) { return a.role == b.role && a.layer == b.layer; }

}  // namespace

StatSet parse_stat_set(std::string_view list) {
    if (list.empty()) throw UsageError("--stats", "give at least one of " + known_stat_names());
    StatSet s;
    size_t pos = 0;
    while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        const std::string_view item = list.substr(pos, comma - pos);
        const auto* it = std::find_if(std::begin(kStatNames), std::end(kStatNames),
                                      [&](const StatName& n) { return item == n.name; });
        if (it == std::end(kStatNames))
            throw UsageError("--stats", "unknown statistic '" + std::string(item) + "' (known: " + known_stat_names() + ")");
        s.*(it->flag) = true;
        pos = comma + 1;
    }
    return s;
}

std::string stat_set_names(const StatSet& s) {
    std::string out;
    for (const auto& n : kStatNames)
        if (s.*(n.flag)) out += (out.empty() ? "" : ",") + std::string(n.name);
    return out;
}

int hist_bin(float v) {
    const float a = std::fabs(v);
    constexpr float kTop = 65536.0f, kBottom = 1.0f / 65536.0f;  // 2^-kHistMinExponent, 2^kHistMinExponent
    static_assert(kHistMinExponent == -16 && kHistBins == 2 - 2 * kHistMinExponent);
    if (!(a < kTop)) return kHistBins - 1;  // >= 2^16, inf, nan
    if (a < kBottom) return 0;
    return 1 + std::ilogb(a) - kHistMinExponent;
}

LinearInputStats::LinearInputStats(int64_t in_features, StatSet kinds) : k_(in_features), kinds_(kinds) {
    if (k_ <= 0) throw InputError("calibration", format("a Linear with %lld input features", (long long)k_));
    const size_t K = static_cast<size_t>(k_);
    if (kinds_.absmax) absmax_.assign(K, 0.0f);
    if (kinds_.meanabs) sum_abs_.assign(K, 0.0);
    if (kinds_.meansq) sum_sq_.assign(K, 0.0);
    if (kinds_.minmax) {
        min_.assign(K, std::numeric_limits<float>::infinity());
        max_.assign(K, -std::numeric_limits<float>::infinity());
    }
    if (kinds_.hist) hist_.assign(K * kHistBins, 0);
    if (kinds_.hessian) h_.assign(K * K, 0.0);
}

void LinearInputStats::add(const float* x, int64_t rows, ThreadPool* pool) {
    if (rows <= 0) return;
    const int64_t K = k_;
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * K;  // (K)
        if (kinds_.absmax)
            for (int64_t k = 0; k < K; ++k) absmax_[k] = std::max(absmax_[k], std::fabs(xr[k]));
        if (kinds_.meanabs)
            for (int64_t k = 0; k < K; ++k) sum_abs_[k] += std::fabs(double(xr[k]));
        if (kinds_.meansq)
            for (int64_t k = 0; k < K; ++k) sum_sq_[k] += double(xr[k]) * double(xr[k]);
        if (kinds_.minmax)
            for (int64_t k = 0; k < K; ++k) {
                min_[k] = std::min(min_[k], xr[k]);
                max_[k] = std::max(max_[k], xr[k]);
            }
        if (kinds_.hist)
            for (int64_t k = 0; k < K; ++k) ++hist_[static_cast<size_t>(k * kHistBins + hist_bin(xr[k]))];
    }
    if (kinds_.hessian) add_hessian(x, rows, pool);
    rows_ += rows;
}

// H += X^T X on the lower triangle. Rows are widened to f64 a block at a time
// (f32 x f32 products are exact in f64); each element of H sums its rows in
// row order whichever thread owns it, so the result is the same for any pool.
void LinearInputStats::add_hessian(const float* x, int64_t rows, ThreadPool* pool) {
    const int64_t K = k_;
    constexpr int64_t kBlock = 64;
    std::vector<double> xd(static_cast<size_t>(std::min(rows, kBlock) * K));  // (block rows, K)
    for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
        const int64_t nb = std::min(kBlock, rows - r0);
        for (int64_t i = 0; i < nb * K; ++i) xd[static_cast<size_t>(i)] = double(x[r0 * K + i]);
        auto rows_of_h = [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
                double* hi = h_.data() + i * K;  // row i, columns [0, i]
                for (int64_t r = 0; r < nb; ++r) {
                    const double* xr = xd.data() + r * K;
                    const double xi = xr[i];
                    for (int64_t j = 0; j <= i; ++j) hi[j] += xi * xr[j];
                }
            }
        };
        if (!pool || pool->size() == 1 || K < 128) {
            rows_of_h(0, K);
            continue;
        }
        // Row i costs i + 1: cut [0, K) at K·sqrt(p / parts) so every part holds the same area.
        const int64_t parts = 4 * int64_t{pool->size()};
        auto cut = [&](int64_t p) { return p >= parts ? K : static_cast<int64_t>(double(K) * std::sqrt(double(p) / double(parts))); };
        pool->parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
            for (int64_t p = pb; p < pe; ++p) rows_of_h(cut(p), cut(p + 1));
        });
    }
}

void LinearInputStats::merge(const LinearInputStats& o) {
    if (o.k_ != k_ || !(o.kinds_ == kinds_))
        throw InputError("calibration", format("cannot merge statistics of %lld input features (%s) into %lld (%s)",
                                               (long long)o.k_, stat_set_names(o.kinds_).c_str(), (long long)k_,
                                               stat_set_names(kinds_).c_str()));
    auto add_to = [](auto& a, const auto& b) {
        for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
    };
    for (size_t i = 0; i < absmax_.size(); ++i) absmax_[i] = std::max(absmax_[i], o.absmax_[i]);
    for (size_t i = 0; i < min_.size(); ++i) {
        min_[i] = std::min(min_[i], o.min_[i]);
        max_[i] = std::max(max_[i], o.max_[i]);
    }
    add_to(sum_abs_, o.sum_abs_);
    add_to(sum_sq_, o.sum_sq_);
    add_to(hist_, o.hist_);
    add_to(h_, o.h_);
    rows_ += o.rows_;
}

std::vector<float> LinearInputStats::mean_abs() const {
    std::vector<float> m(sum_abs_.size());
    for (size_t i = 0; i < m.size(); ++i) m[i] = rows_ ? static_cast<float>(sum_abs_[i] / double(rows_)) : 0.0f;
    return m;
}

std::vector<float> LinearInputStats::mean_sq() const {
    std::vector<float> m(sum_sq_.size());
    for (size_t i = 0; i < m.size(); ++i) m[i] = rows_ ? static_cast<float>(sum_sq_[i] / double(rows_)) : 0.0f;
    return m;
}

std::vector<double> LinearInputStats::hessian_sum() const {
    std::vector<double> h = h_;
    for (int64_t i = 0; i < static_cast<int64_t>(h.empty() ? 0 : k_); ++i)
        for (int64_t j = i + 1; j < k_; ++j) h[static_cast<size_t>(i * k_ + j)] = h[static_cast<size_t>(j * k_ + i)];
    return h;
}

double LinearInputStats::mean_hessian_trace() const {
    if (rows_ == 0) return 0.0;
    double t = 0;
    if (!h_.empty())
        for (int64_t i = 0; i < k_; ++i) t += h_[static_cast<size_t>(i * k_ + i)];
    else
        for (double s : sum_sq_) t += s;
    return t / double(rows_);
}

CalibrationCollector::CalibrationCollector(StatSet kinds, ThreadPool* pool) : kinds_(kinds), pool_(pool) {}

CalibrationCollector::Entry* CalibrationCollector::find_entry(io::RoleOf role) {
    if (next_hint_ < entries_.size() && same_role(entries_[next_hint_].role, role)) return &entries_[next_hint_++];
    for (size_t i = 0; i < entries_.size(); ++i)
        if (same_role(entries_[i].role, role)) {
            next_hint_ = i + 1;
            return &entries_[i];
        }
    return nullptr;
}

const LinearInputStats* CalibrationCollector::find(io::RoleOf role) const {
    for (const Entry& e : entries_)
        if (same_role(e.role, role)) return &e.stats;
    return nullptr;
}

void CalibrationCollector::on_linear(const LinearCall& call) {
    Entry* e = find_entry(call.role);
    if (!e) {
        entries_.push_back({call.role, LinearInputStats(call.in_features, kinds_)});
        next_hint_ = entries_.size();
        e = &entries_.back();
    } else if (e->stats.in_features() != call.in_features) {
        throw InputError("calibration", format("%s of layer %d ran with %lld input features after %lld",
                                               io::tensor_role_name(call.role.role), call.role.layer,
                                               (long long)call.in_features, (long long)e->stats.in_features()));
    }
    e->stats.add(call.x, call.rows, pool_);
}

void CalibrationCollector::merge(const CalibrationCollector& other) {
    if (!(other.kinds_ == kinds_))
        throw InputError("calibration", "cannot merge collectors of different statistics (" + stat_set_names(other.kinds_) +
                                            " into " + stat_set_names(kinds_) + ")");
    for (const Entry& o : other.entries_) {
        if (Entry* e = find_entry(o.role))
            e->stats.merge(o.stats);
        else
            entries_.push_back(o);
    }
    next_hint_ = 0;
}

}  // namespace tern::ops
