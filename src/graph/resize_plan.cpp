#include "graph/resize_plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/op_util.h"
#include "ops/parallel.h"

namespace tern::graph {

namespace {

struct ResizeSettings {
    std::string mode, transform, nearest_mode;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    float extrapolation = 0.f;
};

// Output coordinate -> input coordinate along one axis.
double resize_source_coordinate(const ResizeSettings& s, double x, double scale, int64_t in, int64_t out, double roi_start, double roi_end) {
    const std::string& t = s.transform;
    if (t == "half_pixel") return (x + 0.5) / scale - 0.5;
    if (t == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (t == "align_corners") return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / static_cast<double>(out - 1);
    if (t == "asymmetric") return x / scale;
    if (t == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    // tf_crop_and_resize
    return out > 1 ? roi_start * (in - 1) + x * (roi_end - roi_start) * (in - 1) / static_cast<double>(out - 1)
                   : 0.5 * (roi_start + roi_end) * (in - 1);
}

int64_t resize_nearest_index(const std::string& mode, double x, bool downsampling) {
    const double f = std::floor(x);
    if (mode == "floor") return static_cast<int64_t>(f);
    if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
    if (mode == "simple") return static_cast<int64_t>(downsampling ? std::ceil(x) : f);  // Upsample and Resize-10
    if (x - f == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
    return static_cast<int64_t>(std::round(x));
}

std::vector<double> resize_cubic_coefficients(double a, double s) {
    auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };   // 1 <= |d| < 2
    auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };         // |d| < 1
    return {far(s + 1), near(s), near(1 - s), far(2 - s)};
}

std::vector<std::vector<ResizeTap>> resize_axis_taps(const ResizeSettings& s, int64_t in, int64_t out, double scale, double roi_start, double roi_end) {
    std::vector<std::vector<ResizeTap>> taps_of(static_cast<size_t>(out));
    auto clamp_index = [in](int64_t i) { return std::min<int64_t>(std::max<int64_t>(i, 0), in - 1); };
    for (int64_t o = 0; o < out; ++o) {
        const double x = resize_source_coordinate(s, static_cast<double>(o), scale, in, out, roi_start, roi_end);
        std::vector<ResizeTap>& taps = taps_of[o];
        if (s.transform == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(in - 1))) continue;  // extrapolate
        if (s.mode == "nearest") {
            taps.push_back({clamp_index(resize_nearest_index(s.nearest_mode, x, scale < 1)), 1.0});
            continue;
        }
        const double f = std::floor(x), frac = x - f;
        const int64_t base = static_cast<int64_t>(f);
        if (s.mode == "linear") {
            taps.push_back({clamp_index(base), 1 - frac});
            taps.push_back({clamp_index(base + 1), frac});
            continue;
        }
        const std::vector<double> w = resize_cubic_coefficients(s.cubic_a, frac);
        double sum = 0;
        for (int k = 0; k < 4; ++k) {
            const int64_t i = base - 1 + k;
            if (s.exclude_outside && (i < 0 || i >= in)) continue;
            taps.push_back({clamp_index(i), w[k]});
            sum += w[k];
        }
        if (s.exclude_outside && sum != 0) {
            for (ResizeTap& t : taps) t.weight /= sum;
        }
    }
    return taps_of;
}

std::vector<double> resize_float_list(const Node& n, const Tensor& t, const char* what) {
    if (t.rank() > 1) throw n.error(std::string(what) + " must be 1-D, got shape " + shape_to_string(t.shape()));
    require_f32(n, t, what);
    const Tensor c = t.contiguous();
    return std::vector<double>(c.data<float>(), c.data<float>() + c.numel());
}

constexpr int64_t kMaxResizedElements = int64_t{1} << 32;

// Rows [a0, a1) of one axis: src (outer, in, inner) -> dst (outer, out, inner).
void resize_axis_rows(const ResizeAxis& a, float extrapolation, const float* src, float* dst, int64_t a0, int64_t a1) {
    const int64_t out = a.out(), in = a.in, inner = a.inner;
    for (int64_t r = a0; r < a1; ++r) {
        const float* s = src + r * in * inner;
        float* d = dst + r * out * inner;
        for (int64_t o = 0; o < out; ++o) {
            const std::vector<ResizeTap>& taps = a.taps[o];
            float* dr = d + o * inner;
            if (taps.empty()) {
                std::fill(dr, dr + inner, extrapolation);
            } else if (a.nearest) {  // one tap of weight 1: the value itself
                const float* sr = s + taps[0].index * inner;
                if (inner == 1) {
                    *dr = *sr;
                } else {
                    std::memcpy(dr, sr, static_cast<size_t>(inner) * sizeof(float));
                }
            } else {
                for (int64_t k = 0; k < inner; ++k) {
                    double v = 0;
                    for (const ResizeTap& t : taps) v += t.weight * s[t.index * inner + k];
                    dr[k] = static_cast<float>(v);
                }
            }
        }
    }
}

}  // namespace

int64_t ResizePlan::scratch_floats() const {
    int64_t most = 0;
    for (size_t i = 0; i + 1 < axes.size(); ++i) most = std::max(most, axes[i].outer * axes[i].out() * axes[i].inner);
    return most;
}

ResizePlan plan_resize(const Node& n, int64_t opset, bool is_upsample, const Shape& x,
                       const std::vector<const Tensor*>& inputs) {
    auto input = [&](size_t i) -> const Tensor* { return i < inputs.size() ? inputs[i] : nullptr; };
    const int64_t rank = static_cast<int64_t>(x.size());
    ResizeSettings s;
    s.mode = n.attr_string("mode", "nearest");
    const bool modern = !is_upsample && opset >= 11;
    s.transform = modern ? n.attr_string("coordinate_transformation_mode", "half_pixel") : "asymmetric";
    s.nearest_mode = modern ? n.attr_string("nearest_mode", "round_prefer_floor") : "simple";
    s.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
    s.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
    s.extrapolation = n.attr_float("extrapolation_value", 0.f);
    if (s.mode != "nearest" && s.mode != "linear" && s.mode != "cubic") {
        throw n.error("mode '" + s.mode + "' is not one of nearest, linear, cubic");
    }
    if (s.mode == "cubic" && !modern) throw n.error("cubic mode needs Resize opset 11 or later");
    bool known_transform = false;
    for (const char* t : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"}) {
        known_transform = known_transform || s.transform == t;
    }
    if (!known_transform) throw n.error("coordinate_transformation_mode '" + s.transform + "' is not supported by tern");
    if (s.nearest_mode != "round_prefer_floor" && s.nearest_mode != "round_prefer_ceil" && s.nearest_mode != "floor" &&
        s.nearest_mode != "ceil" && s.nearest_mode != "simple") {
        throw n.error("nearest_mode '" + s.nearest_mode + "' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil");
    }
    if (n.attr_int("antialias", 0) != 0 || n.has("axes") || n.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") {
        throw n.error("antialias, axes and keep_aspect_ratio_policy are not supported by tern's Resize");
    }

    std::vector<double> scales, roi;
    std::vector<int64_t> sizes;
    if (is_upsample && opset < 9) {
        const auto f = n.attr_floats("scales");
        scales.assign(f.begin(), f.end());
    } else if (!modern) {
        if (!input(1)) throw n.error("needs input 1 (scales)");
        scales = resize_float_list(n, *input(1), "scales");
    } else {
        if (input(1) && input(1)->numel() > 0) roi = resize_float_list(n, *input(1), "roi");
        if (input(2) && input(2)->numel() > 0) scales = resize_float_list(n, *input(2), "scales");
        if (input(3) && input(3)->numel() > 0) sizes = int_list(n, *input(3), "sizes");
    }
    if (scales.empty() == sizes.empty()) throw n.error("Resize needs exactly one of scales and sizes");
    if (!scales.empty() && static_cast<int64_t>(scales.size()) != rank) {
        throw n.error(format("scales has %zu values for an input of %lld dims", scales.size(), static_cast<long long>(rank)));
    }
    if (!sizes.empty() && static_cast<int64_t>(sizes.size()) != rank) {
        throw n.error(format("sizes has %zu values for an input of %lld dims", sizes.size(), static_cast<long long>(rank)));
    }
    if (s.transform == "tf_crop_and_resize" && static_cast<int64_t>(roi.size()) != 2 * rank) {
        throw n.error(format("tf_crop_and_resize needs a roi of %lld values", static_cast<long long>(2 * rank)));
    }
    Shape out_shape(static_cast<size_t>(rank));
    std::vector<double> axis_scale(static_cast<size_t>(rank));
    double total = 1;
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t in = x[d];
        if (!scales.empty()) {
            if (!(scales[d] > 0) || !std::isfinite(scales[d])) throw n.error(format("scale %g must be > 0", scales[d]));
            const double o = std::floor(static_cast<double>(in) * scales[d]);
            if (o > static_cast<double>(kMaxResizedElements)) throw n.error("the resized tensor would be too large");
            out_shape[d] = static_cast<int64_t>(o);
            axis_scale[d] = scales[d];
        } else {
            if (sizes[d] < 0 || sizes[d] > kMaxResizedElements) throw n.error(format("size %lld is out of range", (long long)sizes[d]));
            out_shape[d] = sizes[d];
            axis_scale[d] = in > 0 ? static_cast<double>(sizes[d]) / static_cast<double>(in) : 1.0;
        }
        total *= static_cast<double>(std::max<int64_t>(out_shape[d], in));
        if (out_shape[d] > 0 && in == 0) throw n.error("cannot resize an empty dim to a non-empty one");
    }
    if (total > static_cast<double>(kMaxResizedElements)) throw n.error("the resized tensor would be too large");
    ResizePlan p;
    p.in_shape = x;
    p.out_shape = out_shape;
    p.extrapolation = s.extrapolation;
    Shape cur = x;
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t in = cur[d], out = out_shape[d];
        const bool identity = in == out && axis_scale[d] == 1.0 && s.transform != "tf_crop_and_resize";
        if (identity) continue;
        ResizeAxis a;
        for (int64_t k = 0; k < d; ++k) a.outer *= cur[k];
        for (int64_t k = d + 1; k < rank; ++k) a.inner *= cur[k];
        a.in = in;
        const double r0 = roi.empty() ? 0.0 : roi[d], r1 = roi.empty() ? 1.0 : roi[d + rank];
        a.taps = resize_axis_taps(s, in, out, axis_scale[d], r0, r1);
        a.nearest = true;
        for (const auto& t : a.taps) a.nearest = a.nearest && t.size() == 1 && t[0].weight == 1.0;
        p.axes.push_back(std::move(a));
        cur[d] = out;
    }
    return p;
}

void run_resize_plan(const ResizePlan& p, const float* x, float* y, float* scratch) {
    if (p.axes.empty()) {
        std::copy(x, x + shape_numel(p.in_shape), y);
        return;
    }
    const int64_t half = p.scratch_floats();
    const float* src = x;
    for (size_t i = 0; i < p.axes.size(); ++i) {
        const ResizeAxis& a = p.axes[i];
        float* dst = i + 1 == p.axes.size() ? y : scratch + (i % 2) * half;
        ops::parallel_items(a.outer, a.in * a.inner + a.out() * a.inner,
                            [&](int64_t a0, int64_t a1) { resize_axis_rows(a, p.extrapolation, src, dst, a0, a1); });
        src = dst;
    }
}

}  // namespace tern::graph
