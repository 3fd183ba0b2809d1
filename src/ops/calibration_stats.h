#pragma once
// Ready-made calibration statistics over the input rows of each Linear:
// per input channel absmax, mean |x|, mean x² (what llama.cpp's imatrix
// keeps), min / max and a log2-magnitude histogram, and the input Hessian
// X^T X summed in f64 (GPTQ / SparseGPT). Every statistic is a sum or an
// extremum, so accumulators over disjoint calibration windows (one per thread
// or per session) merge() into what one pass over all windows gives.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ops/observer.h"

namespace tern {
class ThreadPool;
}

namespace tern::ops {

// Which statistics an accumulator keeps.
struct StatSet {
    bool absmax = false;   // max |x| per channel
    bool meanabs = false;  // mean |x| per channel
    bool meansq = false;   // mean x² per channel
    bool minmax = false;   // min and max x per channel
    bool hist = false;     // per channel counts of |x| by power of two (kHistBins)
    bool hessian = false;  // X^T X (K, K), f64
    bool operator==(const StatSet&) const = default;
};
// "absmax,meansq,hessian" -> StatSet. UsageError naming --stats on an empty
// list or an unknown name (the message lists the known ones).
StatSet parse_stat_set(std::string_view list);
// The comma list parse_stat_set reads back.
std::string stat_set_names(const StatSet& s);

// Histogram bins: bin 0 counts |x| < 2^-16 (zeros included), bin 1 + e + 16
// counts 2^e <= |x| < 2^(e+1) for e in [-16, 15], the last bin |x| >= 2^16 and
// non-finite values. Powers of two need no range known in advance, so
// histograms of different windows add.
inline constexpr int kHistBins = 34;
inline constexpr int kHistMinExponent = -16;
int hist_bin(float v);

// The statistics of one Linear's input rows x (rows, K).
class LinearInputStats {
public:
    LinearInputStats(int64_t in_features, StatSet kinds);

    // x: (rows, in_features) row-major. pool splits the Hessian update by rows
    // of H (nullptr: this thread only); the result does not depend on it.
    void add(const float* x, int64_t rows, ThreadPool* pool = nullptr);
    // Adds the statistics of other windows. InputError when in_features or the
    // kinds differ.
    void merge(const LinearInputStats& other);

    int64_t in_features() const { return k_; }
    const StatSet& kinds() const { return kinds_; }
    int64_t rows() const { return rows_; }  // rows seen (tokens, for a language model)

    // Per input channel, (K) each; empty when that statistic is not kept.
    const std::vector<float>& absmax() const { return absmax_; }
    std::vector<float> mean_abs() const;
    std::vector<float> mean_sq() const;
    const std::vector<double>& sum_abs() const { return sum_abs_; }
    const std::vector<double>& sum_sq() const { return sum_sq_; }
    const std::vector<float>& min() const { return min_; }
    const std::vector<float>& max() const { return max_; }
    const std::vector<uint64_t>& histogram() const { return hist_; }  // (K, kHistBins)

    // H (K, K) input Hessian, f64: the sum over rows of x^T x, both triangles
    // filled. Empty when not kept.
    std::vector<double> hessian_sum() const;
    // trace(H) / rows: the mean squared norm of an input row (0 with no rows;
    // from the Hessian's diagonal, or from sum_sq when only meansq is kept).
    double mean_hessian_trace() const;

private:
    int64_t k_;
    StatSet kinds_;
    int64_t rows_ = 0;
    std::vector<float> absmax_, min_, max_;  // (K)
    std::vector<double> sum_abs_, sum_sq_;   // (K)
    std::vector<uint64_t> hist_;             // (K, kHistBins)
    std::vector<double> h_;                  // (K, K) lower triangle (j <= i) of X^T X, f64

    void add_hessian(const float* x, int64_t rows, ThreadPool* pool);
};

// An observer that keeps one LinearInputStats per Linear (by role and layer),
// in the order the Linears first ran.
class CalibrationCollector final : public LinearObserver {
public:
    struct Entry {
        io::RoleOf role;
        LinearInputStats stats;
    };

    // pool: handed to LinearInputStats::add (nullptr: the calling thread only;
    // use that when several collectors run in threads of their own).
    explicit CalibrationCollector(StatSet kinds, ThreadPool* pool = nullptr);

    void on_linear(const LinearCall& call) override;
    // Adds another collector's statistics (same kinds; a Linear seen there only
    // is appended). InputError when the kinds or a Linear's in_features differ.
    void merge(const CalibrationCollector& other);

    const StatSet& kinds() const { return kinds_; }
    const std::vector<Entry>& entries() const { return entries_; }
    const LinearInputStats* find(io::RoleOf role) const;

private:
    StatSet kinds_;
    ThreadPool* pool_;
    std::vector<Entry> entries_;
    size_t next_hint_ = 0;  // Linears run in the same order every window: try the next entry first

    Entry* find_entry(io::RoleOf role);
};

}  // namespace tern::ops
