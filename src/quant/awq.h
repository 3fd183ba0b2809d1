#pragma once
// AWQ (Lin et al., 2306.00978): activation-aware weight quantization. The
// input channels that carry large activations matter most, so before rounding
// each input channel j of the Linears sharing an input is multiplied by
// s_j = mean|x_j|^alpha (normalised so that max(s) min(s) = 1) and the input
// divided by s_j, which leaves the float layer unchanged; alpha is searched on
// a grid for the lowest output error after quantization. Then each group's
// weights are clipped to the shrink ratio of their max |w| that lowers the
// group's output error most.
//
// Both searches measure the error of the Linears' own outputs on the
// calibration inputs. With H = X^T X that error is tr(dW H dW^T) (whole rows
// for the scales, per group with H's diagonal block for the clipping, as the
// paper's per-group search does), so the statistics `tern calibrate` keeps
// (mean |x| and the Hessian) are all AWQ needs: no activations are stored.
// The paper measures the scale search on the output of the whole attention or
// MLP block; here each Linear's output stands for it.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "quant/gptq.h"

namespace tern {
struct FormatDescriptor;
}

namespace tern::quant {

// The rounding AWQ searches against: rows of `group`-aligned values in, their
// quantized-then-dequantized values out, as the target format stores them.
struct GroupQuantizer {
    int64_t group = 128;  // the format's block (columns fitted together)
    std::function<void(const float* in, float* out, int64_t n)> round_trip;  // n: a multiple of group
};
GroupQuantizer group_quantizer(const IntGroupGrid& grid);
GroupQuantizer group_quantizer(const FormatDescriptor& format);

// A Linear's weight (rows = outputs, cols = inputs), row-major.
struct WeightView {
    std::span<const float> w;
    int64_t rows = 0, cols = 0;
};

struct AwqScaleSearch {
    std::vector<float> scales;    // (cols) s; multiply W's columns, divide the input
    double alpha = 0;             // the exponent chosen
    std::vector<double> losses;   // the output error at alpha = i / n_grid, i = 0 .. n_grid-1
};

// Searches alpha over i / n_grid for the Linears sharing one input.
// mean_abs: (cols) mean |x| per input channel; hessian: (cols, cols) X^T X (any
// positive multiple). InputError on shapes or non-finite statistics.
AwqScaleSearch awq_search_scales(std::span<const WeightView> linears, std::span<const double> mean_abs,
                                 std::span<const double> hessian, const GroupQuantizer& quantizer, int n_grid = 20);

struct AwqClip {
    std::vector<float> clipped;    // (rows, cols) W with each group clamped to ±ratio · max|w|
    std::vector<float> ratios;     // (rows, cols / group) the shrink ratio chosen
};

// The paper's clipping search: ratios 1 - i / n_grid for i < max_shrink · n_grid.
AwqClip awq_search_clip(const WeightView& w, std::span<const double> hessian, const GroupQuantizer& quantizer,
                        int n_grid = 20, double max_shrink = 0.5);

// W with its columns multiplied by s (what the folded model stores before
// quantization), and H for the scaled inputs x / s.
std::vector<float> scale_columns(const WeightView& w, std::span<const float> s);
std::vector<double> scale_hessian(std::span<const double> hessian, std::span<const float> s);

}  // namespace tern::quant
