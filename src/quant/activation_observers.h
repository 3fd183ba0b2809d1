#pragma once
// Activation observers for static (calibrated) quantization: each one sees the
// values a tensor takes over the calibration batches and picks the float range
// [lo, hi] its int8 / uint8 grid covers. min-max and its moving average need
// one pass; the histogram observers (percentile, MSE-optimal clip, KL / entropy
// as TensorRT calibrates) need two: the first finds the extent of the values,
// the second fills a fixed-range histogram, so histograms of all batches add.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tern::quant {

enum class ObserverKind { minmax, movingavg, percentile, mse, kl };

// "minmax" ... "kl" -> kind; UsageError naming `option` with the list otherwise.
ObserverKind parse_observer_kind(const std::string& name, const std::string& option = "--method");
const char* observer_kind_name(ObserverKind k);
std::string observer_kind_names();  // "minmax, movingavg, percentile, mse, kl"

struct FloatRange {
    float lo = 0, hi = 0;
};

// The activation grid: uint8 (0..255) or int8 (-128..127), asymmetric (zero
// point from the range) or symmetric (zero point 0 for int8, 128 for uint8).
struct ActivationGrid {
    bool is_unsigned = true;
    bool symmetric = false;
};

struct QuantParams {
    float scale = 1;
    int32_t zero_point = 0;
};

// Scale and zero point of `grid` covering `r` (widened to hold 0, so zero
// padding and ReLU's zeros are exact). A range of width 0 gets scale 1.
QuantParams activation_params(FloatRange r, ActivationGrid grid);
// The code of v on that grid, and back.
int32_t quantize_value(float v, QuantParams p, ActivationGrid grid);
inline float dequantize_value(int32_t q, QuantParams p) { return static_cast<float>(q - p.zero_point) * p.scale; }

struct ObserverOptions {
    double percentile = 99.99;          // percentile: the share of values (in %) inside the range
    double averaging_constant = 0.01;   // movingavg: weight of a new batch's min / max (PyTorch's default)
    int bins = 2048;                    // histogram observers
    int kl_levels = 128;                // kl: quantized bins the reference distribution is merged into (int8)
    ActivationGrid grid;                // mse: the grid whose rounding error is minimised
};

class ActivationObserver {
public:
    virtual ~ActivationObserver() = default;
    // Passes over the calibration data this observer needs (1 or 2).
    virtual int passes() const = 0;
    // One batch of the tensor's values during pass `pass` (0-based). InputError
    // on a NaN or infinite value: a range from it would be meaningless.
    virtual void observe(std::span<const float> values, int pass) = 0;
    // The range to quantize; InputError when nothing was observed.
    virtual FloatRange range() const = 0;
};

std::unique_ptr<ActivationObserver> make_observer(ObserverKind kind, const ObserverOptions& options = {});

// The histogram search behind the kl observer, usable on its own: given counts
// of |x| in `hist.size()` equal bins over [0, max_abs], the clip threshold
// whose `levels`-bin quantization of the clipped distribution has the least KL
// divergence from it (TensorRT's entropy calibration).
float kl_threshold(std::span<const double> hist, float max_abs, int levels);

// The range minimising the expected squared rounding error on `grid` of
// values with counts `hist` in equal bins over [lo, hi] (candidates shrink
// [lo, hi] towards 0 in 1/200 steps).
FloatRange mse_range(std::span<const double> hist, FloatRange extent, ActivationGrid grid);

// The range from the (100 - percent) % quantile to the percent % quantile of
// values with counts `hist` in equal bins over `extent` (bin edges, so the
// range holds at least those values; a ReLU output keeps lo = 0).
FloatRange percentile_range(std::span<const double> hist, FloatRange extent, double percent);

}  // namespace tern::quant
