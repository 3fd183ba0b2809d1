// Resize (opset 10, 11-13, 18 without antialias) and Upsample (opset 7-9),
// float32: nearest (round_prefer_floor / round_prefer_ceil / floor / ceil),
// linear and cubic, under the coordinate transforms half_pixel,
// pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn and
// tf_crop_and_resize. Every mode is separable, so the tensor is resized one
// axis at a time, each output position reading a few (index, weight) taps.
#include <cmath>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

struct Tap {
    int64_t index;
    double weight;
};

struct AxisPlan {
    std::vector<std::vector<Tap>> taps;  // per output position; empty: the extrapolation value
};

struct Settings {
    std::string mode, transform, nearest_mode;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    float extrapolation = 0.f;
};

// Output coordinate -> input coordinate along one axis.
double source_coordinate(const Settings& s, double x, double scale, int64_t in, int64_t out, double roi_start, double roi_end) {
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

int64_t nearest_index(const std::string& mode, double x, bool downsampling) {
    const double f = std::floor(x);
    if (mode == "floor") return static_cast<int64_t>(f);
    if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
    if (mode == "simple") return static_cast<int64_t>(downsampling ? std::ceil(x) : f);  // Upsample and Resize-10
    if (x - f == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
    return static_cast<int64_t>(std::round(x));
}

std::vector<double> cubic_coefficients(double a, double s) {
    auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };   // 1 <= |d| < 2
    auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };         // |d| < 1
    return {far(s + 1), near(s), near(1 - s), far(2 - s)};
}

AxisPlan plan_axis(const Settings& s, int64_t in, int64_t out, double scale, double roi_start, double roi_end) {
    AxisPlan p;
    p.taps.resize(static_cast<size_t>(out));
    auto clamp_index = [in](int64_t i) { return std::min<int64_t>(std::max<int64_t>(i, 0), in - 1); };
    for (int64_t o = 0; o < out; ++o) {
        const double x = source_coordinate(s, static_cast<double>(o), scale, in, out, roi_start, roi_end);
        std::vector<Tap>& taps = p.taps[o];
        if (s.transform == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(in - 1))) continue;  // extrapolate
        if (s.mode == "nearest") {
            taps.push_back({clamp_index(nearest_index(s.nearest_mode, x, scale < 1)), 1.0});
            continue;
        }
        const double f = std::floor(x), frac = x - f;
        const int64_t base = static_cast<int64_t>(f);
        if (s.mode == "linear") {
            taps.push_back({clamp_index(base), 1 - frac});
            taps.push_back({clamp_index(base + 1), frac});
            continue;
        }
        const std::vector<double> w = cubic_coefficients(s.cubic_a, frac);
        double sum = 0;
        for (int k = 0; k < 4; ++k) {
            const int64_t i = base - 1 + k;
            if (s.exclude_outside && (i < 0 || i >= in)) continue;
            taps.push_back({clamp_index(i), w[k]});
            sum += w[k];
        }
        if (s.exclude_outside && sum != 0) {
            for (Tap& t : taps) t.weight /= sum;
        }
    }
    return p;
}

// data (outer, in, inner) -> (outer, out, inner) along one axis.
std::vector<float> resize_axis(const std::vector<float>& data, int64_t outer, int64_t in, int64_t inner, const AxisPlan& p,
                               float extrapolation) {
    const int64_t out = static_cast<int64_t>(p.taps.size());
    std::vector<float> result(static_cast<size_t>(outer * out * inner));
    for (int64_t a = 0; a < outer; ++a) {
        const float* src = data.data() + a * in * inner;
        float* dst = result.data() + a * out * inner;
        for (int64_t o = 0; o < out; ++o) {
            const std::vector<Tap>& taps = p.taps[o];
            for (int64_t k = 0; k < inner; ++k) {
                if (taps.empty()) {
                    dst[o * inner + k] = extrapolation;
                    continue;
                }
                double v = 0;
                for (const Tap& t : taps) v += t.weight * src[t.index * inner + k];
                dst[o * inner + k] = static_cast<float>(v);
            }
        }
    }
    return result;
}

std::vector<double> float_list(const Node& n, const Tensor& t, const char* what) {
    if (t.rank() > 1) throw n.error(std::string(what) + " must be 1-D, got shape " + shape_to_string(t.shape()));
    require_f32(n, t, what);
    const Tensor c = t.contiguous();
    return std::vector<double>(c.data<float>(), c.data<float>() + c.numel());
}

constexpr int64_t kMaxResizedElements = int64_t{1} << 32;

void resize(OpContext& c, bool is_upsample) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    require_f32(n, x, "input");
    const int64_t rank = x.rank();
    Settings s;
    s.mode = n.attr_string("mode", "nearest");
    const bool modern = !is_upsample && c.opset >= 11;
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
    if (is_upsample && c.opset < 9) {
        const auto f = n.attr_floats("scales");
        scales.assign(f.begin(), f.end());
    } else if (!modern) {
        scales = float_list(n, c.input(1), "scales");
    } else {
        if (c.has_input(1) && c.input(1).numel() > 0) roi = float_list(n, c.input(1), "roi");
        if (c.has_input(2) && c.input(2).numel() > 0) scales = float_list(n, c.input(2), "scales");
        if (c.has_input(3) && c.input(3).numel() > 0) sizes = int_list(n, c.input(3), "sizes");
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
        const int64_t in = x.dim(static_cast<int>(d));
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

    std::vector<float> data(x.data<float>(), x.data<float>() + x.numel());
    Shape cur = x.shape();
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t in = cur[d], out = out_shape[d];
        const bool identity = in == out && axis_scale[d] == 1.0 && s.transform != "tf_crop_and_resize";
        if (identity) continue;
        int64_t outer = 1, inner = 1;
        for (int64_t k = 0; k < d; ++k) outer *= cur[k];
        for (int64_t k = d + 1; k < rank; ++k) inner *= cur[k];
        const double r0 = roi.empty() ? 0.0 : roi[d], r1 = roi.empty() ? 1.0 : roi[d + rank];
        const AxisPlan plan = plan_axis(s, in, out, axis_scale[d], r0, r1);
        data = resize_axis(data, outer, in, inner, plan, s.extrapolation);
        cur[d] = out;
    }
    Tensor y = Tensor::empty(out_shape, DType::f32);
    std::copy(data.begin(), data.end(), y.data<float>());
    c.out[0] = std::move(y);
}

void run_resize(OpContext& c) { resize(c, false); }
void run_upsample(OpContext& c) { resize(c, true); }

}  // namespace

std::vector<OpEntry> resize_ops() { return {{"Resize", run_resize}, {"Upsample", run_upsample}}; }

}  // namespace tern::graph
